"""``--separator SPEC``: turning a command-line spec into a separator (the interface is
:mod:`foabench.benchmark.separator`).

``load_separator(spec)`` turns a command-line spec into a separator:

- ``module:Class``, ``package.module:Class`` or ``path/to/file.py:Class`` — a researcher's class, constructed
  with ``**kwargs`` (``--separator-args`` JSON); no change to foabench needed. A module name is looked up in
  the current folder first, then in the environment (foabench itself owns only the name ``foabench``, so a
  user's ``model.py`` or ``benchmark/`` is never shadowed); a file may import the modules beside it.
  ``bsast``, ``bsast-w``, ``resunet``, ``run`` and ``reference`` name trained runs: for a module of one of these
  names, give its file (``./run.py:Class``);
- ``reference:NAME`` — a shipped reference checkpoint (:mod:`foabench.benchmark.references`; ``reference:list``
  lists them), evaluated with the query encoder shipped beside it;
- ``RUN`` or ``RUN/checkpoints/X.pt`` with a model prefix (``bsast:``, ``bsast-w:``, ``resunet:``, or
  ``run:`` for any model) — a model trained by ``foabench train``;
- a built-in baseline name from :data:`foabench.benchmark.baseline_separators.BASELINES` (``mixture``, ``oracle-irm``,
  ``oracle-mwf``, ``cardioid:oracle``, ``hypercardioid:query``, ``mpdr:oracle`` ...).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch

from foabench.benchmark.separator import QueryBatch, SeparatorContext, SeparatorError, check_separator
from foabench.synth.pointclouds.fixed_size import fixed_size_cloud
from foabench.synth.scenes.region_query import region_vector

TRAINED_PREFIXES = ("bsast", "bsast-w", "resunet", "run")
REFERENCE_PREFIX = "reference"


class TrainedSeparator:
    """A model trained by ``foabench train`` (BSAST, BSAST-W, ResUNet) as a separator."""

    uses = ("query_embedding",)

    def __init__(self, run: str | Path, device: str = "cpu") -> None:
        from foabench.benchmark.train import load_trained

        self.model, self.info = load_trained(run, device)
        #: a model conditioned on a spatial query reads it; every other one the query embedding
        self.condition = getattr(self.model.config, "condition", "embedding")
        self.uses = {"direction": ("query_direction",), "region": ("query_region",),
                     "pointcloud": ("query_pointcloud",), "embedding+direction": ("query_embedding", "query_direction"),
                     }.get(self.condition, ("query_embedding",))  # fmt: skip
        self.checkpoint = self.info["checkpoint"]
        self.n_channels = int(self.model.config.n_channels)
        self.name = f"{self.info['settings']['model']}-{self.info['settings']['config']}"
        self.device = torch.device(device)
        #: the query encoder the model was trained with: evaluation refuses another one
        self.encoder_hash: str | None = self.info.get("encoder_hash")
        #: where that encoder is, when it ships with the model (references); None: the caller's --encoder
        self.encoder_folder: str | None = None

    def setup(self, context: SeparatorContext) -> None:
        self.device = context.device
        self.model.to(self.device)
        if int(self.model.config.sample_rate) != context.sample_rate:
            raise SeparatorError(f"{self.name} was trained at {self.model.config.sample_rate} Hz, "
                                 f"the split is at {context.sample_rate} Hz")  # fmt: skip

    def separate(self, mixture: torch.Tensor, query: QueryBatch) -> torch.Tensor:
        if self.condition == "direction":
            condition = torch.from_numpy(query.query_direction).float()
        elif self.condition == "region":
            condition = torch.from_numpy(np.stack([region_vector(r) for r in query.query_region]))
        elif self.condition == "pointcloud":  # the same points for the same cloud: seeded by its size
            n = int(self.model.config.cloud_points)
            condition = torch.from_numpy(np.stack([fixed_size_cloud(c, n, len(c)) for c in query.query_pointcloud]))
        elif self.condition == "embedding+direction":
            condition = torch.cat([query.embedding.float(), torch.from_numpy(query.query_direction).float()], dim=-1)
        else:
            condition = query.embedding
        with torch.inference_mode():
            return self.model(mixture[:, : self.n_channels].to(self.device), condition.to(self.device)).cpu()


@contextmanager
def _importable_from(folder: Path):
    """Put ``folder`` first on ``sys.path`` while a user's module is imported (so it finds its sibling modules
    and shadows nothing of the user's), then keep it last so that imports made later still resolve."""
    entry = str(folder.resolve())
    had = entry in sys.path
    sys.path.insert(0, entry)
    try:
        yield
    finally:
        sys.path.remove(entry)
        if not had:
            sys.path.append(entry)


