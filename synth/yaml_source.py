"""Reading a YAML (or JSON) document that ships with foabench by name, or a user's file by path."""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from pathlib import Path

import yaml


def read_yaml_source(name_or_path: str | Path, package: str, shipped: Iterable[str], what: str,
                     error: type[Exception]) -> tuple[object, str, Path | None]:  # fmt: skip
    """``(data, where, folder)``: the shipped ``package/NAME.yaml`` when ``name_or_path`` is one of ``shipped``,
    else the file at that path (``folder`` is its folder, None for a shipped one); a missing file or malformed
    YAML raises ``error`` naming it."""
    key, shipped = str(name_or_path), tuple(shipped)
    if key in shipped:
        text, where, folder = (
            resources.files(package).joinpath(f"{key}.yaml").read_text(),
            f"shipped {what} {key}",
            None,
        )
    else:
        p = Path(key)
        if not p.is_file():
            raise error(f"{p}: no such {what} file (shipped: {', '.join(shipped)})")
        text, where, folder = p.read_text(), str(p), p.parent.resolve()
    try:
        return yaml.safe_load(text), where, folder
    except yaml.YAMLError as exc:
        raise error(f"{where}: malformed YAML/JSON ({exc})") from exc
