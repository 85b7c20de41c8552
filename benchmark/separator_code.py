"""Fingerprints of the code a separator runs, so that results computed by other code are never resumed or mixed.

- A researcher's class: the source of its module and of every module this process loaded from the same place
  (the file's folder, or the top-level package of ``package.module``), so editing the class or a helper it
  imports changes the fingerprint. A module installed directly in ``site-packages`` counts its own file only.
- A built-in separator: foabench's version plus the source of the modules that compute its estimate (the
  baselines' signal processing for the baselines, the networks of :mod:`foabench.model` for trained runs;
  their weights are pinned separately by the checkpoint's sha256).

foabench's version is part of every fingerprint: the harness (rendering, metrics) is code the rows depend on.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

from foabench import synth

#: built-in separator module -> the foabench packages whose code computes its estimates
BUILTIN_CODE = {
    "foabench.benchmark.baseline_separators": ("foabench.baselines",),
    "foabench.benchmark.separator_spec": ("foabench.model",),
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _package_files(package: str) -> list[Path]:
    module = sys.modules.get(package) or __import__(package, fromlist=["_"])
    return sorted(p for folder in module.__path__ for p in Path(folder).rglob("*.py") if "__pycache__" not in p.parts)


def _loaded_under(folder: Path) -> list[Path]:
    """Source files of the modules this process has loaded from below ``folder``."""
    files = set()
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if not file or not file.endswith(".py") or not Path(file).is_absolute():
            continue  # (some extension modules carry a bare or relative __file__)
        path = Path(file).resolve()
        if path.is_relative_to(folder) and path.is_file():
            files.add(path)
    return sorted(files)


def _user_root(module: Any) -> tuple[Path, list[Path]]:
    file = Path(module.__file__).resolve()
    top = module.__name__.split(".")[0]
    if module.__name__.startswith("foabench_user_") or "." not in module.__name__:
        folder = file.parent
        if folder.name.endswith(("site-packages", "dist-packages")):
            return folder, [file]
        return folder, _loaded_under(folder)
    package = sys.modules[top]
    folder = Path(next(iter(package.__path__))).resolve()
    return folder.parent, _loaded_under(folder)


def code_fingerprint(separator: Any) -> dict:
    """``{"kind", "module", "class", "foabench", "files": {path: sha256}, "sha256"}`` of ``separator``'s code."""
    cls = type(separator)
    module = sys.modules.get(cls.__module__)
    info = {"module": cls.__module__, "class": cls.__qualname__, "foabench": synth.__version__}
    if cls.__module__.startswith("foabench."):
        files = [Path(module.__file__)] + [
            f for pkg in BUILTIN_CODE.get(cls.__module__, ()) for f in _package_files(pkg)
        ]
        root = Path(synth.__file__).resolve().parents[1]
        names = {f: "/".join(f.resolve().relative_to(root).parts) if f.resolve().is_relative_to(root) else f.name
                 for f in files}  # fmt: skip
        info["kind"] = "builtin"
    elif module is None or not getattr(module, "__file__", None):
        raise ValueError(f"{cls.__qualname__}: the separator's module has no source file to fingerprint")
    else:
        root, files = _user_root(module)
        names = {f: "/".join(f.relative_to(root).parts) for f in files}
        info["kind"] = "user"
    hashes = {names[f]: _sha256(f) for f in files}
    info["files"] = dict(sorted(hashes.items()))
    lines = [f"foabench\0{synth.__version__}\n"] + [f"{n}\0{h}\n" for n, h in sorted(hashes.items())]
    info["sha256"] = hashlib.sha256("".join(lines).encode()).hexdigest()
    return info
