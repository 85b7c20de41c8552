"""``foabench bank sofa PATH...``: measured first-order RIRs from SOFA files; one file is one room (split group).

Files are read with sofar's :class:`sofar.SofaStream`, so any convention works (SingleRoomSRIR,
SingleRoomMIMOSRIR, GeneralFIR, AmbisonicsDRIR, ...) as long as ``Data.IR`` has the dimensions M (measurements),
R = 4 (ambisonic channels), N (samples) and any other dimension (E) of size 1; the IRs of one file are loaded
at a time. The FOA convention comes from the file: the ``ChannelOrdering`` / ``Normalization`` attributes of
``Data.IR`` (as AmbisonicsDRIR and SpatialScaper, which wrote the DCASE 2025 Task 4 ``room_ir`` files, store
it) or the global attributes ``AmbisonicsChannelOrdering`` / ``AmbisonicsNormalization``. ``convention=`` is
used only for files that declare nothing, and must agree with a file that does. The source direction is
``SourcePosition - ListenerPosition`` (cartesian or spherical), turned into the listener's frame given by
``ListenerView`` / ``ListenerUp`` (default: view +x, up +z); ``sources_relative=True`` takes SourcePosition as
already relative to the listener, for files that store the microphone's room position in ListenerPosition
but sources relative to it (SpatialScaper's TAU-SRIR DB conversions do).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import sofar

from foabench.synth.audio_io import AudioError
from foabench.synth.banks.importers.dcase2025 import ATTRIBUTION, LICENSE
from foabench.synth.banks.writer import BankWriter, BuildResult
from foabench.synth.foa import ConventionError, convention_from_parts, normalize_convention, unit_vector
from foabench.synth.rooms.importers.common import (
    Batch,
    RirSkip,
    find_input_files,
    import_batches,
    measurement_towards,
    room_folder,
)

SOFA_SUFFIX = ".sofa"
DCASE_SPLITS = ("train", "valid")


def find_sofa_files(paths: Iterable[str | Path]) -> list[Path]:
    """The SOFA files named by ``paths`` (files, or folders searched recursively), sorted, without repeats."""
    return find_input_files(paths, lambda f: f.suffix.lower() == SOFA_SUFFIX, f"{SOFA_SUFFIX} file")


def _attr(stream: sofar.SofaStream, name: str) -> str | None:
    """A global or variable attribute as stripped text (None when absent or empty)."""
    try:
        value = getattr(stream, name)
    except (AttributeError, KeyError):
        return None
    text = str(value).strip()
    return text or None


def file_convention(stream: sofar.SofaStream, where: str, declared: str | None = None) -> str:
    """The FOA convention a SOFA file declares, reconciled with ``declared`` (used only when it declares none)."""
    found = {}
    for label, prefix in (("Data.IR attributes", "Data_IR_"), ("global attributes", "GLOBAL_Ambisonics")):
        ordering, norm = _attr(stream, f"{prefix}ChannelOrdering"), _attr(stream, f"{prefix}Normalization")
        if ordering or norm:
            found[label] = convention_from_parts(ordering, norm, f"{where} ({label})")
    if len(set(found.values())) > 1:
        raise ConventionError(f"{where}: conflicting FOA conventions declared: {found}")
    wanted = normalize_convention(declared, "--convention") if declared else None
    if not found:
        return normalize_convention(wanted, f"{where} declares no FOA convention and none was given")
    conv = next(iter(found.values()))
    if wanted is not None and wanted != conv:
        raise ConventionError(f"{where}: the file declares FOA convention {conv!r}, but {wanted!r} was given")
    return conv


def _array(stream: sofar.SofaStream, name: str) -> np.ndarray | None:
    try:
        var = getattr(stream, name)
    except (AttributeError, KeyError):
        return None
    return np.ma.filled(np.ma.asarray(var[:], dtype=np.float64), np.nan)


def _cartesian(stream: sofar.SofaStream, name: str, m: int, default: tuple, type_name: str = "") -> np.ndarray:
    """Variable ``name`` as ``(m, 3)`` cartesian coordinates (spherical: azimuth deg, elevation deg, radius).

    Its ``Type``/``Units`` attributes are read from ``name``, else from ``type_name`` (ListenerUp uses
    ListenerView's), else cartesian."""
    raw = _array(stream, name)
    arr = np.asarray(default, dtype=np.float64) if raw is None else raw
    arr = np.atleast_2d(np.squeeze(arr))
    if arr.shape[-1] != 3 or arr.ndim != 2 or arr.shape[0] not in (1, m):
        raise ValueError(f"{name} has shape {arr.shape}; expected (1, 3) or ({m}, 3)")
    kind = (_attr(stream, f"{name}_Type") or (type_name and _attr(stream, f"{type_name}_Type")) or "cartesian").lower()
    if kind == "spherical":
        units = _attr(stream, f"{name}_Units") or (type_name and _attr(stream, f"{type_name}_Units")) or ""
        if "rad" in units.lower().split(",")[0]:
            arr = np.column_stack([np.degrees(arr[:, 0]), np.degrees(arr[:, 1]), arr[:, 2]])
        arr = unit_vector(arr[:, 0], arr[:, 1]) * arr[:, 2:3]
    elif kind != "cartesian":
        raise ValueError(f"{name}: unsupported coordinate type {kind!r} (cartesian or spherical)")
    return np.broadcast_to(arr, (m, 3))


def listener_frame(view: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Rotation matrices ``(m, 3, 3)`` whose rows are the listener's front, left and up axes."""
    x = view / np.linalg.norm(view, axis=-1, keepdims=True)
    z = up - np.sum(up * x, axis=-1, keepdims=True) * x
    norm = np.linalg.norm(z, axis=-1, keepdims=True)
    if not np.all(np.isfinite(x)) or np.any(norm < 1e-9):
        raise ValueError("ListenerView is zero or parallel to ListenerUp; the listener frame is undefined")
    z = z / norm
    return np.stack([x, np.cross(z, x), z], axis=-2)


def source_vectors(stream: sofar.SofaStream, m: int, sources_relative: bool = False) -> np.ndarray:
    """Source positions relative to the listener, in the listener's frame, ``(m, 3)``.

    ``sources_relative``: SourcePosition already is relative to the listener (as in SpatialScaper's
    conversions of TAU-SRIR DB, which store the microphone's room position in ListenerPosition)."""
    src = _cartesian(stream, "SourcePosition", m, (0.0, 0.0, 0.0))
    lis = np.zeros((m, 3)) if sources_relative else _cartesian(stream, "ListenerPosition", m, (0.0, 0.0, 0.0))
    view = _cartesian(stream, "ListenerView", m, (1.0, 0.0, 0.0))
    up = _cartesian(stream, "ListenerUp", m, (0.0, 0.0, 1.0), type_name="ListenerView")
    return np.einsum("mij,mj->mi", listener_frame(view, up), src - lis)


def _ir_layout(stream: sofar.SofaStream, where: str) -> tuple[int, tuple[int, ...]]:
    """(M, axes that move Data.IR to (M, R, N)); R must be 4 and every other dimension 1."""
    var = stream.Data_IR
    dims = dict(zip(var.dimensions, var.shape, strict=True))
    missing = [d for d in "MRN" if d not in dims]
    if missing:
        raise AudioError(f"{where}: Data.IR has dimensions {var.dimensions}; expected M, R and N")
    if dims["R"] != 4:
        raise RirSkip(
            "channels", f"{where}: Data.IR has {dims['R']} receivers (channels); first-order ambisonics needs 4"
        )
    extra = {d: n for d, n in dims.items() if d not in "MRN" and n != 1}
    if extra:
        raise AudioError(f"{where}: Data.IR has extra dimensions {extra} (several emitters are not supported)")
    order = tuple(var.dimensions.index(d) for d in "MRN")
    return dims["M"], order


def _sample_rate(stream: sofar.SofaStream, where: str) -> int:
    raw = _array(stream, "Data_SamplingRate")
    if raw is None:
        raise AudioError(f"{where}: no Data.SamplingRate")
    rates = np.unique(np.ravel(raw))
    if rates.size != 1 or not np.isfinite(rates[0]) or rates[0] <= 0 or rates[0] != round(rates[0]):
        raise AudioError(f"{where}: Data.SamplingRate {rates.tolist()} is not a single positive integer rate")
    return int(rates[0])


def _check_delay(stream: sofar.SofaStream, where: str) -> None:
    delay = _array(stream, "Data_Delay")
    if delay is not None and np.any(delay != 0):
        raise AudioError(f"{where}: non-zero Data.Delay is not supported")


def _load_sofa(path: Path, order: tuple[int, ...]) -> tuple[list[np.ndarray], int]:
    """All IRs of a SOFA file as ``(N, 4)`` arrays (masked samples become NaN) and the sample rate."""
    with sofar.SofaStream(str(path)) as stream:
        ir = np.ma.filled(np.ma.asarray(stream.Data_IR[:], dtype=np.float64), np.nan)
        rate = _sample_rate(stream, str(path))
    m, r, n = (ir.shape[a] for a in order)
    ir = np.transpose(ir, order + tuple(a for a in range(ir.ndim) if a not in order)).reshape(m, r, n)
    return [ir[i].T for i in range(m)], rate


def plan_sofa_file(
    writer: BankWriter,
    path: Path,
    room: str,
    *,
    convention: str | None = None,
    license: str | None = None,
    attribution: str | None = None,
    sources_relative: bool = False,
) -> Batch | None:
    """Read a SOFA file's metadata and plan its measurements; a malformed file is skipped (None).

    Convention problems are raised: an undeclared or conflicting convention is never skipped silently."""
    where = str(path)
    try:
        with sofar.SofaStream(where) as stream:
            conv = file_convention(stream, where, convention)
            m_count, order = _ir_layout(stream, where)
            rate = _sample_rate(stream, where)
            _check_delay(stream, where)
            vectors = source_vectors(stream, m_count, sources_relative)
            file_license = license or _attr(stream, "GLOBAL_License") or "unknown"
            file_attribution = attribution or _attr(stream, "GLOBAL_Organization") or ""
            sofa_conventions = _attr(stream, "GLOBAL_SOFAConventions") or ""
    except ConventionError:
        raise
    except RirSkip as exc:
        writer.skip(where, exc.reason, str(exc))
        return None
    except AudioError as exc:
        writer.skip(where, "bad_file", str(exc))
        return None
    except (OSError, ValueError, AttributeError, KeyError, IndexError) as exc:
        writer.skip(where, "bad_file", f"{where}: unreadable SOFA file ({exc})")
        return None
    measurements = []
    for i, vector in enumerate(vectors):
        m = measurement_towards(
            writer,
            f"{where}[{i}]",
            vector,
            True,
            rel=f"{room_folder(room)}/m{i:04d}.wav",
            room=room,
            convention=conv,
            license=file_license,
            attribution=file_attribution,
            index=i,
            extra={"format": "sofa", "file": path.name, "measurement": i, "sofa_conventions": sofa_conventions},
        )
        if m is not None:
            measurements.append(m)
    return Batch(where, rate, measurements, lambda: _load_sofa(path, order))


def _import_files(
    files: list[tuple[Path, str]],
    out: str | Path,
    name: str,
    description: str,
    *,
    convention: str | None,
    sample_rate: int,
    resample: bool,
    license: str | None,
    attribution: str | None,
    sources_relative: bool,
    progress: bool,
) -> BuildResult:
    """Plan every (file, room) pair, then import them all into one bank."""
    writer = BankWriter(out, name, "rirs", sample_rate, description=description)
    batches = []
    for path, room in files:
        batch = plan_sofa_file(
            writer,
            path,
            room,
            convention=convention,
            license=license,
            attribution=attribution,
            sources_relative=sources_relative,
        )
        if batch is not None:
            batches.append(batch)
    return import_batches(writer, batches, resample=resample, inputs=[p for p, _ in files], progress=progress)


def import_sofa(
    paths: Iterable[str | Path],
    out: str | Path,
    *,
    convention: str | None = None,
    sample_rate: int = 32000,
    resample: bool = False,
    name: str | None = None,
    license: str | None = None,
    attribution: str | None = None,
    sources_relative: bool = False,
    progress: bool = True,
) -> BuildResult:
    """Import the SOFA files named by ``paths`` (files or folders) into a ``rirs`` bank at ``out``.

    Each file becomes the room (split group) named by its stem, stored as ``<stem>/m0000.wav`` ...; licence
    and attribution default to the file's ``License`` and ``Organization`` attributes."""
    paths = list(paths)
    files = [(f, f.stem) for f in find_sofa_files(paths)]
    return _import_files(
        files,
        out,
        name or (files[0][0].stem if len(files) == 1 else Path(paths[0]).resolve().name),
        f"measured RIRs from {len(files)} SOFA file(s)",
        convention=convention,
        sample_rate=sample_rate,
        resample=resample,
        license=license,
        attribution=attribution,
        sources_relative=sources_relative,
        progress=progress,
    )


def import_dcase2025_rooms(
    dev_set_root: str | Path,
    out: str | Path,
    *,
    split: str = "all",
    convention: str | None = None,
    sample_rate: int = 32000,
    resample: bool = False,
    name: str | None = None,
    sources_relative: bool = False,
    progress: bool = True,
) -> BuildResult:
    """Import ``room_ir/{train,valid}/*.sofa`` of a DCASE 2025 Task 4 ``dev_set`` folder into a ``rirs`` bank.

    Rooms are named ``<split>-<file stem>``, so the two splits never share a room."""
    if split not in (*DCASE_SPLITS, "all"):
        raise ValueError(f"unknown DCASE 2025 Task 4 split {split!r}; choose train, valid or all")
    root = Path(dev_set_root)
    splits = DCASE_SPLITS if split == "all" else (split,)
    missing = [str(root / "room_ir" / s) for s in splits if not (root / "room_ir" / s).is_dir()]
    if missing:
        raise FileNotFoundError(f"{root} is not a DCASE 2025 Task 4 dev_set folder: missing {', '.join(missing)}")
    files = [(f, f"{s}-{f.stem}") for s in splits for f in find_sofa_files([root / "room_ir" / s])]
    return _import_files(
        files,
        out,
        name or ("dcase2025-task4-rooms" if split == "all" else f"dcase2025-task4-rooms-{split}"),
        f"DCASE 2025 Task 4 dev set room impulse responses ({', '.join(splits)}) from {root}",
        convention=convention,
        sample_rate=sample_rate,
        resample=resample,
        license=LICENSE,
        attribution=ATTRIBUTION,
        sources_relative=sources_relative,
        progress=progress,
    )
