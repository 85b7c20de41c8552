"""Reading foabench's Hugging Face shards back: the shard index, raw rows, and rows decoded to numpy audio.

Rows come from ``datasets`` (``load_dataset``, streaming or not) or from :func:`iter_rows` (pyarrow only); either
way :func:`decode_row` turns the FLAC bytes into float32 arrays with soundfile, the same samples
``foabench.synth.audio_io.read_audio`` gives for the files ``foabench render`` writes.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf

from foabench.manifests.hf_schema import EXPORT_VERSION, INDEX_NAME, ExportError
from foabench.synth.pointclouds.cloud_files import read_cloud_npz
from foabench.synth.schema_version import check_schema_version

AUDIO_FIELDS = ("direct", "dry", "wet")
EMBEDDING_FIELDS = ("embedding_target", "embedding_audio_query", "embedding_text")


def decode_audio(data: bytes, mono: bool = False) -> tuple[np.ndarray, int]:
    """FLAC (or any soundfile format) bytes -> (float32 ``(frames, channels)``, or ``(frames,)`` with ``mono``)."""
    wave, sr = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    if mono:
        if wave.shape[1] != 1:
            raise ExportError(f"expected mono audio, got {wave.shape[1]} channels")
        wave = wave[:, 0]
    return wave, int(sr)


def decode_row(row: dict) -> dict:
    """A shard row with its audio decoded: ``mixture`` ``(frames, 4)``, per target ``direct``/``dry``
    ``(frames,)`` and ``wet`` ``(frames, 4)`` (float32; None when not exported), ``query_clip`` (the audio query
    clip, ``(frames,)`` float32, None in version 1 shards), embeddings as float32 arrays (or None), per target
    ``pointcloud`` (``(N, 3)`` float32) and the row's ``scene_cloud`` (``(points, ids)``) where exported (else
    None), and
    ``events``, ``metadata`` and ``row`` (the manifest row) as Python objects."""
    version = row.get("export_version")
    check_schema_version(version, EXPORT_VERSION, "foabench shard", f"row {row.get('id')!r}", ExportError)
    sr = int(row["sample_rate"])

    def audio(data: bytes, what: str, mono: bool = False) -> np.ndarray:
        wave, got = decode_audio(data, mono)
        if got != sr:
            raise ExportError(f"row {row['id']!r}: {what} is at {got} Hz, the row says {sr} Hz")
        return wave

    targets = []
    for k, t in enumerate(row["targets"]):
        out = {key: value for key, value in t.items() if key not in AUDIO_FIELDS + EMBEDDING_FIELDS}
        for name in AUDIO_FIELDS:
            out[name] = None if t.get(name) is None else audio(t[name], f"target {k} {name}", mono=name != "wet")
        clip = out.pop("query_audio_clip", None)
        out["query_clip"] = None if clip is None else audio(clip, f"target {k} query clip", mono=True)
        for name in EMBEDDING_FIELDS:
            out[name] = None if t[name] is None else np.asarray(t[name], dtype=np.float32)
        for key in ("query_recipe", "query_direction", "query_region", "query_pointcloud"):  # spatial: version >= 3
            out[key] = None if t.get(key) is None else json.loads(t[key])
        out["pointcloud"] = None if t.get("pointcloud") is None else read_cloud_npz(t["pointcloud"])[0]
        targets.append(out)
    skip = {"mixture", "targets", "metadata_json", "row_json", "scene_cloud"}
    decoded = {key: value for key, value in row.items() if key not in skip}
    scene = row.get("scene_cloud")  # export version >= 4
    decoded["scene_cloud"] = None if scene is None else read_cloud_npz(scene)
    decoded["events"] = [{**e, "object": json.loads(e["object"]) if e.get("object") else None}
                         for e in row.get("events") or []]  # fmt: skip
    decoded.update(mixture=audio(row["mixture"], "mixture"), targets=targets,
                   metadata=json.loads(row["metadata_json"]), row=json.loads(row["row_json"]))  # fmt: skip
    return decoded


def read_index(folder: str | Path) -> dict:
    """The shard index (``shards.json``) of an export folder; refuses a missing, malformed or future one."""
    path = Path(folder) / INDEX_NAME
    if not path.is_file():
        raise ExportError(f"{path}: no shard index (is {folder} a `foabench export-hf` folder?)")
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ExportError(f"{path}: malformed JSON ({exc})") from exc
    check_schema_version(index.get("schema_version"), EXPORT_VERSION, "shard index", str(path), ExportError)
    return index


def iter_rows(folder: str | Path, split: str, decode: bool = True, batch_size: int = 8) -> Iterator[dict]:
    """Rows of one split in shard order, read with pyarrow (``decode``: through :func:`decode_row`)."""
    import pyarrow.parquet as pq

    index = read_index(folder)
    if split not in index["splits"]:
        raise ExportError(f"{folder}: no split {split!r} (have {sorted(index['splits'])})")
    if not index["splits"][split].get("complete", True):
        raise ExportError(f"{folder}: split {split!r} is incomplete (an interrupted export); run export-hf again")
    for shard in index["splits"][split]["shards"]:
        with pq.ParquetFile(Path(folder) / shard["file"]) as pf:
            for batch in pf.iter_batches(batch_size=batch_size):
                for row in batch.to_pylist():
                    yield decode_row(row) if decode else row
