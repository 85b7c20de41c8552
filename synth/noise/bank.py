"""Noise banks (kind ``noise``): non-directional 4-channel AmbiX backgrounds, one :class:`NoiseRecord` each.

Two kinds of candidate:

* ``diffuse``: a mono recording (stereo or multichannel ones are averaged to mono) passes the clip rules
  (:class:`foabench.synth.banks.clip_rules.ClipRules` with downmix, and a trim threshold of ``NOISE_TRIM_DB`` so that
  only digital silence is cut from the ends, never quiet ambience) and is encoded as a diffuse field by
  :func:`foabench.synth.noise.diffuse.encode_diffuse` with a per-clip seed (:func:`clip_seed`, from the bank seed and
  the clip's key).
* ``measured``: a 4-channel FOA recording in a *declared* convention is converted once to AmbiX, resampled
  when its rate differs and stored otherwise untouched (no trimming).

Both are scaled down, only when needed, so that the peak is at most ``peak_ceiling`` (0.5; ``gain_db``
records it), and stored as 24-bit FLAC. Unreadable, truncated, non-finite, clipped, silent, too short, and
(measured) non-4-channel files are skipped with their reason. Finished clips are journalled, so an interrupted
build resumes without redoing them. Each clip is its own split group unless the label CSV says otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from foabench.synth.audio_io import AudioError, read_audio, sha256_file
from foabench.synth.banks.clip_rules import (
    ClipRejected,
    ClipRules,
    active_span,
    condition_clip,
    longest_clipped_run,
    peak_guard,
)
from foabench.synth.banks.format import AnyRecord, Bank, NoiseRecord, check_relative_path
from foabench.synth.banks.importers.generic import labelled_files
from foabench.synth.banks.summary import format_summary
from foabench.synth.banks.writer import BankWriter, BuildResult
from foabench.synth.foa import check_foa, normalize_convention, to_ambix
from foabench.synth.noise.diffuse import CROSSFADE_S, diffuseness, encode_diffuse
from foabench.synth.resample import resample

NOISE_TRIM_DB = 100.0  # trim only (near-)digital silence from the ends; ambience is never cut
PEAK_CEILING = 0.5


@dataclass(frozen=True)
class NoiseSettings:
    """Build parameters of a noise bank; recorded in its header."""

    sample_rate: int = 32000
    min_duration_s: float = 1.0
    seed: int = 0
    peak_ceiling: float = PEAK_CEILING
    crossfade_s: float = CROSSFADE_S

    def rules(self) -> ClipRules:
        """The clip rules applied to mono recordings before diffuse encoding."""
        return ClipRules(
            sample_rate=self.sample_rate, downmix=True, trim_db=NOISE_TRIM_DB, min_duration_s=self.min_duration_s
        )

    def to_dict(self) -> dict:
        return {**asdict(self), "trim_db": NOISE_TRIM_DB}


@dataclass
class NoiseSource:
    """A candidate file. ``convention`` set: measured 4-channel FOA in that convention; None: a recording to
    encode as a diffuse field."""

    key: str
    path: str
    rel_path: str  # stored bank path without suffix
    labels: list[str]
    caption: str
    license: str
    attribution: str
    split_group: str
    convention: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def method(self) -> str:
        return "diffuse" if self.convention is None else "measured"


def clip_seed(bank_seed: int, key: str) -> int:
    """The diffuse-encoding seed of one clip: 32 bits of sha256(bank seed, clip key), stable across runs."""
    digest = hashlib.sha256(f"foabench-noise\0{bank_seed}\0{key}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


@dataclass
class _Rendered:
    wave: np.ndarray | None = None
    original_sample_rate: int = 0
    original_channels: int = 0
    gain_db: float = 0.0
    extra: dict = field(default_factory=dict)
    reason: str = ""
    detail: str = ""


def _diffuse(wave: np.ndarray, sr: int, source: NoiseSource, settings: NoiseSettings) -> _Rendered:
    clip = condition_clip(wave, sr, settings.rules())
    foa = encode_diffuse(
        clip.wave,
        clip_seed(settings.seed, source.key),
        sample_rate=settings.sample_rate,
        crossfade_s=settings.crossfade_s,
        min_duration_s=settings.min_duration_s,
    )
    extra = {"trim_start_s": round(clip.trim_start_s, 6), "trim_end_s": round(clip.trim_end_s, 6)}
    return _Rendered(foa, sr, clip.original_channels, clip.gain_db, extra)


def _measured(wave: np.ndarray, sr: int, source: NoiseSource, settings: NoiseSettings) -> _Rendered:
    channels = wave.shape[1]
    if channels != 4:
        raise ClipRejected(
            "not_foa",
            f"{channels} channel(s); measured ambience must be first-order ambisonics with exactly 4 channels "
            "(mono or stereo recordings go through `foabench bank noise`)",
        )
    rules = settings.rules()
    run = longest_clipped_run(wave, rules.clip_level)
    if run >= rules.clip_run:
        raise ClipRejected("clipped", f"{run} consecutive samples at >= {rules.clip_level} of full scale")
    foa = to_ambix(wave, str(source.convention))
    active_span(foa[:, 0], sr, rules)  # raises ClipRejected("silent") for a silent W channel
    duration = wave.shape[0] / sr
    if duration < settings.min_duration_s:
        raise ClipRejected("too_short", f"{duration:.3f} s (< {settings.min_duration_s} s)")
    return _Rendered(resample(foa, sr, settings.sample_rate), sr, channels)


def _render(source: NoiseSource, settings: NoiseSettings) -> _Rendered:
    """Read, check and encode one candidate (runs in a worker process); failures become a skip reason."""
    try:
        wave, sr = read_audio(source.path)
        make = _diffuse if source.convention is None else _measured
        out = make(wave, sr, source, settings)
        foa, guard_db = peak_guard(check_foa(out.wave, source.path), settings.peak_ceiling)
        out.wave, out.gain_db = foa, round(out.gain_db + guard_db, 4)
        out.extra["diffuseness"] = diffuseness(foa)
        return out
    except AudioError as exc:
        return _Rendered(reason="bad_audio", detail=str(exc))
    except ClipRejected as exc:
        return _Rendered(reason=exc.reason, detail=exc.detail)


def _render_all(sources: list[NoiseSource], settings: NoiseSettings, workers: int) -> Iterator[_Rendered]:
    if workers <= 1 or len(sources) <= 1:
        for s in sources:
            yield _render(s, settings)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(_render, sources, [settings] * len(sources))


class NoiseBankBuilder:
    """Collects noise candidates, then writes (or resumes) a complete noise bank."""

    def __init__(
        self,
        root: str | Path,
        name: str,
        settings: NoiseSettings | None = None,
        description: str = "",
        source_root: str | Path | None = None,
    ):
        self.settings = settings or NoiseSettings()
        self.source_root = source_root
        self.name = name
        self.writer = BankWriter(root, name, "noise", self.settings.sample_rate, description)
        self.sources: list[NoiseSource] = []

    @property
    def skipped(self) -> list[dict]:
        return self.writer.skipped

    def skip(self, origin: str, reason: str, detail: str) -> None:
        """Record (and report) a candidate that is refused, with its reason."""
        self.writer.skip(origin, reason, detail)

    def add(self, source: NoiseSource) -> None:
        """Queue a candidate; a measured one's convention is normalised (unknown: ConventionError naming the file)."""
        check_relative_path(source.rel_path)
        if source.convention is not None:
            source.convention = normalize_convention(source.convention, source.path)
        self.sources.append(source)

    def _params(self, source: NoiseSource, source_sha: str) -> str:
        """Everything the stored clip and its record depend on, for the resume journal."""
        return json.dumps(
            {"source": asdict(source), "settings": self.settings.to_dict(), "sha256": source_sha}, sort_keys=True
        )

    def _record(self, source: NoiseSource, rendered: _Rendered, frames: int, rel: str, digest: str) -> NoiseRecord:
        measured = source.convention is not None
        extra = dict(source.extra)
        extra.update(rendered.extra)
        return NoiseRecord(
            path=rel,
            sha256=digest,
            sample_rate=self.settings.sample_rate,
            original_sample_rate=rendered.original_sample_rate,
            channels=4,
            original_channels=rendered.original_channels,
            num_frames=frames,
            duration=round(frames / self.settings.sample_rate, 6),
            labels=list(source.labels),
            caption=source.caption,
            license=source.license,
            attribution=source.attribution,
            split_group=source.split_group,
            origin=source.path,
            method=source.method,
            source_convention=str(source.convention) if measured else "ambix",
            seed=None if measured else clip_seed(self.settings.seed, source.key),
            gain_db=rendered.gain_db,
            extra=extra,
        )

    def build(self, workers: int | None = None, progress: bool = True) -> BuildResult:
        """Encode or convert every candidate (reusing journalled work) and write audio, index and header."""
        workers = workers if workers is not None else min(4, os.cpu_count() or 1)
        clashes = [k for k, n in Counter(s.rel_path for s in self.sources).items() if n > 1]
        if clashes:
            raise ValueError(f"the same stored path was produced twice: {clashes[:5]}")
        self.writer.claim((s.path for s in self.sources), self.source_root)
        plan: list[tuple[NoiseSource, str, AnyRecord | None]] = []
        seen: dict[str, str] = {}  # source sha256 -> origin of its first clip
        for source in self.sources:
            try:
                source_sha = sha256_file(source.path)
            except OSError as exc:
                self.skip(source.path, "bad_audio", f"{source.path}: unreadable ({exc})")
                continue
            if source_sha in seen:
                self.skip(source.path, "duplicate", f"same content as {seen[source_sha]}")
                continue
            seen[source_sha] = source.path
            params = self._params(source, source_sha)
            reused = self.writer.reuse(source.key, params)
            plan.append((source, params, reused))
        todo = [source for source, _, reused in plan if reused is None]
        rendered = _render_all(todo, self.settings, workers)
        records: list[AnyRecord] = []
        bar = tqdm(plan, desc=f"noise bank {self.name}", unit="clip", disable=not progress)
        for source, params, reused in bar:
            if reused is not None:
                records.append(reused)
                continue
            out = next(rendered)
            if out.wave is None:
                self.skip(source.path, out.reason, out.detail)
                continue
            rel = source.rel_path + ".flac"
            record = self._record(source, out, out.wave.shape[0], rel, self.writer.write_audio(rel, out.wave))
            self.writer.journal(source.key, params, record)
            records.append(record)
        return self.writer.finish(records, {"settings": self.settings.to_dict()})


