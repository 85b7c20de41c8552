"""Pieces shared by the dataset importers: audio discovery, label phrasing and licence names."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import Protocol

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".aif", ".aiff", ".mp3")


class SkipReporter(Protocol):
    """Anything that records refused candidates (a BankBuilder or a BankWriter)."""

    def skip(self, origin: str, reason: str, detail: str) -> None: ...


_CC_URL = re.compile(r"creativecommons\.org/(licenses|publicdomain)/([a-z+\-]+)/(\d\.\d)", re.I)


def find_audio(root: Path) -> list[Path]:
    """Audio files under root, sorted by their POSIX relative path (never by directory-listing order)."""
    files = [p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES]
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def stored_stem(rel: str, prefix: str = "audio") -> str:
    """Bank-relative stored path (without suffix) for a file at ``rel`` inside an imported folder."""
    return (PurePosixPath(prefix) / PurePosixPath(rel).with_suffix("")).as_posix()


def humanize_label(label: str) -> str:
    """'Electric_guitar' / 'hand-clap' -> 'electric guitar' / 'hand clap'."""
    return re.sub(r"[_\-]+", " ", label).strip().lower()


def caption_from_labels(labels: list[str]) -> str:
    """A plain caption for clips whose dataset has none: 'the sound of a dog' style."""
    names = [humanize_label(label) for label in labels]
    if not names:
        return ""
    joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"the sound of {joined}"


def license_name(value: str) -> str:
    """Normalise a Creative Commons URL to its short name ('http://.../by-nc/3.0/' -> 'CC-BY-NC-3.0')."""
    value = value.strip()
    m = _CC_URL.search(value)
    if not m:
        return value
    kind, code, version = m.groups()
    if kind.lower() == "publicdomain" and code.lower() == "zero":
        return "CC0-1.0"
    return f"CC-{code.upper()}-{version}"


def pair_rows_with_files(
    builder: SkipReporter,
    table_path: Path,
    rows: Iterable[dict],
    key_column: str,
    files: dict[str, Path],
    expected_path: Callable[[str], Path],
    missing_row_reason: str = "missing_label",
) -> Iterator[tuple[str, Path, dict]]:
    """Match a label table's rows to audio files by key, yielding (key, file, row) in file order.

    Repeated rows, rows whose file is missing (named by ``expected_path(key)``) and files without a row are
    reported to the builder as skips, never dropped silently.
    """
    by_key: dict[str, dict] = {}
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        key = str(row[key_column]).strip().replace("\\", "/")
        if key in by_key:
            builder.skip(f"{table_path}:{line}", "duplicate_label_row", f"second row for {key!r}")
            continue
        by_key[key] = row
    for key in sorted(set(by_key) - set(files)):
        builder.skip(str(expected_path(key)), "missing_file", f"listed in {table_path} but not found")
    for key, path in files.items():
        row = by_key.get(key)
        if row is None:
            builder.skip(str(path), missing_row_reason, f"no row for {key!r} in {table_path}")
            continue
        yield key, path, row
