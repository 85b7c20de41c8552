"""Opening a query encoder from a spec string: ``builtin:FOLDER`` (or just a trained encoder folder) or
``clap:CHECKPOINT`` (laion-clap, optional extra; ``clap:CHECKPOINT:HTSAT-base`` forces the variant)."""

from __future__ import annotations

from pathlib import Path

from foabench.synth.queries.base import QueryEncoder


def open_encoder(spec: str) -> QueryEncoder:
    """The encoder a spec string names (see the module docstring)."""
    kind, _, rest = str(spec).partition(":")
    if kind == "clap" and rest:
        from foabench.synth.queries.clap import load_clap

        path, _, variant = rest.partition(":")
        return load_clap(path, variant=variant or None)
    from foabench.synth.queries.builtin import BuiltinEncoder

    folder = rest if kind == "builtin" and rest else spec
    if not Path(folder).is_dir():
        raise FileNotFoundError(f"{folder}: no encoder folder (train one with `foabench queries train-encoder`)")
    return BuiltinEncoder.load(folder)