def import_noise_folder(
    folder: str | Path,
    labels_csv: str | Path,
    out: str | Path,
    *,
    measured: bool = False,
    convention: str | None = None,
    name: str | None = None,
    settings: NoiseSettings | None = None,
    default_license: str = "unknown",
    default_attribution: str = "",
    workers: int | None = None,
    progress: bool = True,
) -> BuildResult:
    """Build a noise bank from the labelled files of ``folder`` (label CSV as for ``foabench bank index``).

    ``measured=False``: recordings encoded as diffuse fields. ``measured=True``: 4-channel FOA ambience in the
    convention of the CSV's ``convention`` column, else ``convention``; a file with neither is a
    ConventionError naming it."""
    folder = Path(folder)
    kind = "measured FOA ambience" if measured else "recordings encoded as diffuse fields"
    builder = NoiseBankBuilder(
        out,
        name or folder.name,
        settings,
        description=f"noise: {kind}, imported from {folder} with labels {labels_csv}",
        source_root=folder,
    )
    for f in labelled_files(
        folder, Path(labels_csv), builder, default_license=default_license, default_attribution=default_attribution
    ):
        declared = None
        if measured:  # the CSV's column wins over --convention; neither is an error naming the file
            declared = normalize_convention((f.row.get("convention") or "").strip() or convention, str(f.path))
        builder.add(
            NoiseSource(
                key=f.rel,
                path=str(f.path),
                rel_path=f.stem,
                labels=f.labels,
                caption=f.caption,
                license=f.license,
                attribution=f.attribution,
                split_group=f.group,
                convention=declared,
            )
        )
    return builder.build(workers=workers, progress=progress)


def format_noise_summary(bank: Bank) -> str:
    """The per-label summary of a noise bank plus how its clips were made (diffuse / measured)."""
    if bank.kind != "noise":
        raise ValueError(f"{bank.root}: a {bank.kind!r} bank, not a noise bank")
    lines = format_summary(bank).splitlines()
    noise = [r for r in bank.records if isinstance(r, NoiseRecord)]
    methods = Counter(r.method for r in noise)
    conventions = Counter(r.source_convention for r in noise)
    lines.insert(
        -1,
        "methods: "
        + ", ".join(f"{k} ({v})" for k, v in sorted(methods.items()))
        + "; source conventions: "
        + ", ".join(f"{k} ({v})" for k, v in sorted(conventions.items())),
    )
    return "\n".join(lines)
