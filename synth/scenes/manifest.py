"""Scene manifests on disk: ``NAME.jsonl`` (one row per mixture) next to ``NAME.header.json``.

The header names the schema version, the generator, the split, the scene spec and the fingerprint of every
bank the rows use. A row holds everything needed to render its mixture, with no global state:

.. code-block:: json

    {"id": "train-000007", "split": "train", "index": 7, "seed": 1234, "sample_rate": 32000,
     "num_frames": 320000,
     "room": {"bank": "rooms", "room": "room0003"},
     "events": [{"role": "target", "label": "piano",
                 "source": {"bank": "starter", "path": "piano/x.flac", "sha256": "...", "group": "gm:..."},
                 "source_offset": 0, "onset": 40000, "length": 64000, "snr_db": 12.5,
                 "rir": {"bank": "rooms", "path": "room0003/src02.wav", "sha256": "...", "group": "room0003"},
                 "azimuth": 35.2, "elevation": -4.1, "distance": 1.7}],
     "noise": {"bank": "noise", "path": "x.flac", "sha256": "...", "group": "sonic-pi:x",
               "offset": 12345, "level_dbfs": -40.0}}

Each target also carries ``query``: ``{"audio": <another clip of its class from this split, a reference like
``source``, or null>, "text": "...", "text_source": "caption" | "template", "recipe": {"name": "gaussian",
"sigma": 0.126, "seed": 1234}}`` (see :mod:`foabench.synth.queries.pseudo`).

Sample positions (``num_frames``, ``onset``, ``source_offset``, ``length``, noise ``offset``) are integers
at ``sample_rate``. ``snr_db`` is the event's level over the noise (see :mod:`foabench.synth.scenes.levels`). Every
input is named by bank name, bank-relative path and content sha256, plus the split ``group`` it belongs to (source
split group, RIR room, noise split group), so leakage can be checked from the manifests alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from foabench.synth.audio_io import atomic_write_text, sha256_file
from foabench.synth.banks.format import check_relative_path
from foabench.synth.scenes.direction_query import check_direction_query
from foabench.synth.scenes.pointcloud_query import check_pointcloud_structure
from foabench.synth.scenes.region_query import check_region_query
from foabench.synth.schema_version import check_schema_version

MANIFEST_SCHEMA_VERSION = 1
ROW_SUFFIX = ".jsonl"
HEADER_SUFFIX = ".header.json"
ROLES = ("target", "interference")
#: per-row hashes in the header are this many hex digits of each row's sha256 (enough to name a changed row)
ROW_HASH_CHARS = 16


class ManifestError(ValueError):
    """A manifest that cannot be used: malformed, from the future, or naming unsafe inputs."""


def manifest_paths(path: str | Path) -> tuple[Path, Path]:
    """(rows path, header path) for a manifest given as ``X.jsonl``, ``X.header.json`` or ``X``."""
    p = Path(path)
    name = p.name
    for suffix in (HEADER_SUFFIX, ROW_SUFFIX):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return p.with_name(name + ROW_SUFFIX), p.with_name(name + HEADER_SUFFIX)


def row_sha256(row: dict) -> str:
    """Content hash of one row (canonical JSON)."""
    return hashlib.sha256(json.dumps(row, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def audio_query_ref(ev: dict) -> dict:
    """The clip a target's audio query plays: the manifest's query clip, or the target's own clip when its
    class has no other clip in the split (the sampler records ``null`` then)."""
    query = ev.get("query")
    if not query:
        raise ValueError(f"target event {ev.get('label')!r} has no query; sample manifests with queries")
    return query.get("audio") or ev["source"]


def _require(obj: dict, keys: Iterable[str], where: str) -> None:
    missing = [k for k in keys if k not in obj]
    if missing:
        raise ManifestError(f"{where}: missing {missing}")


def _check_ref(ref: dict, where: str) -> None:
    if not isinstance(ref, dict):
        raise ManifestError(f"{where}: expected an object naming bank, path and sha256")
    _require(ref, ("bank", "path", "sha256", "group"), where)
    try:
        check_relative_path(str(ref["path"]))
    except ValueError as exc:
        raise ManifestError(f"{where}: {exc}") from exc
    digest = str(ref["sha256"])
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ManifestError(f"{where}: sha256 {digest!r} is not a hex digest")


def validate_row(row: dict, where: str = "row") -> None:
    """Check one row's structure, value ranges and input references; raise :class:`ManifestError`."""
    _require(row, ("id", "split", "index", "seed", "sample_rate", "num_frames", "room", "events", "noise"), where)
    n = row["num_frames"]
    if not isinstance(n, int) or n <= 0:
        raise ManifestError(f"{where}: num_frames must be a positive integer, got {n!r}")
    if not isinstance(row["events"], list):  # may be empty: a DCASE 2026 mixture of background noise only
        raise ManifestError(f"{where}: events must be a list, got {type(row['events']).__name__}")
    for k, ev in enumerate(row["events"]):
        w = f"{where}: event {k}"
        _require(ev, ("role", "label", "source", "source_offset", "onset", "length", "snr_db", "rir"), w)
        if ev["role"] not in ROLES:
            raise ManifestError(f"{w}: role {ev['role']!r} is not one of {ROLES}")
        _check_ref(ev["source"], f"{w} source")
        _check_ref(ev["rir"], f"{w} rir")
        query = ev.get("query")
        if query is not None:
            if not isinstance(query, dict) or "text" not in query or "recipe" not in query:
                raise ManifestError(f"{w}: query needs text and recipe")
            if query.get("audio") is not None:
                _check_ref(query["audio"], f"{w} audio query")
            direction, region = query.get("direction"), query.get("region")
            problem = (check_direction_query(ev, w) if direction is not None else None) or (
                check_region_query(row["events"], k, w) if region is not None else None)  # fmt: skip
            if problem:
                raise ManifestError(problem)
        for key in ("source_offset", "onset", "length"):
            if not isinstance(ev[key], int) or ev[key] < 0:
                raise ManifestError(f"{w}: {key} must be a non-negative integer, got {ev[key]!r}")
        if ev["length"] == 0 or ev["onset"] + ev["length"] > n:
            raise ManifestError(f"{w}: onset {ev['onset']} + length {ev['length']} does not fit {n} frames")
        if (ev.get("object") or {}).get("mesh") is not None:
            _check_ref(ev["object"]["mesh"], f"{w} object mesh")
    problem = check_pointcloud_structure(row, where)
    if problem:
        raise ManifestError(problem)
    if row["noise"] is not None:
        _check_ref(row["noise"], f"{where}: noise")
        _require(row["noise"], ("offset", "level_dbfs"), f"{where}: noise")


