"""What every measured-RIR importer shares: plan measurements, check rates, convert to AmbiX once, store, index.

An importer first *plans*: it reads metadata only (positions, declared conventions, sample rates) and turns
each source file, or each part of one, into a :class:`Batch` of :class:`Measurement` rows. Configuration
errors (an undeclared or conflicting FOA convention, a sample rate that differs from the bank's without
``resample``) are raised then, before the output folder is touched. :func:`import_batches` then loads one
batch at a time, validates each measurement with :func:`foabench.synth.foa.check_foa`, converts it to AmbiX,
resamples it if asked (soxr, per channel), stores it as 32-bit float WAV at ``<room>/...``, measures it with
:func:`foabench.synth.rooms.acoustics.analyse_rir` and indexes it as a :class:`~foabench.synth.banks.format.RirRecord`.
A measurement that fails is recorded as a skip and the import goes on; an import that stores nothing is an error. As a
check on conventions, axes and positions, every record notes how far its recorded direction is from the
pseudo-intensity direction of its direct path, and a large median difference is reported on stderr.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from foabench.synth import foa
from foabench.synth.audio_io import AudioError
from foabench.synth.banks.format import RirRecord
from foabench.synth.banks.writer import BankWriter, BuildResult
from foabench.synth.resample import resample as resample_wave
from foabench.synth.rooms.acoustics import analyse_rir

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
UNIT_NORM_TOLERANCE = 1e-3
MAX_LISTED_SKIPS = 5
DIRECT_DOA_HALF_WINDOW_S = 0.001
DOA_WARNING_DEG = 20.0


@dataclass(frozen=True)
class Measurement:
    """One RIR to import: where it comes from, where it goes, its convention and its direction."""

    origin: str  # the file (and measurement within it) named in records, skips and errors
    rel: str  # bank-relative path of the stored WAV, under <room>/
    room: str  # split group
    convention: str  # canonical name of the convention the stored data is in
    azimuth: float
    elevation: float
    distance: float | None
    license: str
    attribution: str
    index: int = 0  # position of this measurement in what its batch's loader returns
    extra: dict = field(default_factory=dict)


@dataclass
class Batch:
    """Measurements read together: ``load()`` returns their arrays (each ``(frames, channels)``) and the rate.

    ``sample_rate`` is the rate known while planning (None when it is only known once loaded)."""

    origin: str
    sample_rate: int | None
    measurements: list[Measurement]
    load: Callable[[], tuple[Sequence[np.ndarray], int]]


class RirSkip(AudioError):
    """A measurement or file refused with a specific skip reason (e.g. ``channels``)."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


def find_input_files(paths: Iterable[str | Path], matches: Callable[[Path], bool], what: str) -> list[Path]:
    """Files named by ``paths``: files as given, folders searched recursively for files that ``matches``;
    sorted, without repeats. A missing path, or finding nothing, is a FileNotFoundError naming ``what``."""
    paths = list(paths)
    found: set[Path] = set()
    for p in map(Path, paths):
        if p.is_dir():
            found.update(f for f in p.rglob("*") if f.is_file() and matches(f))
        elif p.is_file():
            found.add(p)
        else:
            raise FileNotFoundError(f"{p}: no such {what} or folder")
    if not found:
        raise FileNotFoundError(f"no {what}s in {', '.join(map(str, paths))}")
    return sorted(found, key=lambda f: f.as_posix())


def room_folder(room: str) -> str:
    """A file-system-safe folder name for a room ('Room A/1' -> 'Room_A_1'); an empty result is an error."""
    name = _UNSAFE.sub("_", str(room).strip()).strip("._")
    if not name:
        raise ValueError(f"room name {room!r} gives no usable folder name")
    return name


def source_direction(vector: Sequence[float] | np.ndarray, has_distance: bool) -> tuple[float, float, float | None]:
    """Azimuth, elevation (degrees, foabench convention) and distance (m, or None) of a source vector.

    ``has_distance`` says whether ``vector`` is a position relative to the microphone (its length is the
    distance) or only a direction. A zero or non-finite vector is a ValueError."""
    v = np.asarray(vector, dtype=np.float64)
    if v.shape != (3,) or not np.isfinite(v).all():
        raise ValueError(f"source vector {v.tolist()} is not three finite numbers")
    az, el, r = foa.direction_of(v)
    return round(float(az), 6), round(float(el), 6), (round(float(r), 6) if has_distance else None)


