"""Writing a bank directory: claim it, store audio atomically, report skips, resume, and finish with the index.

Every builder (sources, simulated rooms, imported RIRs, noise) writes through :class:`BankWriter`, so all banks
share the same safety rules: a directory that holds anything but an earlier foabench bank is refused, the
header disappears while a build runs (a bank is complete once ``bank.json`` exists again), audio files of an
earlier build that are not in the new index are removed, and work finished before an interruption is reused
from the journal instead of being redone.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from foabench import synth
from foabench.synth.audio_io import sha256_file, write_audio_atomic
from foabench.synth.banks.format import HEADER_NAME, RECORD_TYPES, AnyRecord, check_relative_path, write_bank_files

MAX_PRINTED_SKIPS = 20
BANK_MARKER = ".foabench-bank"
JOURNAL_NAME = ".journal.jsonl"
AUDIO_SUFFIXES = (".flac", ".wav", ".npz")  # the files a bank owns (meshes are .npz)


@dataclass
class BuildResult:
    root: Path
    records: list[AnyRecord]
    skipped: list[dict]


class BankWriter:
    """Owns one bank directory during a build."""

    def __init__(self, root: str | Path, name: str, kind: str, sample_rate: int, description: str = ""):
        if kind not in RECORD_TYPES:
            raise ValueError(f"unknown bank kind {kind!r}")
        self.root = Path(root)
        self.name = name
        self.kind = kind
        self.sample_rate = int(sample_rate)
        self.description = description
        self.skipped: list[dict] = []
        self._journal: dict[str, dict] = {}

    # -- set-up -----------------------------------------------------------------------------------------
    def claim(self, inputs: Iterable[str | Path] = (), source_root: str | Path | None = None) -> None:
        """Create the bank directory, refusing one that holds anything but an earlier foabench bank, or one
        that lies inside ``source_root`` or contains any of ``inputs``."""
        root = self.root.resolve()
        if source_root is not None and root.is_relative_to(Path(source_root).resolve()):
            raise ValueError(
                f"output bank {root} lies inside the folder being imported ({source_root}); choose an --out outside it"
            )
        for p in inputs:
            if Path(p).resolve().is_relative_to(root):
                raise ValueError(f"output bank {root} contains the input {p}; choose another --out")
        if root.exists() and any(root.iterdir()) and not (root / BANK_MARKER).exists():
            raise ValueError(f"refusing to write a bank into {root}: it is not empty and not a foabench bank")
        root.mkdir(parents=True, exist_ok=True)
        (root / BANK_MARKER).write_text("foabench bank\n")
        (root / HEADER_NAME).unlink(missing_ok=True)  # the bank is incomplete until the header returns
        self._journal = self._read_journal()

    # -- reporting --------------------------------------------------------------------------------------
    def skip(self, origin: str, reason: str, detail: str) -> None:
        """Record (and report on stderr) a candidate that is refused, with its reason."""
        entry = {"origin": origin, "reason": reason, "detail": detail}
        self.skipped.append(entry)
        n = len(self.skipped)
        if n <= MAX_PRINTED_SKIPS:
            tqdm.write(f"[skip] {origin}: {reason}: {detail}", file=sys.stderr)
        elif n == MAX_PRINTED_SKIPS + 1:
            tqdm.write(f"[skip] ... more skips listed in {self.root / 'skipped.jsonl'}", file=sys.stderr)

    # -- audio ------------------------------------------------------------------------------------------
    def write_audio(self, rel: str, wave: np.ndarray, subtype: str = "PCM_24") -> str:
        """Store ``wave`` (frames[, channels]) at bank-relative ``rel`` atomically; return the file's sha256.

        Integer subtypes refuse samples at or beyond full scale rather than clipping them silently."""
        check_relative_path(rel)
        if subtype.startswith("PCM"):
            peak = float(np.max(np.abs(wave))) if wave.size else 0.0
            if peak >= 1.0:
                raise ValueError(f"{rel}: peak {peak:.3f} would clip in {subtype}; scale it first")
        out = self.root / rel
        write_audio_atomic(out, wave, self.sample_rate, subtype=subtype)
        return sha256_file(out)

    # -- resume -----------------------------------------------------------------------------------------
    def _read_journal(self) -> dict[str, dict]:
        path = self.root / JOURNAL_NAME
        entries: dict[str, dict] = {}
        if not path.is_file():
            return entries
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
                entries[entry["key"]] = entry
            except (json.JSONDecodeError, KeyError, TypeError):
                continue  # a line torn by an interruption: that item is simply redone
        return entries

    def reuse(self, key: str, params: str) -> AnyRecord | None:
        """The record finished by an interrupted earlier build for ``key`` with the same ``params``, if its file
        is still intact; otherwise None (and the item must be made again)."""
        entry = self._journal.get(key)
        if entry is None or entry.get("params") != params:
            return None
        try:
            record = RECORD_TYPES[self.kind].from_dict(entry["record"])
            path = self.root / record.path
        except (ValueError, KeyError, TypeError):
            return None
        if not path.is_file() or sha256_file(path) != record.sha256:
            return None
        return record

    def journal(self, key: str, params: str, record: AnyRecord) -> None:
        """Note a finished item so that an interrupted build can reuse it."""
        line = json.dumps({"key": key, "params": params, "record": json.loads(record.to_json())}, sort_keys=True)
        with open(self.root / JOURNAL_NAME, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    # -- finish -----------------------------------------------------------------------------------------
    def finish(self, records: list[AnyRecord], header_extra: dict | None = None) -> BuildResult:
        """Remove stale audio, write index, skip report and header; drop the journal."""
        keep = {r.path for r in records}
        for path in sorted(p for p in self.root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES):
            if path.relative_to(self.root).as_posix() not in keep:
                path.unlink()
        header = {
            "name": self.name,
            "kind": self.kind,
            "sample_rate": self.sample_rate,
            "description": self.description,
            "generator": f"foabench {synth.__version__}",
            "skipped": dict(sorted(Counter(s["reason"] for s in self.skipped).items())),
            **(header_extra or {}),
        }
        write_bank_files(self.root, header, records, self.skipped)
        (self.root / JOURNAL_NAME).unlink(missing_ok=True)
        return BuildResult(self.root, records, self.skipped)
