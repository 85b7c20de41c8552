"""``foabench bank rir-folder DIR --positions CSV``: a folder of measured 4-channel RIRs plus a position table.

The CSV needs ``path`` (relative to DIR; absolute paths and paths with '..' are refused) and the source
direction as seen from the microphone in foabench axes, either as ``azimuth,elevation[,distance]`` (degrees,
metres; azimuth counter-clockwise from the front in (-180, 180], elevation in [-90, 90]) or as ``x,y,z``
(metres, source minus microphone, x front, y left, z up). Optional columns: ``room`` (the split group;
default: the file's parent folder, or DIR's name), ``convention`` (the file's FOA convention; rows without
one take ``convention=``, and a row with neither is an error), ``license`` and ``attribution``.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
import soundfile as sf

from foabench.synth.audio_io import read_audio
from foabench.synth.banks.importers.common import pair_rows_with_files
from foabench.synth.banks.writer import BankWriter, BuildResult
from foabench.synth.foa import normalize_convention
from foabench.synth.rooms.importers.common import Batch, Measurement, import_batches, room_folder, source_direction

RIR_SUFFIXES = (".wav", ".flac")
SPHERICAL = ("azimuth", "elevation")
CARTESIAN = ("x", "y", "z")
_DRIVE = re.compile(r"^[A-Za-z]:")


def read_positions_csv(csv_path: Path) -> tuple[pd.DataFrame, bool]:
    """Read a position CSV (string columns); return it and whether directions are spherical."""
    if not csv_path.is_file():
        raise FileNotFoundError(f"position CSV {csv_path} does not exist")
    table = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    table.columns = [c.strip().lower() for c in table.columns]
    has_sph = [c for c in (*SPHERICAL, "distance") if c in table.columns]
    has_cart = [c for c in CARTESIAN if c in table.columns]
    if "path" not in table.columns:
        raise ValueError(f"{csv_path}: missing column 'path'; found {list(table.columns)}")
    if has_sph and has_cart:
        raise ValueError(f"{csv_path}: give directions either as azimuth,elevation[,distance] or as x,y,z, not both")
    complete = set(SPHERICAL) <= set(has_sph) if has_sph else len(has_cart) == len(CARTESIAN)
    if not complete:
        raise ValueError(
            f"{csv_path}: direction columns must be azimuth,elevation[,distance] or x,y,z; found {list(table.columns)}"
        )
    return table, bool(has_sph)


def is_unsafe_path(key: str) -> bool:
    """True for a CSV path that is empty, absolute, drive-qualified, home-relative or contains '..'."""
    return (
        not key
        or PurePosixPath(key).is_absolute()
        or key.startswith("~")
        or bool(_DRIVE.match(key))
        or ".." in key.split("/")
    )


def _number(row: dict, column: str, where: str) -> float:
    text = str(row.get(column, "")).strip()
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{where}: {column} {text!r} is not a number") from None
    if not np.isfinite(value):
        raise ValueError(f"{where}: {column} {text!r} is not finite")
    return value


def row_direction(row: dict, spherical: bool, where: str) -> tuple[float, float, float | None]:
    """Azimuth, elevation (degrees) and distance (m or None) of a CSV row; out-of-range values are errors."""
    if not spherical:
        vector = [_number(row, c, where) for c in CARTESIAN]
        try:
            return source_direction(vector, has_distance=True)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
    az, el = _number(row, "azimuth", where), _number(row, "elevation", where)
    if not -180.0 <= az <= 180.0:
        raise ValueError(f"{where}: azimuth {az:g} deg is outside (-180, 180] (counter-clockwise from the front)")
    if not -90.0 <= el <= 90.0:
        raise ValueError(f"{where}: elevation {el:g} deg is outside [-90, 90]")
    distance = None
    if str(row.get("distance", "")).strip():
        distance = _number(row, "distance", where)
        if distance <= 0:
            raise ValueError(f"{where}: distance {distance:g} m must be positive")
    return (180.0 if az == -180.0 else az), el, distance


def _stored_path(key: str, room: str) -> str:
    """``<room>/<path in DIR>.wav``, without repeating the room folder when the path already starts with it."""
    folder = room_folder(room)
    rel = PurePosixPath(key).with_suffix(".wav")
    return rel.as_posix() if rel.parts[0] == folder and len(rel.parts) > 1 else f"{folder}/{rel.as_posix()}"


def _file_rate(path: Path) -> int | None:
    try:
        return int(sf.info(str(path)).samplerate)
    except (sf.LibsndfileError, RuntimeError, TypeError):
        return None  # unreadable: reported when loaded


def _load_one(path: Path) -> tuple[list[np.ndarray], int]:
    wave, rate = read_audio(path)
    return [wave], rate


def import_rir_folder(
    folder: str | Path,
    positions_csv: str | Path,
    out: str | Path,
    *,
    convention: str | None = None,
    sample_rate: int = 32000,
    resample: bool = False,
    name: str | None = None,
    default_license: str = "unknown",
    default_attribution: str = "",
    progress: bool = True,
) -> BuildResult:
    """Import every RIR of ``folder`` listed in ``positions_csv`` into a ``rirs`` bank at ``out``."""
    folder, csv_path = Path(folder), Path(positions_csv)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a directory")
    table, spherical = read_positions_csv(csv_path)
    default = normalize_convention(convention, "--convention") if convention else None
    writer = BankWriter(
        out, name or folder.name, "rirs", sample_rate, description=f"measured RIRs from {folder} ({csv_path})"
    )
    rows = []
    for line, row in enumerate(table.to_dict("records"), start=2):
        key = str(row["path"]).strip().replace("\\", "/")
        if is_unsafe_path(key):
            writer.skip(f"{csv_path}:{line}", "unsafe_path", f"path {key!r} is absolute or leaves {folder}")
            continue
        rows.append({**row, "path": key, "_line": line})
    files = {
        p.relative_to(folder).as_posix(): p
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.suffix.lower() in RIR_SUFFIXES
    }
    matched = pair_rows_with_files(
        writer, csv_path, rows, "path", files, lambda rel: folder / rel, missing_row_reason="missing_position"
    )
    batches = []
    for key, path, row in matched:
        where = f"{csv_path}:{row['_line']} ({key})"
        conv = normalize_convention(str(row.get("convention", "")).strip() or default, where)
        az, el, dist = row_direction(row, spherical, where)
        room = str(row.get("room", "")).strip() or PurePosixPath(key).parent.name or folder.name
        m = Measurement(
            origin=str(path),
            rel=_stored_path(key, room),
            room=room,
            convention=conv,
            azimuth=az,
            elevation=el,
            distance=dist,
            license=str(row.get("license", "")).strip() or default_license,
            attribution=str(row.get("attribution", "")).strip() or default_attribution,
            extra={"format": path.suffix.lower().lstrip("."), "file": key},
        )
        batches.append(Batch(str(path), _file_rate(path), [m], lambda p=path: _load_one(p)))
    return import_batches(writer, batches, resample=resample, inputs=[csv_path], source_root=folder, progress=progress)
