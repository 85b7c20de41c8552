"""Build a source bank from candidate clips: load, apply the clip rules, de-duplicate, store FLAC, index.

Every candidate either becomes an index row or a row of ``skipped.jsonl`` with its reason; skips are also
reported on stderr (the first few in full). The build is deterministic: candidates are processed in the
order given (importers sort them), and the result does not depend on the number of workers.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from foabench.synth.audio_io import AudioError, read_audio, sha256_array, sha256_file
from foabench.synth.banks.clip_rules import ClipRejected, ClipRules, condition_clip
from foabench.synth.banks.format import ClipRecord, check_relative_path
from foabench.synth.banks.writer import BankWriter, BuildResult

__all__ = ["BankBuilder", "BuildResult", "ClipSource"]


@dataclass
class ClipSource:
    """A candidate clip: a file on disk (``path``) or audio made by ``loader(*loader_args) -> (wave, sr)``."""

    key: str
    rel_path: str
    labels: list[str]
    caption: str
    license: str
    attribution: str
    split_group: str
    path: str | None = None
    loader: Callable[..., tuple[np.ndarray, int]] | None = None
    loader_args: tuple = ()
    extra: dict = field(default_factory=dict)

    @property
    def origin(self) -> str:
        return self.path if self.path is not None else self.key


@dataclass
class _Prepared:
    clip: object | None  # ConditionedClip
    source_sha256: str | None
    reason: str | None = None
    detail: str | None = None


def _prepare(source: ClipSource, rules: ClipRules) -> _Prepared:
    try:
        if source.path is not None:
            wave, sr = read_audio(source.path)
            source_sha = sha256_file(source.path)
        else:
            assert source.loader is not None, f"{source.key}: neither path nor loader"
            wave, sr = source.loader(*source.loader_args)
            wave = np.asarray(wave, dtype=np.float32)
            if not np.isfinite(wave).all():
                raise AudioError(f"{source.key}: rendered audio holds NaN/Inf samples")
            source_sha = sha256_array(wave)
        return _Prepared(condition_clip(wave, sr, rules), source_sha)
    except AudioError as exc:
        return _Prepared(None, None, "bad_audio", str(exc))
    except ClipRejected as exc:
        return _Prepared(None, None, exc.reason, exc.detail)


def _prepare_all(sources: list[ClipSource], rules: ClipRules, workers: int) -> Iterator[_Prepared]:
    if workers <= 1:
        for s in sources:
            yield _prepare(s, rules)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(_prepare, sources, [rules] * len(sources), chunksize=4)


class BankBuilder:
    """Collects candidate clips and skip reports, then writes a complete bank."""

    def __init__(
        self,
        root: str | Path,
        name: str,
        rules: ClipRules,
        description: str = "",
        source_root: str | Path | None = None,
    ):
        self.root = Path(root)
        self.source_root = Path(source_root) if source_root is not None else None
        self.name = name
        self.rules = rules
        self.writer = BankWriter(root, name, "sources", rules.sample_rate, description)
        self.sources: list[ClipSource] = []

    @property
    def skipped(self) -> list[dict]:
        return self.writer.skipped

    def add(self, source: ClipSource) -> None:
        check_relative_path(source.rel_path)
        self.sources.append(source)

    def extend(self, sources: Iterable[ClipSource]) -> None:
        for s in sources:
            self.add(s)

    def skip(self, origin: str, reason: str, detail: str) -> None:
        """Record (and report) a candidate that is refused, with its reason."""
        self.writer.skip(origin, reason, detail)

    def build(self, workers: int | None = None, progress: bool = True) -> BuildResult:
        """Process every candidate and write audio, index, skip report and header."""
        workers = workers if workers is not None else min(4, os.cpu_count() or 1)
        keys = Counter(s.rel_path for s in self.sources)
        clashes = [k for k, n in keys.items() if n > 1]
        if clashes:
            raise ValueError(f"importer produced the same stored path twice: {clashes[:5]}")
        self.writer.claim((s.path for s in self.sources if s.path is not None), self.source_root)
        records: list[ClipRecord] = []
        seen_source: dict[str, tuple[str, str]] = {}  # hash -> (origin, key) of the first clip
        seen_content: dict[str, tuple[str, str]] = {}
        results = _prepare_all(self.sources, self.rules, workers)
        bar = tqdm(
            zip(self.sources, results, strict=True),
            total=len(self.sources),
            desc=f"bank {self.name}",
            unit="clip",
            disable=not progress,
        )
        for source, prep in bar:
            if prep.clip is None:
                self.skip(source.origin, prep.reason or "rejected", prep.detail or "")
                continue
            clip = prep.clip
            content_sha = sha256_array(clip.wave)
            first = seen_source.get(prep.source_sha256) or seen_content.get(content_sha)
            if first is not None:
                detail = (
                    f"listed again (as {source.key}) after {first[1]}"
                    if first[0] == source.origin
                    else f"same content as {first[0]}"
                )
                self.skip(source.origin, "duplicate", detail)
                continue
            seen_source[prep.source_sha256] = (source.origin, source.key)
            seen_content[content_sha] = (source.origin, source.key)
            rel = source.rel_path + ".flac"
            digest = self.writer.write_audio(rel, clip.wave)
            records.append(
                ClipRecord(
                    path=rel,
                    sha256=digest,
                    sample_rate=clip.sample_rate,
                    original_sample_rate=clip.original_sample_rate,
                    channels=1,
                    original_channels=clip.original_channels,
                    num_frames=int(clip.wave.shape[0]),
                    duration=round(clip.duration_s, 6),
                    labels=list(source.labels),
                    caption=source.caption,
                    license=source.license,
                    attribution=source.attribution,
                    split_group=source.split_group,
                    origin=source.origin,
                    trim_start_s=round(clip.trim_start_s, 6),
                    trim_end_s=round(clip.trim_end_s, 6),
                    gain_db=clip.gain_db,
                    extra=source.extra,
                )
            )
        return self.writer.finish(records, {"rules": self.rules.to_dict()})
