"""The separator interface every model, baseline and researcher's class implements, and the spec loader.

A separator is any object with

- ``name: str`` — how it appears on the leaderboard;
- ``uses: tuple[str, ...]`` — what it reads besides the mixture, from :data:`USES`. ``query_embedding``,
  ``query_text`` and ``query_audio`` are the three forms of the query; ``oracle_direction`` (the target's true
  direction of arrival from the manifest) and ``oracle_target`` (the reference being scored) are oracle
  information, and results of a separator that uses either are marked oracle and kept out of the ranking;
- ``separate(mixture, query) -> (B, L)`` — ``mixture`` is a float32 tensor ``(B, 4, L)`` of AmbiX
  ``[W, Y, Z, X]`` mixtures, ``query`` a :class:`QueryBatch`; the result is the estimate of each item's
  target reference (the mono ``direct`` reference by default), float, same length;
- optionally ``is_bound = True`` for the reference points (the mixture itself, oracle masks) that are not
  separators in their own right; only these may read neither query nor oracle information;
- optionally ``detect(mixture, sample_rate) -> list[list[str]]``: the class labels it hears in each mixture
  (a separator that also tags); the harness then scores DCASE 2025 Task 4's class-aware CA-SDRi
  (:func:`benchmark.breakdowns.ca_sdri`);
- optionally ``setup(context: SeparatorContext)``, called once before the first batch with the sample rate,
  the device and the query encoder the harness uses (a separator that embeds audio itself, like the
  query-steered beamformer, takes the encoder from there).

Only the fields named in ``uses`` are filled in the :class:`QueryBatch`; the others are ``None``.

``load_separator(spec)`` turns a command-line spec into a separator:

- ``package.module:Class`` (or ``path/to/file.py:Class``) — a researcher's class, constructed with
  ``**kwargs`` (``--separator-args`` JSON); no change to foabench needed;
- ``RUN`` or ``RUN/checkpoints/X.pt`` with a model prefix (``bsast:``, ``bsast-w:``, ``resunet:``, or
  ``run:`` for any model) — a model trained by ``foabench train``;
- a built-in baseline name from :data:`baselines.separators.BASELINES` (``mixture``, ``oracle-irm``,
  ``oracle-mwf``, ``cardioid:oracle``, ``hypercardioid:query``, ``mpdr:oracle`` ...).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

USES = ("query_embedding", "query_text", "query_audio", "oracle_direction", "oracle_target")
ORACLE_USES = frozenset({"oracle_direction", "oracle_target"})
QUERY_USES = frozenset({"query_embedding", "query_text", "query_audio"})
TRAINED_PREFIXES = ("bsast", "bsast-w", "resunet", "run")


class SeparatorError(ValueError):
    """A separator spec that cannot be loaded, or a separator that breaks the interface."""


@dataclass
class QueryBatch:
    """The queries of a batch, and oracle information for separators that declare it (else ``None``).

    ``kind`` is ``audio`` or ``text`` (which query the row is scored with). ``embedding`` ``(B, D)`` float32
    is the encoder's embedding of that query; ``text`` the description (for audio queries too: the text query
    of the same target); ``audio`` the query clip as mono float32 arrays (only for ``kind == "audio"``);
    ``direction`` ``(B, 2)`` float64 azimuth, elevation in degrees; ``target`` ``(B, L)`` float32 reference.
    """

    kind: str
    sample_rate: int
    embedding: torch.Tensor | None = None
    text: list[str] | None = None
    audio: list[np.ndarray] | None = None
    direction: np.ndarray | None = None
    target: torch.Tensor | None = None


@dataclass
class SeparatorContext:
    """What the harness hands a separator's optional ``setup``: sample rate, device, query encoder."""

    sample_rate: int
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    encoder: Any = None


@runtime_checkable
class Separator(Protocol):
    name: str
    uses: tuple[str, ...]

    def separate(self, mixture: torch.Tensor, query: QueryBatch) -> torch.Tensor: ...