@dataclass
class Manifest:
    """A manifest read from disk: its header and rows."""

    rows_path: Path
    header: dict
    rows: list[dict] = field(default_factory=list)

    @property
    def split(self) -> str:
        return self.header["split"]


def check_header(header: dict, where: str) -> None:
    """Refuse a header without a schema version or with one newer than this foabench understands."""
    check_schema_version(header.get("schema_version"), MANIFEST_SCHEMA_VERSION, "manifest", where, ManifestError)
    _require(header, ("split", "banks", "generator"), where)


def iter_rows(rows_path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, row) for each non-empty line; malformed JSON is a :class:`ManifestError`."""
    with open(rows_path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ManifestError(f"{rows_path}:{lineno}: malformed JSON ({exc})") from exc
            if not isinstance(row, dict):
                raise ManifestError(f"{rows_path}:{lineno}: a row is a JSON object")
            yield lineno, row


def rows_problem(manifest: Manifest) -> str | None:
    """How the rows file differs from what its header recorded (row count, rows hash), naming the first row
    that differs where the header lists per-row hashes; None when they agree."""
    header, rows = manifest.header, manifest.rows
    digest = sha256_file(manifest.rows_path)
    if header.get("rows_sha256") == digest and header.get("num_rows") == len(rows):
        return None
    recorded = header.get("row_hashes")
    if isinstance(recorded, list):
        for number, (row, short) in enumerate(zip(rows, recorded, strict=False), 1):
            if row_sha256(row)[: len(str(short))] != short:
                return f"row {number} ({row.get('id', 'no id')!r}) differs from the row the header recorded"
    if header.get("num_rows") != len(rows):
        return f"the header records {header.get('num_rows')!r} rows, the file has {len(rows)}"
    return f"the rows file hashes to {digest[:12]}…, the header recorded {str(header.get('rows_sha256'))[:12]}…" + (
        "" if isinstance(recorded, list) else " (this header lists no per-row hashes to name the row)"
    )


def read_manifest(path: str | Path, validate: bool = True, verify: bool = True) -> Manifest:
    """Read a manifest (header + rows), refusing future schema versions, with ``validate`` bad rows, and with
    ``verify`` rows that changed after the header was written (every reader that renders or scores does)."""
    rows_path, header_path = manifest_paths(path)
    if not header_path.is_file():
        raise ManifestError(f"{header_path}: no manifest header (expected next to {rows_path.name})")
    if not rows_path.is_file():
        raise ManifestError(f"{rows_path}: no manifest rows")
    try:
        header = json.loads(header_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{header_path}: malformed JSON ({exc})") from exc
    check_header(header, str(header_path))
    rows = []
    for lineno, row in iter_rows(rows_path):
        if validate:
            validate_row(row, f"{rows_path}:{lineno}")
        rows.append(row)
    manifest = Manifest(rows_path, header, rows)
    if verify:
        problem = rows_problem(manifest)
        if problem is not None:
            raise ManifestError(f"{rows_path}: rows changed after the header was written: {problem}; nothing was "
                                f"done with it. Run `foabench manifests check {rows_path}` for every problem, and "
                                "sample the manifest again rather than editing it")  # fmt: skip
    return manifest


def write_manifest(path: str | Path, header: dict, rows: list[dict], overwrite: bool = False) -> tuple[Path, Path]:
    """Write rows then header atomically (the header, written last, records the rows' hash).

    A manifest already at ``path`` is left alone when it is the same one, and is an error when it differs
    (unless ``overwrite``): a resampled split must not silently replace the one a render or results used."""
    rows_path, header_path = manifest_paths(path)
    text = "".join(json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n" for r in rows)
    full = {
        **header,
        "schema_version": MANIFEST_SCHEMA_VERSION,
        "num_rows": len(rows),
        "rows_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "row_hashes": [row_sha256(r)[:ROW_HASH_CHARS] for r in rows],
    }
    header_text = json.dumps(full, indent=2, sort_keys=True) + "\n"
    if rows_path.exists() or header_path.exists():
        same = (rows_path.is_file() and header_path.is_file() and rows_path.read_bytes() == text.encode()
                and header_path.read_bytes() == header_text.encode())  # fmt: skip
        if same:
            return rows_path, header_path
        if not overwrite:
            there = _describe(header_path)
            raise ManifestError(f"{rows_path}: a different manifest is already there ({there}); pass --overwrite "
                                "to replace it, or choose another --out")  # fmt: skip
    rows_path.parent.mkdir(parents=True, exist_ok=True)
    header_path.unlink(missing_ok=True)  # a header never describes rows it was not written for
    atomic_write_text(rows_path, text)
    atomic_write_text(header_path, header_text)
    return rows_path, header_path


def _describe(header_path: Path) -> str:
    try:
        header = json.loads(header_path.read_text(encoding="utf-8"))
        return f"{header.get('num_rows')} rows of split {header.get('split')!r}"
    except (OSError, json.JSONDecodeError):
        return "its header is missing or unreadable"