def measurement_towards(
    writer: BankWriter, origin: str, vector: Sequence[float] | np.ndarray, has_distance: bool, **fields
) -> Measurement | None:
    """A :class:`Measurement` whose direction comes from a source ``vector`` (see :func:`source_direction`);
    a vector without a direction is recorded as a ``bad_direction`` skip and gives None."""
    try:
        az, el, dist = source_direction(vector, has_distance)
    except ValueError as exc:
        writer.skip(origin, "bad_direction", f"{origin}: {exc}")
        return None
    return Measurement(origin=origin, azimuth=az, elevation=el, distance=dist, **fields)


def is_unit_length(vectors: np.ndarray) -> np.ndarray:
    """True where a vector ``(..., 3)`` has unit length (a direction rather than a position)."""
    return np.abs(np.linalg.norm(np.asarray(vectors, dtype=np.float64), axis=-1) - 1.0) <= UNIT_NORM_TOLERANCE


def check_sample_rates(batches: Iterable[Batch], bank_rate: int, resample: bool) -> None:
    """Refuse batches whose known rate differs from the bank's unless ``resample`` is set."""
    if resample:
        return
    wrong = [b for b in batches if b.sample_rate is not None and int(b.sample_rate) != bank_rate]
    if wrong:
        more = f" (and {len(wrong) - 1} more file(s))" if len(wrong) > 1 else ""
        raise ValueError(_rate_message(wrong[0].origin, int(wrong[0].sample_rate), bank_rate) + more)


def _rate_message(origin: str, rate: int, bank_rate: int) -> str:
    return (
        f"{origin}: sample rate {rate} Hz differs from the bank's {bank_rate} Hz; pass --resample "
        f"(resample=True) to convert it with soxr, or build the bank with --sample-rate {rate}"
    )


def direct_doa_error(
    ambix: np.ndarray, direct: int, sample_rate: int, azimuth: float, elevation: float
) -> float | None:
    """Angle (deg) between the recorded direction and the pseudo-intensity direction of the direct path
    (+/- 1 ms around ``direct``); None when the intensity vanishes."""
    half = max(1, round(DIRECT_DOA_HALF_WINDOW_S * sample_rate))
    try:
        az, el = foa.intensity_direction(ambix[max(0, direct - half) : direct + half + 1])
    except ValueError:
        return None
    return round(foa.angular_distance(azimuth, elevation, az, el), 3)


def _store(writer: BankWriter, m: Measurement, wave: np.ndarray, rate: int, resample: bool) -> RirRecord:
    """Validate, convert, resample, write and measure one RIR."""
    wave = np.asarray(wave)
    if wave.ndim != 2 or wave.shape[1] != 4:
        raise RirSkip("channels", f"{m.origin}: expected 4 first-order ambisonic channels, got shape {wave.shape}")
    ambix = foa.to_ambix(foa.check_foa(wave, m.origin), m.convention)
    if rate != writer.sample_rate:
        if not resample:
            raise ValueError(_rate_message(m.origin, rate, writer.sample_rate))
        ambix = np.stack([resample_wave(ambix[:, c], rate, writer.sample_rate) for c in range(4)], axis=1)
        ambix = foa.check_foa(ambix, f"{m.origin} (resampled)")
    sha = writer.write_audio(m.rel, ambix, subtype="FLOAT")
    figures = analyse_rir(ambix, writer.sample_rate)
    direct = int(figures["direct_sample"])
    doa_error = direct_doa_error(ambix, direct, writer.sample_rate, m.azimuth, m.elevation)
    frames = int(ambix.shape[0])
    return RirRecord(
        path=m.rel,
        sha256=sha,
        sample_rate=writer.sample_rate,
        original_sample_rate=int(rate),
        channels=4,
        num_frames=frames,
        duration=round(frames / writer.sample_rate, 6),
        room=m.room,
        origin=m.origin,
        license=m.license,
        attribution=m.attribution,
        source_convention=m.convention,
        azimuth=m.azimuth,
        elevation=m.elevation,
        distance=m.distance,
        direct_sample=direct,
        drr_db=float(figures["drr_db"]),
        rt60_measured=figures["rt60_measured"],
        rt60_bands=figures["rt60_bands"],
        simulated=False,
        extra={**m.extra, "direct_doa_error_deg": doa_error},
    )