def check_separator(sep: Any, where: str) -> Any:
    """``sep`` if it implements the interface (name, uses from :data:`USES`, separate), else a clear error."""
    missing = [a for a in ("name", "uses", "separate") if not hasattr(sep, a)]
    if missing:
        raise SeparatorError(f"{where}: not a separator, it lacks {', '.join(missing)} (see benchmark/separator.py)")
    unknown = sorted(set(sep.uses) - set(USES))
    if unknown:
        raise SeparatorError(f"{where}: unknown entries in uses: {unknown}; known: {list(USES)}")
    if not set(sep.uses) & (QUERY_USES | ORACLE_USES) and not getattr(sep, "is_bound", False):
        raise SeparatorError(
            f"{where}: uses {tuple(sep.uses)} names no query; a separator must read the query (or oracle information)"
        )
    return sep


def is_oracle(sep: Any) -> bool:
    """True when the separator reads oracle information (direction or the reference itself)."""
    return bool(set(sep.uses) & ORACLE_USES)


class TrainedSeparator:
    """A model trained by ``foabench train`` (BSAST, BSAST-W, ResUNet) as a separator."""

    uses = ("query_embedding",)

    def __init__(self, run: str | Path, device: str = "cpu") -> None:
        from benchmark.train import load_trained

        self.model, self.info = load_trained(run, device)
        self.checkpoint = self.info["checkpoint"]
        self.n_channels = int(self.model.config.n_channels)
        self.name = f"{self.info['settings']['model']}-{self.info['settings']['config']}"
        self.device = torch.device(device)

    def setup(self, context: SeparatorContext) -> None:
        self.device = context.device
        self.model.to(self.device)
        if int(self.model.config.sample_rate) != context.sample_rate:
            raise SeparatorError(f"{self.name} was trained at {self.model.config.sample_rate} Hz, "
                                 f"the split is at {context.sample_rate} Hz")  # fmt: skip

    def separate(self, mixture: torch.Tensor, query: QueryBatch) -> torch.Tensor:
        with torch.inference_mode():
            return self.model(mixture[:, : self.n_channels].to(self.device), query.embedding.to(self.device)).cpu()


def _import_class(spec: str):
    target, _, attr = spec.rpartition(":")
    if target.endswith(".py"):
        path = Path(target)
        if not path.is_file():
            raise SeparatorError(f"{spec}: no file {path}")
        name = f"foabench_user_{path.stem}"
        module_spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        module_spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise SeparatorError(f"{spec}: cannot import {target!r} ({exc})") from exc
    try:
        return getattr(module, attr)
    except AttributeError as exc:
        raise SeparatorError(f"{spec}: module {target!r} has no {attr!r}") from exc


def load_separator(spec: str, kwargs: dict | None = None, device: str = "cpu") -> Any:
    """A separator from a spec (see the module docstring); ``kwargs`` go to an imported class."""
    from baselines.separators import BASELINES, make_baseline

    kwargs = dict(kwargs or {})
    prefix, sep_char, rest = spec.partition(":")
    if spec in BASELINES:
        return check_separator(make_baseline(spec, **kwargs), spec)
    if sep_char and prefix in TRAINED_PREFIXES:
        sep = TrainedSeparator(rest, device)
        model = sep.info["settings"]["model"]
        if prefix != "run" and model != prefix:
            raise SeparatorError(f"{spec}: {rest} holds a {model!r} run, not {prefix!r} (use {model}:{rest})")
        return sep
    if sep_char and ("." in prefix or prefix.endswith(".py") or "/" in prefix):
        cls = _import_class(spec)
        try:
            sep = cls(**kwargs)
        except TypeError as exc:
            raise SeparatorError(f"{spec}: cannot construct with {kwargs}: {exc}") from exc
        return check_separator(sep, spec)
    known = ", ".join(sorted(BASELINES))
    raise SeparatorError(
        f"unknown separator {spec!r}: use MODEL:RUN (MODEL in {', '.join(TRAINED_PREFIXES)}), "
        f"package.module:Class, or a baseline ({known})"
    )
