"""A bank on disk: a directory of audio plus ``bank.json`` (header) and ``index.jsonl`` (one row per file).

Four kinds share the format and differ in their rows: ``sources`` (dry mono clips, :class:`ClipRecord`),
``rirs`` (4-channel AmbiX room impulse responses, :class:`RirRecord`), ``noise`` (4-channel AmbiX
backgrounds, :class:`NoiseRecord`) and ``meshes`` (3D shapes of sound sources for point-cloud queries,
:class:`MeshRecord`; a mesh bank has no sample rate and records 0). Paths in the index are relative to the
bank root; an absolute path or one that leaves the root is rejected. The bank fingerprint is the sha256 over
the sorted (path, sha256) pairs, so it changes whenever any file does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path, PurePosixPath

from foabench.synth.audio_io import atomic_write_text, sha256_file
from foabench.synth.schema_version import check_schema_version

BANK_SCHEMA_VERSION = 1
HEADER_NAME = "bank.json"
INDEX_NAME = "index.jsonl"
REPORT_NAME = "skipped.jsonl"


class BankError(ValueError):
    """A bank that cannot be used as it is (missing, malformed, from the future, or tampered with)."""


class _Record:
    """JSON round trip shared by the record types; fields with defaults may be absent from a row."""

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, row: dict):
        required = {f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING}
        missing = required - set(row)
        if missing:
            raise BankError(f"index row for {row.get('path', '?')!r} lacks {sorted(missing)}")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in row.items() if k in known})


@dataclass
class ClipRecord(_Record):
    """One clip of a source bank."""

    path: str
    sha256: str
    sample_rate: int
    original_sample_rate: int
    channels: int
    original_channels: int
    num_frames: int
    duration: float
    labels: list[str]
    caption: str
    license: str
    attribution: str
    split_group: str
    origin: str
    trim_start_s: float = 0.0
    trim_end_s: float = 0.0
    gain_db: float = 0.0
    extra: dict = field(default_factory=dict)


@dataclass
class RirRecord(_Record):
    """One 4-channel AmbiX room impulse response (simulated or measured) from a source to the microphone.

    ``room`` is the split unit: RIRs of one room never land in different splits. Directions are relative to
    the microphone in foabench coordinates. Simulated RIRs also carry the room geometry, absorption, the
    requested RT60 and the seed that re-creates them.
    """

    path: str
    sha256: str
    sample_rate: int
    original_sample_rate: int
    channels: int
    num_frames: int
    duration: float
    room: str
    origin: str
    license: str
    attribution: str
    source_convention: str
    azimuth: float
    elevation: float
    distance: float | None
    direct_sample: int
    drr_db: float
    rt60_measured: float | None
    rt60_bands: dict = field(default_factory=dict)
    simulated: bool = False
    room_dim: list[float] | None = None
    absorption: dict | None = None
    rt60_spec: float | None = None
    source_position: list[float] | None = None
    mic_position: list[float] | None = None
    seed: int | None = None
    extra: dict = field(default_factory=dict)

    @property
    def split_group(self) -> str:
        return self.room

    @property
    def labels(self) -> list[str]:
        return []


@dataclass
class NoiseRecord(_Record):
    """One 4-channel AmbiX background: a mono recording encoded as a diffuse field, or measured ambience."""

    path: str
    sha256: str
    sample_rate: int
    original_sample_rate: int
    channels: int
    original_channels: int
    num_frames: int
    duration: float
    labels: list[str]
    caption: str
    license: str
    attribution: str
    split_group: str
    origin: str
    method: str  # "diffuse" (encoded here from mono) or "measured" (imported 4-channel ambience)
    source_convention: str
    seed: int | None = None
    gain_db: float = 0.0
    extra: dict = field(default_factory=dict)


@dataclass
class MeshRecord(_Record):
    """One triangle mesh (``.npz``: ``vertices`` (V, 3) float32 metres, ``faces`` (F, 3) int32) in foabench's object
    frame (x forward out of its front, y left, z up; footprint centred, base at z = 0).

    ``classes`` maps each class it stands for to the kind of match (object, similar, player; see
    :mod:`foabench.synth.meshes.table`); ``anchor`` is the height share that sits at the sound source; the
    ``split_group`` is the asset itself, so a mesh lands in one split, stratified by ``pool``."""

    path: str
    sha256: str
    name: str
    pool: str
    classes: dict
    anchor: float
    size_m: list[float]  # forward (depth), left (width), up (height)
    num_vertices: int
    num_faces: int
    license: str
    attribution: str
    split_group: str
    origin: str
    extra: dict = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        return sorted(self.classes)


RECORD_TYPES: dict[str, type[_Record]] = {
    "sources": ClipRecord, "rirs": RirRecord, "noise": NoiseRecord, "meshes": MeshRecord,
}  # fmt: skip
AnyRecord = ClipRecord | RirRecord | NoiseRecord | MeshRecord


def check_relative_path(rel: str) -> PurePosixPath:
    """Validate a bank-relative POSIX path: not absolute, no '..', no backslashes or empty parts."""
    p = PurePosixPath(rel)
    if not rel or p.is_absolute() or "\\" in rel or rel.startswith("~"):
        raise BankError(f"path {rel!r} is absolute or malformed; bank paths are relative to the bank root")
    if any(part in ("..", "") for part in rel.split("/")):
        raise BankError(f"path {rel!r} leaves its bank root")
    return p


def fingerprint(records: Iterable[AnyRecord]) -> str:
    """sha256 over the sorted (path, sha256) pairs of a bank."""
    h = hashlib.sha256()
    for path, digest in sorted((r.path, r.sha256) for r in records):
        h.update(f"{path}\t{digest}\n".encode())
    return h.hexdigest()


@dataclass
class Bank:
    """An opened bank: its root, header and clip records."""

    root: Path
    header: dict
    records: list[AnyRecord]

    @property
    def name(self) -> str:
        return self.header["name"]

    @property
    def kind(self) -> str:
        return self.header.get("kind", "sources")

    @property
    def sample_rate(self) -> int:
        return int(self.header["sample_rate"])

    @property
    def fingerprint(self) -> str:
        return self.header["fingerprint"]

    def resolve(self, rel: str) -> Path:
        """Absolute path of a bank-relative path, refusing anything that escapes the root."""
        check_relative_path(rel)
        root = self.root.resolve()
        target = (root / rel).resolve()
        if not target.is_relative_to(root):
            raise BankError(f"path {rel!r} resolves outside bank root {root}")
        return target

    def classes(self) -> list[str]:
        return sorted({label for r in self.records for label in r.labels})

    def verify(self) -> list[str]:
        """Re-hash every file; return one message per missing or changed file (empty when intact)."""
        problems = []
        for rec in self.records:
            path = self.resolve(rec.path)
            if not path.is_file():
                problems.append(f"{rec.path}: missing from bank {self.root}")
            elif sha256_file(path) != rec.sha256:
                problems.append(f"{rec.path}: content changed (sha256 differs from the index)")
        return problems

    @classmethod
    def open(cls, root: str | Path, kind: str | None = None) -> Bank:
        """Open a bank directory, validating its header and index (and its kind, when ``kind`` is given)."""
        root = Path(root)
        header_path = root / HEADER_NAME
        if not header_path.is_file():
            raise BankError(f"{root}: not a foabench bank (no {HEADER_NAME})")
        try:
            header = json.loads(header_path.read_text())
        except json.JSONDecodeError as exc:
            raise BankError(f"{header_path}: malformed JSON ({exc})") from exc
        check_schema_version(header.get("schema_version"), BANK_SCHEMA_VERSION, "bank", str(header_path), BankError)
        expected, kind = kind, header.get("kind", "sources")
        if kind not in RECORD_TYPES:
            raise BankError(f"{header_path}: unknown bank kind {kind!r}; known: {sorted(RECORD_TYPES)}")
        if expected is not None and kind != expected:
            raise BankError(f"{root}: a {kind!r} bank where a {expected!r} bank is needed")
        record_type = RECORD_TYPES[kind]
        records = []
        index_path = root / INDEX_NAME
        with open(index_path, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    rec = record_type.from_dict(json.loads(line))
                except (json.JSONDecodeError, TypeError) as exc:
                    raise BankError(f"{index_path}:{lineno}: malformed row ({exc})") from exc
                check_relative_path(rec.path)
                records.append(rec)
        bank = cls(root=root, header=header, records=records)
        if fingerprint(records) != header.get("fingerprint"):
            raise BankError(f"{root}: index does not match the fingerprint in {HEADER_NAME}")
        return bank


def write_bank_files(root: Path, header: dict, records: list[AnyRecord], skipped: list[dict]) -> None:
    """Write index, skip report and header atomically (header last, so a bank is complete once it exists)."""
    records = sorted(records, key=lambda r: r.path)
    atomic_write_text(root / INDEX_NAME, "".join(r.to_json() + "\n" for r in records))
    atomic_write_text(
        root / REPORT_NAME, "".join(json.dumps(s, sort_keys=True, ensure_ascii=False) + "\n" for s in skipped)
    )
    header = {**header, "schema_version": BANK_SCHEMA_VERSION, "num_clips": len(records)}
    header["fingerprint"] = fingerprint(records)
    atomic_write_text(root / HEADER_NAME, json.dumps(header, indent=2, sort_keys=True) + "\n")
