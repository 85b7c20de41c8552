"""Shipped reference checkpoints: trained separators that come with foabench, and the recipes that train them.

Layout (package data of ``foabench.benchmark.references``):

- ``recipes/NAME.yaml``: a recipe file, the :class:`~foabench.benchmark.train.TrainSettings` fields that define a
  training run (``foabench train --recipe NAME --benchmark DIR`` runs it on a built benchmark's training groups);
- ``NAME/``: a shipped reference, made from a finished run by ``foabench references ship RUN --name NAME``:
  ``model.pt`` (weights in float16 where that loses nothing measurable, else float32; settings, model config, step,
  training seconds), ``config.json`` (the run's: settings, bank fingerprints, encoder hash), ``metrics.jsonl``
  (the training curve), ``recipe.yaml`` and ``reference.json`` (what it is, how long it trained, the float16
  check);
- ``encoder/``: the built-in query encoder the references were trained with (``audio_tower.pt``,
  ``encoder.json``): a reference is only meaningful with the embeddings it was trained on, so evaluation uses this
  encoder for ``reference:NAME`` and refuses a run whose encoder hash differs from the one it is given.

``foabench eval --separator reference:NAME`` loads one; ``reference:list`` (or ``foabench references list``)
lists them.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent
RECIPES = ROOT / "recipes"
ENCODER = ROOT / "encoder"
MODEL_FILE = "model.pt"
INFO_FILE = "reference.json"


class ReferenceError(ValueError):
    """An unknown reference or recipe, or a run that cannot be shipped."""


def shipped() -> dict[str, dict]:
    """Name -> ``reference.json`` of every shipped reference."""
    out = {}
    for info in sorted(ROOT.glob(f"*/{INFO_FILE}")):
        out[info.parent.name] = json.loads(info.read_text())
    return out


def reference_checkpoint(name: str) -> Path:
    """The ``model.pt`` of shipped reference ``name``; a clear error naming the shipped ones otherwise."""
    path = ROOT / name / MODEL_FILE
    if not path.is_file():
        known = ", ".join(shipped()) or "none shipped yet"
        raise ReferenceError(f"no shipped reference {name!r} (shipped: {known}; `foabench references list`)")
    return path


def recipe_names() -> list[str]:
    return sorted(p.stem for p in RECIPES.glob("*.yaml"))


def load_recipe(name_or_path: str | Path) -> dict:
    """A recipe's fields: a shipped name (``bsast-tiny``) or a YAML file of TrainSettings fields."""
    path = Path(name_or_path)
    if not path.is_file():
        path = RECIPES / f"{name_or_path}.yaml"
    if not path.is_file():
        raise ReferenceError(f"no recipe {name_or_path!r}: a YAML file, or one of {', '.join(recipe_names())}")
    recipe = yaml.safe_load(path.read_text())
    if not isinstance(recipe, dict):
        raise ReferenceError(f"{path}: a recipe is a mapping of training settings")
    from dataclasses import fields

    from foabench.benchmark.train import TrainSettings

    allowed = {f.name for f in fields(TrainSettings)} - {"out", "banks", "val", "spec"}
    unknown = set(recipe) - allowed - {"description"}
    if unknown:
        raise ReferenceError(f"{path}: unknown recipe fields {sorted(unknown)} (allowed: {sorted(allowed)})")
    return recipe


def format_list() -> str:
    """A table of the shipped references (and the recipes without a shipped checkpoint)."""
    refs = shipped()
    lines = ["| reference | model | steps | training | val audio SI-SDRi | val text SI-SDRi | weights |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for name, info in refs.items():
        val = info.get("val", {})
        lines.append(f"| reference:{name} | {info['model']}-{info['config']} | {info['step']} | "
                     f"{info['train_seconds'] / 3600:.2f} h | {val.get('audio_query_si_sdri', '—')} | "
                     f"{val.get('text_query_si_sdri', '—')} | {info['weights_dtype']} |")  # fmt: skip
    if not refs:
        lines = ["no reference checkpoint is shipped yet"]
    missing = [r for r in recipe_names() if r not in refs]
    if missing:
        lines.append(f"recipes without a shipped checkpoint: {', '.join(missing)}")
    return "\n".join(lines)
