"""``foabench bank tau-srir PATH... --convention C``: TAU-SRIR DB style MATLAB v7.3 RIR files.

A file ``rirs_XX_<room>.mat`` holds a struct ``rirs`` whose field ``foa`` (and ``mic``) is a cell array
``{n_traj x n_heights}`` of arrays ``[n_samples x 4 x n_positions]``. The source directions are a cell array
of the same layout holding ``[n_positions x 3]`` vectors in foabench axes (x front, y left, z up): unit
vectors are directions only, other vectors positions relative to the microphone (their length is recorded as
the distance). They are read from a companion MAT file (``doa=``, v7.3 or v5, variable ``doa_var``, e.g.
``rirdata.room(#).doa_xyz`` where ``#`` is the file's room number XX) or from ``rirs/<doa_var>`` or
``<doa_var>`` in the file itself. The files carry no FOA convention, so it must be given. The sample rate is
``fs`` (``rirs/fs`` or top level) when the file has one, else ``sample_rate_in`` (TAU-SRIR DB: 24 kHz).
RIRs are stored as ``<room>/t{traj}_h{height}_p{pos:04d}.wav`` (0-based indices), in (trajectory, height,
position) order; the room (split group) is ``<room>`` from the file name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import h5py
import numpy as np

from foabench.synth.banks.writer import BankWriter, BuildResult
from foabench.synth.foa import normalize_convention
from foabench.synth.rooms.importers.common import (
    Batch,
    find_input_files,
    import_batches,
    is_unit_length,
    measurement_towards,
    room_folder,
)
from foabench.synth.rooms.importers.matfile import h5_array, h5_cell, h5_lookup, is_v73, parse_var_path, read_cell

DEFAULT_SAMPLE_RATE_IN = 24000
FOA_VARIABLE = "rirs/foa"  # rirs/mic holds the tetrahedral capsule signals (A-format), not FOA
_FILE_NAME = re.compile(r"^rirs_(\d+)_(.+)$")


def find_tau_files(paths: Iterable[str | Path]) -> list[Path]:
    """The MAT files named by ``paths``: files as given, folders searched for ``rirs_*.mat``; sorted."""
    return find_input_files(paths, lambda f: f.name.startswith("rirs_") and f.suffix == ".mat", "rirs_*.mat file")


def room_of(path: Path) -> tuple[str, int | None]:
    """``rirs_03_pb132.mat`` -> ``('pb132', 3)``; other names give (stem, None)."""
    m = _FILE_NAME.match(path.stem)
    return (m.group(2), int(m.group(1))) if m else (path.stem, None)


def _optional(f: h5py.File, names: tuple[str, ...]) -> np.ndarray | None:
    for name in names:
        try:
            return h5_array(h5_lookup(f, parse_var_path(name)))
        except KeyError:
            continue
    return None


def _rate(fs: np.ndarray | None, given: int | None, where: str) -> int:
    if fs is None:
        return int(given or DEFAULT_SAMPLE_RATE_IN)
    values = np.unique(np.ravel(fs))
    if values.size != 1 or values[0] <= 0 or values[0] != round(values[0]):
        raise ValueError(f"{where}: fs {values.tolist()} is not a single positive integer rate")
    rate = int(values[0])
    if given is not None and given != rate:
        raise ValueError(f"{where}: the file says fs = {rate} Hz but --sample-rate-in is {given} Hz")
    return rate


def _doa_cell(f: h5py.File, path: Path, doa: Path | None, doa_var: str, number: int | None) -> np.ndarray:
    """The direction cell array, from the companion file or from the RIR file itself."""
    if doa is not None:
        try:
            return read_cell(doa, doa_var, number)
        except KeyError as exc:
            raise ValueError(f"{doa}: no direction variable {doa_var!r} ({exc})") from None
    for candidate in (f"rirs/{doa_var}", doa_var):
        try:
            node = h5_lookup(f, parse_var_path(candidate, number))
        except KeyError:
            continue
        cell = h5_cell(f, node)
        out = np.empty(cell.shape, dtype=object)
        for idx in np.ndindex(cell.shape):
            out[idx] = h5_array(cell[idx])
        return out
    raise ValueError(f"{path}: no directions (neither rirs/{doa_var} nor {doa_var}); give a companion file (--doa)")


def _vectors(arr: np.ndarray, n_positions: int, where: str) -> np.ndarray:
    """``[n_positions x 3]`` direction vectors (a ``3 x n_positions`` array is accepted transposed)."""
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim == 1 and arr.size == 3:
        arr = arr[None, :]
    if arr.ndim == 2 and arr.shape == (3, n_positions) and n_positions != 3:
        arr = arr.T
    if arr.shape != (n_positions, 3):
        raise ValueError(f"{where}: directions have shape {arr.shape}; expected ({n_positions}, 3) to match the RIRs")
    return arr


def _load_cell(path: Path, name: str, rate: int) -> tuple[list[np.ndarray], int]:
    with h5py.File(path, "r") as f:
        arr = h5_array(f[name])
    if arr.ndim == 2:  # MATLAB drops a trailing singleton dimension: one position
        arr = arr[:, :, None]
    return [arr[:, :, p] for p in range(arr.shape[2])], rate


def plan_tau_file(
    writer: BankWriter,
    path: Path,
    *,
    convention: str,
    doa: Path | None = None,
    doa_var: str = "doa_xyz",
    sample_rate_in: int | None = None,
    license: str = "unknown",
    attribution: str = "",
) -> list[Batch]:
    """Plan one batch per (trajectory, height) cell of a TAU-SRIR DB file; a malformed file is skipped."""
    room, number = room_of(path)
    where = str(path)
    if not is_v73(path):
        writer.skip(where, "bad_file", f"{where}: not a MATLAB v7.3 (HDF5) file")
        return []
    with h5py.File(path, "r") as f:
        try:
            cell = h5_cell(f, h5_lookup(f, parse_var_path(FOA_VARIABLE)))
        except (KeyError, ValueError) as exc:
            writer.skip(where, "bad_file", f"{where}: no cell array {FOA_VARIABLE} ({exc})")
            return []
        datasets = {idx: (cell[idx].name, cell[idx].shape[::-1]) for idx in np.ndindex(cell.shape)}
        rate = _rate(_optional(f, ("rirs/fs", "fs")), sample_rate_in, where)
        doas = _doa_cell(f, path, doa, doa_var, number)
    if doas.shape != cell.shape:
        raise ValueError(f"{where}: directions form a {doas.shape} cell array but {FOA_VARIABLE} a {cell.shape} one")
    batches = []
    for (t, h), (name, shape) in datasets.items():
        origin = f"{where}[t{t},h{h}]"
        if len(shape) not in (2, 3) or shape[1] != 4:
            writer.skip(origin, "channels", f"{origin}: RIRs of shape {shape}; expected [n_samples x 4 x n_positions]")
            continue
        n_positions = shape[2] if len(shape) == 3 else 1
        vectors = _vectors(doas[t, h], n_positions, origin)
        unit = is_unit_length(vectors)
        measurements = []
        for p, vector in enumerate(vectors):
            m = measurement_towards(
                writer,
                f"{where}[t{t},h{h},p{p}]",
                vector,
                not unit[p],
                rel=f"{room_folder(room)}/t{t}_h{h}_p{p:04d}.wav",
                room=room,
                convention=convention,
                license=license,
                attribution=attribution,
                index=p,
                extra={"format": "tau-srir", "file": path.name, "trajectory": t, "height": h, "position": p},
            )
            if m is not None:
                measurements.append(m)
        batches.append(Batch(origin, rate, measurements, lambda n=name: _load_cell(path, n, rate)))
    return batches


def import_tau_srir(
    paths: Iterable[str | Path],
    out: str | Path,
    *,
    convention: str | None,
    doa: str | Path | None = None,
    doa_var: str = "doa_xyz",
    sample_rate_in: int | None = None,
    sample_rate: int = 32000,
    resample: bool = False,
    name: str | None = None,
    license: str = "unknown",
    attribution: str = "",
    progress: bool = True,
) -> BuildResult:
    """Import TAU-SRIR DB style ``rirs_XX_<room>.mat`` files (or folders of them) into a ``rirs`` bank."""
    conv = normalize_convention(convention, "tau-srir --convention (TAU-SRIR DB files do not declare one)")
    paths = list(paths)
    files = find_tau_files(paths)
    doa_path = Path(doa) if doa is not None else None
    if doa_path is not None and not doa_path.is_file():
        raise FileNotFoundError(f"direction file {doa_path} does not exist")
    writer = BankWriter(
        out,
        name or (room_of(files[0])[0] if len(files) == 1 else Path(paths[0]).resolve().name),
        "rirs",
        sample_rate,
        description=f"measured RIRs from {len(files)} TAU-SRIR DB style file(s)",
    )
    batches = []
    for path in files:
        batches += plan_tau_file(
            writer,
            path,
            convention=conv,
            doa=doa_path,
            doa_var=doa_var,
            sample_rate_in=sample_rate_in,
            license=license,
            attribution=attribution,
        )
    inputs = [*files, *([doa_path] if doa_path is not None else [])]
    return import_batches(writer, batches, resample=resample, inputs=inputs, progress=progress)
