"""``foabench export-hf``: manifests rendered into Hugging Face parquet shards, with a shard index and a card.

``OUT/data/{split}-{i:05d}-of-{n:05d}.parquet`` hold the rows (layout: :mod:`foabench.manifests.hf_schema`),
``OUT/shards.json`` lists every shard with its rows, bytes, sha256 and plan key, and ``OUT/README.md`` is the
dataset card (:mod:`foabench.manifests.hf_card`). One manifest per split.

Shard plan. Rows keep manifest order and are packed greedily into shards of about ``shard_size_mb``: a row's
size is estimated from the manifest as ``num_frames`` x (a + b x its targets), plus its JSON and embeddings,
where a and b, the encoded bytes per frame of a mixture and of one target's references, are measured by
rendering the split's first 8 rows; so the plan is the same on every run and on every engine. Shards hold row
groups of about 64 MB (streaming reads one at a time).

Resume. A shard's key hashes its rows, their provenance and the encoder; a rerun skips a shard whose file is
present with the key and the sha256 the index records, rewrites missing or corrupt ones, and removes files of
the split that the plan no longer names. The index is rewritten after each shard, so an interrupted export
keeps its finished shards. Splits exported earlier into the same folder and not named again are kept.

Determinism. Rendering happens on the engine's workers (a process pool or Ray tasks) and only returns bytes; the
driver computes embeddings and writes every shard with fixed writer settings (no timestamps), so the local and
Ray engines give byte-identical shards.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from foabench import synth
from foabench.manifests.hf_card import licence_entries, render_card
from foabench.manifests.hf_reader import read_index
from foabench.manifests.hf_schema import (
    CARD_NAME,
    DATA_DIR,
    EXPORT_VERSION,
    INDEX_NAME,
    SCHEMA,
    ExportError,
    check_split_name,
    shard_name,
)
from foabench.synth.audio_io import atomic_write_text, sha256_file
from foabench.synth.banks.bank_set import BankSet
from foabench.synth.scenes.manifest import Manifest, audio_query_ref, read_manifest, row_sha256
from foabench.synth.scenes.render import REFERENCES, Renderer
from foabench.synth.scenes.render_split import check_references, encode_row, iter_encoded

DEFAULT_SHARD_MB = 500.0
DEFAULT_ENCODER = "foabench-data/encoders/builtin"
DEFAULT_CACHE = "foabench-data/embeddings"
ROW_GROUP_BYTES = 64 << 20
PLAN_ROWS = 8  # rows rendered to measure encoded bytes per frame for the shard plan
WRITER_OPTIONS = dict(
    compression={"row_json": "zstd", "metadata_json": "zstd"},  # the rest: FLAC and float32, incompressible
    use_dictionary=["split", "manifest", "manifest_rows_sha256", "encoder_name", "encoder_hash", "generator"],
    write_statistics=["id", "split", "index", "seed", "sample_rate", "num_frames", "export_version"],
)


@dataclass
class _Split:
    """One manifest being exported: its rows, shard plan (row positions per shard) and shard keys."""

    path: Path
    manifest: Manifest
    provenance: dict
    shards: list[list[int]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    size_model: dict = field(default_factory=dict)
    licences: list[dict] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.manifest.split

    @property
    def rows(self) -> list[dict]:
        return self.manifest.rows


@dataclass
class ExportReport:
    """What an export did: shards written, skipped (already good) and removed (stale), rows rendered, timing."""

    out: Path
    index: dict
    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    rows_rendered: int = 0
    bytes_written: int = 0
    seconds: float = 0.0


class _Embedder:
    """Per-target embeddings through the content-addressed cache: target clip, audio query clip, query text."""

    def __init__(self, encoder_spec: str, cache_root: str | Path, banks: BankSet):
        from foabench.synth.queries.cache import EmbeddingCache
        from foabench.synth.queries.registry import open_encoder

        self.encoder = open_encoder(encoder_spec)
        self.cache = EmbeddingCache(cache_root, self.encoder.hash)
        self.banks = banks

    @property
    def info(self) -> dict:
        return {"name": self.encoder.name, "hash": self.encoder.hash, "dim": int(self.encoder.dim)}

    def target(self, ev: dict) -> tuple[list | None, list | None, list | None]:
        from foabench.synth.queries.cache import cached_text
        from foabench.synth.queries.export import clip_embeddings

        def clip(ref: dict) -> list:
            return clip_embeddings(self.encoder, self.cache, self.banks, [ref])[0].tolist()

        query = ev.get("query") or {}
        text = cached_text(self.cache, self.encoder, [query["text"]])[0].tolist() if query.get("text") else None
        return clip(ev["source"]), clip(query["audio"]) if query.get("audio") else None, text


def _ref(ref: dict | None) -> dict | None:
    return None if ref is None else {"bank": ref["bank"], "path": ref["path"], "sha256": ref["sha256"]}


def build_record(row: dict, files: dict[str, bytes], metadata: dict, provenance: dict,
                 embedder: _Embedder | None, banks: BankSet) -> dict:  # fmt: skip
    """The shard row of one rendered manifest row (see :mod:`foabench.manifests.hf_schema`); ``banks`` give
    each target's RIR figures and the bytes of its audio query clip (verified against the recorded sha256)."""
    targets, events = [], []
    for j, (ev, meta) in enumerate(zip(row["events"], metadata["events"], strict=True)):
        k = meta.get("target")
        events.append({
            "role": ev["role"], "label": ev["label"], "target": k, "onset": ev["onset"], "length": ev["length"],
            "snr_db": float(ev["snr_db"]), "gain_db": meta.get("gain_db"), "silent": bool(meta.get("silent")),
            "azimuth": ev.get("azimuth"), "elevation": ev.get("elevation"), "distance": ev.get("distance"),
            "source": _ref(ev["source"]), "rir": _ref(ev["rir"]),
            "object": None if ev.get("object") is None else json.dumps(ev["object"], sort_keys=True),
        })  # fmt: skip
        if k is None:
            continue
        query = ev.get("query") or {}
        emb_target, emb_audio, emb_text = embedder.target(ev) if embedder else (None, None, None)
        rir = banks.record(ev["rir"])
        targets.append({
            "event": j, "label": ev["label"],
            "direct": files[f"target{k}_direct.flac"], "dry": files[f"target{k}_dry.flac"],
            "wet": files.get(f"target{k}_wet.flac"), "rt60": rir.rt60_measured, "drr_db": rir.drr_db,
            "azimuth": ev.get("azimuth"), "elevation": ev.get("elevation"), "distance": ev.get("distance"),
            "snr_db": float(ev["snr_db"]), "onset": ev["onset"], "length": ev["length"],
            "direct_sample": meta.get("direct_sample"),
            "query_text": query.get("text"), "query_text_source": query.get("text_source"),
            "query_audio": _ref(query.get("audio")),
            "query_audio_clip": banks.resolve(audio_query_ref(ev)).read_bytes(),
            **{f"query_{key}": None if query.get(key) is None else json.dumps(query[key], sort_keys=True)
               for key in ("recipe", "direction", "region", "pointcloud")},
            "pointcloud": files.get(f"target{k}_pointcloud.npz"),
            "embedding_target": emb_target, "embedding_audio_query": emb_audio, "embedding_text": emb_text,
        })  # fmt: skip
    return {
        "id": row["id"], "split": row["split"], "index": row["index"], "seed": row["seed"],
        "sample_rate": row["sample_rate"], "num_frames": row["num_frames"], "mixture": files["mixture.flac"],
        "targets": targets, "events": events, "metadata_json": json.dumps(metadata, sort_keys=True),
        "scene_cloud": files.get("scene_cloud.npz"),
        "row_json": json.dumps(row, sort_keys=True, ensure_ascii=False), **provenance,
    }  # fmt: skip


