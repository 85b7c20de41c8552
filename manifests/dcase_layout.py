"""The DCASE Task 4 (S5) test-set layout: folder names, file names, and finding them on disk.

A DCASE test folder (2025 ``dev_set/test``, 2026 ``dev_set/synthesized/test``) holds

- ``soundscape/NAME.wav`` — the 4-channel FOA mixture;
- ``oracle_target/NAME_LABEL.wav`` (2025) or ``oracle_target/NAME_N_LABEL.wav`` (2026, where two targets may
  share a class; ``N`` numbers the targets from 0) — one mono dry target per source.

A system's estimates are named the same way and paired with the targets by name. The DCASE 2026 loaders accept
both names (``NAME_LABEL`` and ``NAME_N_LABEL``), so the reader here does too; the 2025 layout cannot hold two
targets of one class. foabench adds ``metadata/NAME.json`` (the DCASE metadata of the mixture plus the foabench
manifest row it was rendered from) and ``foabench_dcase.json`` (the layout, the manifest and the reference) when
it writes a split in this layout (:mod:`foabench.manifests.dcase_audio_export`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

LAYOUTS = ("2025", "2026")
SOUNDSCAPE = "soundscape"
ORACLE_TARGET = "oracle_target"
METADATA = "metadata"
RECORD = "foabench_dcase.json"
#: where the test folder sits under a DCASE ``dev_set`` (or a folder holding ``dev_set``), by layout
TEST_FOLDERS = {"2025": ("test",), "2026": ("synthesized", "test")}
_NUMBERED = re.compile(r"^(\d+)_(.+)$")


class LayoutError(ValueError):
    """A folder or file name that does not follow the DCASE layout (named in the message)."""


def check_layout(layout: str) -> str:
    if layout not in LAYOUTS:
        raise LayoutError(f"unknown DCASE layout {layout!r}; known: {', '.join(LAYOUTS)}")
    return layout


def check_label(label: str) -> str:
    """A class label that can be part of a file name (no path separators, not empty, no leading digits + '_')."""
    if not label or any(c in label for c in "/\\\0") or label in (".", "..") or _NUMBERED.match(label):
        raise LayoutError(f"class label {label!r} cannot name a DCASE target file")
    return label


def target_file_name(name: str, index: int, label: str, layout: str) -> str:
    """``NAME_LABEL.wav`` (2025) or ``NAME_N_LABEL.wav`` (2026) for target ``index`` of mixture ``name``."""
    check_label(label)
    return f"{name}_{label}.wav" if check_layout(layout) == "2025" else f"{name}_{index}_{label}.wav"


def target_file_names(name: str, labels: list[str], layout: str) -> list[str]:
    """The file names of a mixture's targets in order; the 2025 layout refuses two targets of one class."""
    if layout == "2025" and len(set(labels)) < len(labels):
        dupes = sorted({x for x in labels if labels.count(x) > 1})
        raise LayoutError(f"{name}: two targets of class {', '.join(dupes)}; the 2025 layout names targets "
                          "NAME_LABEL.wav and cannot hold them (use --layout 2026)")  # fmt: skip
    return [target_file_name(name, k, label, layout) for k, label in enumerate(labels)]


@dataclass(frozen=True)
class TargetFile:
    """One parsed target (or estimate) file: its mixture, its number (None for ``NAME_LABEL``) and its label."""

    path: Path
    mixture: str
    index: int | None
    label: str


def parse_target_files(folder: Path, names: list[str]) -> dict[str, list[TargetFile]]:
    """The ``*.wav`` files of ``folder`` by mixture name, each list in file order (numbered files by number).

    A file belongs to the longest mixture name it starts with followed by ``_`` (so ``mix_1`` never takes
    ``mix_10_dog.wav``); a file that belongs to no mixture is an error, as is a folder mixing numbered and
    unnumbered names for one mixture or repeating a number."""
    known = set(names)
    out: dict[str, list[TargetFile]] = {n: [] for n in names}
    for path in sorted(folder.glob("*.wav")):
        stem = path.stem
        owners = [stem[:i] for i, c in enumerate(stem) if c == "_" and stem[:i] in known]
        if not owners:
            raise LayoutError(f"{path}: not NAME_LABEL.wav or NAME_N_LABEL.wav for any mixture in "
                              f"{SOUNDSCAPE}/")  # fmt: skip
        mixture = max(owners, key=len)
        rest = stem[len(mixture) + 1 :]
        numbered = _NUMBERED.match(rest)
        index, label = (int(numbered.group(1)), numbered.group(2)) if numbered else (None, rest)
        if not label:
            raise LayoutError(f"{path}: no class label after the mixture name")
        out[mixture].append(TargetFile(path, mixture, index, label))
    for mixture, files in out.items():
        numbers = [f.index for f in files]
        if files and (None in numbers) and any(n is not None for n in numbers):
            raise LayoutError(f"{folder}: mixture {mixture} has both numbered and unnumbered target files")
        if None not in numbers:
            if len(set(numbers)) < len(numbers):
                raise LayoutError(f"{folder}: mixture {mixture} repeats a target number: {sorted(numbers)}")
            files.sort(key=lambda f: f.index)
    return out


def find_test_folder(path: str | Path) -> Path:
    """The folder holding ``soundscape/``: ``path`` itself, or its DCASE test folder (``test``,
    ``synthesized/test``, under ``dev_set`` or not)."""
    root = Path(path)
    if not root.is_dir():
        raise LayoutError(f"{root}: no such folder")
    candidates = [root]
    for base in (root, root / "dev_set"):
        candidates += [base.joinpath(*parts) for parts in TEST_FOLDERS.values()]
    for folder in candidates:
        if (folder / SOUNDSCAPE).is_dir():
            return folder
    raise LayoutError(f"{root}: no {SOUNDSCAPE}/ folder in it or in its DCASE test folder "
                      f"({', '.join('/'.join(p) for p in TEST_FOLDERS.values())})")  # fmt: skip


def guess_layout(folder: Path, targets: dict[str, list[TargetFile]]) -> str:
    """2026 when the folder sits under ``synthesized/`` or its targets are numbered or share a class; else 2025."""
    if "synthesized" in folder.resolve().parts:
        return "2026"
    for files in targets.values():
        if any(f.index is not None for f in files) or len({f.label for f in files}) < len(files):
            return "2026"
    return "2025"