def _import_class(spec: str):
    target, _, attr = spec.rpartition(":")
    if not attr.isidentifier():
        raise SeparatorError(f"{spec}: {attr!r} is not a class name (use module:Class or path/to/file.py:Class)")
    if target.endswith(".py"):
        path = Path(target)
        if not path.is_file():
            raise SeparatorError(f"{spec}: no file {path}")
        name = f"foabench_user_{path.stem}"
        module_spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        with _importable_from(path.parent):
            module_spec.loader.exec_module(module)
    else:
        if not all(part.isidentifier() for part in target.split(".")):
            raise SeparatorError(f"{spec}: {target!r} is neither a module name nor a .py file")
        try:
            with _importable_from(Path.cwd()):
                module = importlib.import_module(target)
        except ImportError as exc:
            raise SeparatorError(
                f"{spec}: cannot import {target!r} from {Path.cwd()} or the environment ({exc})"
            ) from exc
    try:
        return getattr(module, attr)
    except AttributeError as exc:
        raise SeparatorError(f"{spec}: module {target!r} ({getattr(module, '__file__', '?')}) has no {attr!r}") from exc


def _load_reference(name: str, device: str) -> TrainedSeparator:
    from foabench.benchmark.references import ENCODER, ReferenceError, format_list, reference_checkpoint

    if name == "list":
        raise SeparatorError("shipped references:\n" + format_list())
    try:
        sep = TrainedSeparator(reference_checkpoint(name), device)
    except ReferenceError as exc:
        raise SeparatorError(str(exc)) from exc
    sep.name = f"reference:{name}"
    sep.encoder_folder = str(ENCODER)
    return sep


def load_separator(spec: str, kwargs: dict | None = None, device: str = "cpu") -> Any:
    """A separator from a spec (see the module docstring); ``kwargs`` go to an imported class."""
    from foabench.benchmark.baseline_separators import BASELINES, make_baseline

    kwargs = dict(kwargs or {})
    prefix, sep_char, rest = spec.partition(":")
    if spec in BASELINES:
        return check_separator(make_baseline(spec, **kwargs), spec)
    if prefix == REFERENCE_PREFIX and sep_char:
        return _load_reference(rest, device)
    if sep_char and prefix in TRAINED_PREFIXES:
        sep = TrainedSeparator(rest, device)
        model = sep.info["settings"]["model"]
        if prefix != "run" and model != prefix:
            raise SeparatorError(f"{spec}: {rest} holds a {model!r} run, not {prefix!r} (use {model}:{rest})")
        return sep
    if any(b.startswith(prefix + ":") for b in BASELINES):
        raise SeparatorError(f"unknown baseline {spec!r}; known: {', '.join(b for b in BASELINES if ':' in b)}")
    if sep_char and rest:
        cls = _import_class(spec)
        try:
            sep = cls(**kwargs)
        except TypeError as exc:
            raise SeparatorError(f"{spec}: cannot construct with {kwargs}: {exc}") from exc
        return check_separator(sep, spec)
    known = ", ".join(sorted(BASELINES))
    raise SeparatorError(
        f"unknown separator {spec!r}: use MODEL:RUN (MODEL in {', '.join(TRAINED_PREFIXES)}), reference:NAME, "
        f"module:Class (a module of the current folder or the environment), path/to/file.py:Class, "
        f"or a baseline ({known})"
    )