def _without_clashes(writer: BankWriter, batches: Sequence[Batch]) -> list[Batch]:
    """The batches with every measurement whose stored path repeats an earlier one skipped as ``name_clash``."""
    seen: dict[str, str] = {}
    out = []
    for batch in batches:
        kept = []
        for m in batch.measurements:
            if m.rel in seen:
                writer.skip(m.origin, "name_clash", f"stored path {m.rel} is already taken by {seen[m.rel]}")
                continue
            seen[m.rel] = m.origin
            kept.append(m)
        if kept:
            out.append(replace(batch, measurements=kept))
    return out


def _check_directions(records: list[RirRecord]) -> float | None:
    """Median direct-path direction error; warns on stderr when it is large (wrong convention, axes, positions)."""
    errors = [r.extra["direct_doa_error_deg"] for r in records if r.extra.get("direct_doa_error_deg") is not None]
    if not errors:
        return None
    median = round(float(np.median(errors)), 3)
    if median > DOA_WARNING_DEG:
        tqdm.write(
            f"[warning] the recorded source directions differ from the RIRs' direct-path intensity directions by "
            f"{median:.1f} deg (median): check the declared FOA convention, the axes, and whether source positions "
            "are relative to the microphone",
            file=sys.stderr,
        )
    return median


def import_batches(
    writer: BankWriter,
    batches: Sequence[Batch],
    *,
    resample: bool = False,
    inputs: Iterable[str | Path] = (),
    source_root: str | Path | None = None,
    progress: bool = True,
) -> BuildResult:
    """Store every measurement of ``batches`` (in order) into the bank of ``writer`` and finish it.

    Sample rates are checked before the output folder is claimed; measurements whose stored path repeats an
    earlier one are skipped as ``name_clash``; a batch that cannot be loaded is skipped once as ``bad_file``;
    a measurement with the wrong channel count as ``channels``; NaN/Inf, empty or all-zero audio as
    ``bad_audio``. Each record's ``extra["direct_doa_error_deg"]`` compares its recorded direction with the
    direct-path intensity of the stored RIR. Raises ValueError when nothing could be imported."""
    check_sample_rates(batches, writer.sample_rate, resample)
    batches = _without_clashes(writer, batches)
    total = sum(len(b.measurements) for b in batches)
    if total == 0:
        raise ValueError(f"no RIR to import into {writer.root}; {_listed_skips(writer)}")
    writer.claim(inputs, source_root)
    records: list[RirRecord] = []
    with tqdm(total=total, desc=f"importing RIRs into {writer.name}", unit="rir", disable=not progress) as bar:
        for batch in batches:
            try:
                waves, rate = batch.load()
            except (AudioError, OSError, KeyError, ValueError) as exc:
                writer.skip(batch.origin, "bad_file", f"{exc} ({len(batch.measurements)} measurement(s))")
                bar.update(len(batch.measurements))
                continue
            for m in batch.measurements:
                try:
                    records.append(_store(writer, m, waves[m.index], int(rate), resample))
                except RirSkip as exc:
                    writer.skip(m.origin, exc.reason, str(exc))
                except AudioError as exc:
                    writer.skip(m.origin, "bad_audio", str(exc))
                bar.update(1)
    if not records:
        raise ValueError(f"no RIR imported into {writer.root}; {_listed_skips(writer)}")
    conventions = Counter(r.source_convention for r in records)
    header = {
        "source_conventions": dict(sorted(conventions.items())),
        "median_direct_doa_error_deg": _check_directions(records),
    }
    return writer.finish(records, header_extra=header)


def _listed_skips(writer: BankWriter) -> str:
    listed = "; ".join(f"{s['origin']}: {s['reason']}: {s['detail']}" for s in writer.skipped[:MAX_LISTED_SKIPS])
    return f"{len(writer.skipped)} skipped" + (f": {listed}" if listed else "")