def _record_bytes(record: dict) -> int:
    fields = ("direct", "dry", "wet", "query_audio_clip", "pointcloud")
    audio = len(record["mixture"]) + sum(len(t[n] or b"") for t in record["targets"] for n in fields)
    return audio + len(record["row_json"]) + len(record["metadata_json"]) + len(record["scene_cloud"] or b"")


class _ShardWriter:
    """A parquet shard written to a hidden temp file beside its destination and renamed into place when complete."""

    def __init__(self, path: Path):
        self.path = path
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        os.close(fd)
        self.tmp = Path(tmp)
        self.writer = pq.ParquetWriter(self.tmp, SCHEMA, **WRITER_OPTIONS)
        self.batch: list[dict] = []
        self.batch_bytes = 0
        self.rows = 0
        self.arrow_bytes = 0  # the in-memory Arrow size: what ``datasets`` calls a split's num_bytes

    def add(self, record: dict) -> None:
        self.batch.append(record)
        self.batch_bytes += _record_bytes(record)
        self.rows += 1
        if self.batch_bytes >= ROW_GROUP_BYTES:
            self._flush()

    def _flush(self) -> None:
        if self.batch:
            table = pa.Table.from_pylist(self.batch, schema=SCHEMA)
            self.writer.write_table(table, row_group_size=len(self.batch))
            self.arrow_bytes += table.nbytes
        self.batch, self.batch_bytes = [], 0

    def commit(self) -> tuple[str, int]:
        """Finish the file, fsync it, move it into place; returns (sha256, bytes)."""
        self._flush()
        self.writer.close()
        with open(self.tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        digest, size = sha256_file(self.tmp), self.tmp.stat().st_size
        os.chmod(self.tmp, 0o644)
        os.replace(self.tmp, self.path)
        return digest, size

    def abort(self) -> None:
        try:
            self.writer.close()
        finally:
            self.tmp.unlink(missing_ok=True)


def _targets(row: dict) -> int:
    return sum(ev["role"] == "target" for ev in row["events"])


def plan_shards(sizes: list[float], target_bytes: float) -> list[list[int]]:
    """Greedy packing of rows (in order) into shards of at most ``target_bytes`` (a row alone may exceed it)."""
    shards: list[list[int]] = []
    current: list[int] = []
    total = 0.0
    for pos, size in enumerate(sizes):
        if current and total + size > target_bytes:
            shards.append(current)
            current, total = [], 0.0
        current.append(pos)
        total += size
    if current:
        shards.append(current)
    return shards


def size_model(renderer: Renderer, rows: list[dict], references: tuple[str, ...] = REFERENCES) -> dict:
    """Encoded bytes per frame of a mixture and of one target's references, measured on the first rows."""
    frames = mixture = target_frames = size = 0
    for row in rows[:PLAN_ROWS]:
        files, _ = encode_row(renderer, row, references=references)
        frames += row["num_frames"]
        mixture += len(files["mixture.flac"])
        target_frames += row["num_frames"] * _targets(row)
        size += sum(len(b) for name, b in files.items() if name != "mixture.flac")
    return {"mixture_bytes_per_frame": mixture / frames, "target_bytes_per_frame": size / max(target_frames, 1),
            "rows": min(len(rows), PLAN_ROWS)}  # fmt: skip


def _plan(sp: _Split, renderer: Renderer, target_bytes: float, dim: int, references: tuple[str, ...]) -> None:
    """Fill ``sp.shards`` and ``sp.keys`` (deterministic: see the module docstring)."""
    sp.size_model = model = size_model(renderer, sp.rows, references)
    sizes = []
    for row in sp.rows:
        per_frame = model["mixture_bytes_per_frame"] + model["target_bytes_per_frame"] * _targets(row)
        sizes.append(row["num_frames"] * per_frame + 2 * len(json.dumps(row)) + 12 * dim * _targets(row))
    sp.shards = plan_shards(sizes, target_bytes)
    n = len(sp.shards)
    for i, positions in enumerate(sp.shards):
        key = {"export_version": EXPORT_VERSION, "file": shard_name(sp.name, i, n), "provenance": sp.provenance,
               "rows": [row_sha256(sp.rows[p]) for p in positions]}  # fmt: skip
        if references != REFERENCES:
            key["references"] = list(references)
        sp.keys.append(hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest())


def _open_splits(manifests: list[str | Path], banks: BankSet, encoder: dict | None) -> list[_Split]:
    splits: dict[str, _Split] = {}
    for path in map(Path, manifests):
        m = read_manifest(path)
        banks.check_fingerprints(m.header["banks"], str(path))
        check_split_name(m.split, str(path))
        if m.split in splits:
            raise ExportError(f"{splits[m.split].path} and {path} are both split {m.split!r}: one manifest per split")
        if not m.rows:
            raise ExportError(f"{path}: the manifest has no rows")
        wrong = [r["id"] for r in m.rows if r["split"] != m.split]
        if wrong:
            raise ExportError(f"{path}: rows {wrong[:3]} are not of the header's split {m.split!r}")
        digest = m.header["rows_sha256"]  # read_manifest verified the rows against it
        bank_info = sorted(m.header["banks"].items())
        provenance = {
            "manifest": m.rows_path.name,
            "manifest_rows_sha256": digest,
            "banks": [{"name": b, "kind": i.get("kind"), "fingerprint": i.get("fingerprint")} for b, i in bank_info],
            "encoder_name": encoder["name"] if encoder else None,
            "encoder_hash": encoder["hash"] if encoder else None,
            "generator": f"foabench {synth.__version__}",
            "export_version": EXPORT_VERSION,
        }
        splits[m.split] = _Split(path, m, provenance)
    return list(splits.values())


def _previous_index(out: Path) -> dict:
    if not (out / INDEX_NAME).is_file():
        return {"splits": {}}
    try:
        return read_index(out)
    except ExportError as exc:
        if "newer" in str(exc):
            raise
        return {"splits": {}}  # a torn or hand-edited index: every shard is checked against nothing, so rewritten


def _check_replacing(out: Path, previous: dict, splits: list, enc_info: dict | None, shard_size_mb: float,
                     overwrite: bool) -> None:  # fmt: skip
    """Refuse to replace exported content that differs from what this export writes, unless ``overwrite``."""
    if out.is_dir() and not (out / INDEX_NAME).is_file():
        others = sorted(p.name for p in out.iterdir() if p.name not in (DATA_DIR, CARD_NAME))
        if others or any((out / DATA_DIR).glob("*.parquet")):
            raise ExportError(f"{out}: not a foabench export (no {INDEX_NAME}, but it holds "
                              f"{', '.join(others[:3]) or 'parquet files'}); choose an empty or new --out")  # fmt: skip
    if overwrite:
        return
    for sp in splits:
        old = previous.get("splits", {}).get(sp.name)
        if old is None:
            continue
        changes = []
        if old.get("rows_sha256") != sp.provenance["manifest_rows_sha256"]:
            changes.append(f"from {old.get('manifest')} (other rows)")
        if previous.get("encoder") != enc_info:
            changes.append("with another encoder" if enc_info else "with embeddings")
        if changes:
            raise ExportError(f"{out}: split {sp.name!r} was exported {' and '.join(changes)}; pass --overwrite "
                              "to replace it, or choose another --out")  # fmt: skip


def _shard_ok(out: Path, entry: dict | None, key: str) -> bool:
    if not entry or entry.get("key") != key:
        return False
    path = out / entry["file"]
    return path.is_file() and path.stat().st_size == entry.get("bytes") and sha256_file(path) == entry.get("sha256")


def _write_if_changed(path: Path, text: str) -> None:
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        atomic_write_text(path, text)


def export_hf(
    manifests: list[str | Path],
    out: str | Path,
    bank_paths: list[str | Path],
    *,
    encoder: str | None = DEFAULT_ENCODER,
    cache: str | Path = DEFAULT_CACHE,
    shard_size_mb: float = DEFAULT_SHARD_MB,
    engine: str = "local",
    workers: int | None = None,
    address: str | None = None,
    pretty_name: str | None = None,
    progress: bool = True,
    overwrite: bool = False,
    references: tuple[str, ...] = REFERENCES,
    benchmark: dict | None = None,
) -> ExportReport:
    """Export manifests (one per split) to parquet shards under ``out`` with ``shards.json`` and ``README.md``.

    ``encoder=None`` exports without embeddings. ``engine`` ``local`` renders with ``workers`` processes (default
    up to 4), ``ray`` with ``workers`` concurrent Ray tasks (default: every CPU of the cluster at ``address``, or
    of a local Ray instance). ``references``: the reference files each target carries (``direct`` and ``dry``
    always; ``wet`` is null when left out). ``benchmark``: the benchmark these splits belong to (name, version,
    definition hash), recorded in the index. Reruns skip finished shards (see the module docstring); another
    shard size repacks the same rows. A split already exported into ``out`` from another manifest or with
    another encoder is replaced only with ``overwrite``; its old shards are removed then."""
    t0 = time.perf_counter()
    if not manifests:
        raise ExportError("no manifests to export")
    if shard_size_mb <= 0:
        raise ExportError(f"shard size must be positive, got {shard_size_mb} MB")
    if engine not in ("local", "ray"):
        raise ExportError(f"unknown engine {engine!r} (use local or ray)")
    if address and engine != "ray":
        raise ExportError("a Ray address needs the ray engine (--engine ray)")
    paths = [str(Path(p).resolve()) for p in bank_paths]
    banks = BankSet.open(paths)
    embedder = _Embedder(encoder, cache, banks) if encoder else None
    enc_info = embedder.info if embedder else None
    try:
        references = check_references(references)
    except ValueError as exc:
        raise ExportError(str(exc)) from exc
    if not {"direct", "dry"} <= set(references):
        raise ExportError(f"references must include direct and dry (and may include wet), got {list(references)}")
    splits = _open_splits(manifests, banks, enc_info)
    out = Path(out)
    previous = _previous_index(out)
    _check_replacing(out, previous, splits, enc_info, shard_size_mb, overwrite)
    (out / DATA_DIR).mkdir(parents=True, exist_ok=True)
    kept = {name: s for name, s in previous.get("splits", {}).items() if name not in {sp.name for sp in splits}}
    if kept and previous.get("encoder") != enc_info:
        raise ExportError(f"{out}: splits {sorted(kept)} were exported with encoder {previous.get('encoder')}, this "
                          f"run uses {enc_info}; export them again alongside, or use another folder")  # fmt: skip
    index = {"schema_version": EXPORT_VERSION, "generator": f"foabench {synth.__version__}",
             "shard_size_mb": shard_size_mb, "encoder": enc_info, "references": list(references),
             "splits": dict(kept)}  # fmt: skip
    if benchmark is not None:
        index["benchmark"] = benchmark
    report = ExportReport(out, index)
    work: list[tuple[_Split, int]] = []
    entries: dict[str, list[dict | None]] = {}
    renderer = Renderer(banks)
    for sp in splits:
        _plan(sp, renderer, shard_size_mb * 1e6, enc_info["dim"] if enc_info else 0, references)
        sp.licences = licence_entries(sp.rows, banks)
        old = {e["file"]: e for e in previous.get("splits", {}).get(sp.name, {}).get("shards", [])}
        entries[sp.name] = []
        for i, key in enumerate(sp.keys):
            name = shard_name(sp.name, i, len(sp.keys))
            if _shard_ok(out, old.get(name), key):
                entries[sp.name].append(old[name])
                report.skipped.append(name)
            else:
                entries[sp.name].append(None)
                work.append((sp, i))
        planned = {shard_name(sp.name, i, len(sp.keys)) for i in range(len(sp.keys))}
        for stale in sorted((out / DATA_DIR).glob(f"{sp.name}-*.parquet")) + sorted(
            (out / DATA_DIR).glob(f".{sp.name}-*.part")
        ):
            if f"{DATA_DIR}/{stale.name}" not in planned:
                stale.unlink()
                report.removed.append(f"{DATA_DIR}/{stale.name}")
        index["splits"][sp.name] = _split_entry(sp, entries[sp.name])
    _write_if_changed(out / INDEX_NAME, json.dumps(index, indent=2, sort_keys=True) + "\n")

    rows = [sp.rows[p] for sp, i in work for p in sp.shards[i]]
    if engine == "local" and workers is None:
        workers = min(4, os.cpu_count() or 1)
    encoded = (iter_encoded(rows, paths, engine=engine, workers=workers, address=address, references=references)
               if rows else iter(()))  # fmt: skip
    bar = tqdm(total=len(rows), desc="export-hf", unit="mix", disable=not progress)
    try:
        for sp, i in work:
            entry = _write_shard(out, sp, i, encoded, embedder, banks, bar)
            entries[sp.name][i] = entry
            report.written.append(entry["file"])
            report.rows_rendered += entry["rows"]
            report.bytes_written += entry["bytes"]
            index["splits"][sp.name] = _split_entry(sp, entries[sp.name])
            atomic_write_text(out / INDEX_NAME, json.dumps(index, indent=2, sort_keys=True) + "\n")
    finally:
        bar.close()
        close = getattr(encoded, "close", None)
        if close is not None:
            close()  # stops the process pool or the Ray session, also on errors
    _write_if_changed(out / CARD_NAME, render_card(index, pretty_name))
    report.seconds = time.perf_counter() - t0
    return report


def _write_shard(out: Path, sp: _Split, i: int, encoded: Iterator, embedder: _Embedder | None, banks: BankSet,
                 bar: tqdm) -> dict:  # fmt: skip
    name = shard_name(sp.name, i, len(sp.shards))
    writer = _ShardWriter(out / name)
    try:
        for pos in sp.shards[i]:
            files, metadata = next(encoded)
            writer.add(build_record(sp.rows[pos], files, metadata, sp.provenance, embedder, banks))
            bar.update()
        digest, size = writer.commit()
    except BaseException:
        writer.abort()
        raise
    positions = sp.shards[i]
    return {"file": name, "rows": len(positions), "first": sp.rows[positions[0]]["id"],
            "last": sp.rows[positions[-1]]["id"], "bytes": size, "arrow_bytes": writer.arrow_bytes,
            "sha256": digest, "key": sp.keys[i]}  # fmt: skip


def _split_entry(sp: _Split, shards: list[dict | None]) -> dict:
    return {
        "manifest": sp.provenance["manifest"],
        "rows_sha256": sp.provenance["manifest_rows_sha256"],
        "num_rows": len(sp.rows),
        "num_targets": sum(ev["role"] == "target" for r in sp.rows for ev in r["events"]),
        "sample_rates": sorted({int(r["sample_rate"]) for r in sp.rows}),
        "banks": sp.manifest.header["banks"],
        "licences": sp.licences,
        "plan": {**sp.size_model, "shards": len(sp.shards)},
        "complete": all(s is not None for s in shards),
        "shards": [s for s in shards if s is not None],
    }
