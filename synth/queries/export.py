"""Query embeddings of a manifest, precomputed into one file a separator can read instead of an encoder.

``foabench queries export`` writes an ``.npz`` with, per target event (row order, then event order):
``keys`` ("<row id>/<event index>"), ``target`` (the embedding of the target excerpt's whole clip),
``audio_query`` (the row's audio query clip; zeros when it has none), ``text_query`` (its text),
``pseudo_query`` (the recorded recipe applied to ``target``, with the caption's embedding where the recipe
interpolates) and ``info`` (JSON: encoder name, hash and dim, manifest, schema). :func:`load_query_file` reads
it back as a dict of arrays keyed by those names.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from foabench.synth.audio_io import atomic_write_bytes, read_audio
from foabench.synth.banks.bank_set import BankSet
from foabench.synth.queries.cache import EmbeddingCache, cached_audio, cached_text
from foabench.synth.queries.pseudo import apply_recipe
from foabench.synth.scenes.manifest import read_manifest

QUERY_FILE_VERSION = 1


def clip_embeddings(encoder, cache: EmbeddingCache, banks: BankSet, refs: list[dict]) -> np.ndarray:
    """Embeddings of whole bank clips named by manifest references (verified by hash, cached)."""

    def load(i: int) -> np.ndarray:
        wave, _ = read_audio(banks.resolve(refs[i]))
        return wave[:, 0]

    if not refs:
        return np.zeros((0, encoder.dim), dtype=np.float32)
    rate = banks.bank(refs[0]["bank"]).sample_rate
    return cached_audio(cache, encoder, [r["sha256"] for r in refs], load, rate)


def export_queries(manifest: str | Path, encoder, banks: BankSet, cache_root: str | Path, out: str | Path,
                   progress: bool = True) -> int:  # fmt: skip
    """Write the query file of ``manifest`` (see the module docstring); returns the number of targets."""
    m = read_manifest(manifest)
    cache = EmbeddingCache(cache_root, encoder.hash)
    targets = [(row, k, ev) for row in m.rows for k, ev in enumerate(row["events"]) if ev["role"] == "target"]
    keys, tgt, aq, tq, pq = [], [], [], [], []
    for row, k, ev in tqdm(targets, desc="query embeddings", unit="target", disable=not progress):
        query = ev.get("query")
        if query is None:
            raise ValueError(f"{manifest}: {row['id']} event {k} has no query (sample the manifest again)")
        (target,) = clip_embeddings(encoder, cache, banks, [ev["source"]])
        audio = (
            clip_embeddings(encoder, cache, banks, [query["audio"]])[0]
            if query.get("audio")
            else np.zeros(encoder.dim, dtype=np.float32)
        )
        (text,) = cached_text(cache, encoder, [query["text"]])
        caption = text if query.get("text_source") == "caption" else None
        keys.append(f"{row['id']}/{k}")
        tgt.append(target)
        aq.append(audio)
        tq.append(text)
        pq.append(apply_recipe(query["recipe"], target, caption))
    info = {"version": QUERY_FILE_VERSION, "encoder": encoder.name, "encoder_hash": encoder.hash,
            "dim": encoder.dim, "manifest": Path(manifest).name}  # fmt: skip
    columns = {"target": tgt, "audio_query": aq, "text_query": tq, "pseudo_query": pq}
    arrays = {name: np.array(v, dtype=np.float32).reshape(-1, encoder.dim) for name, v in columns.items()}
    buf = io.BytesIO()
    np.savez(buf, keys=np.array(keys), info=np.array(json.dumps(info)), **arrays)
    atomic_write_bytes(out, buf.getvalue())
    return len(keys)


def load_query_file(path: str | Path) -> dict:
    """A query file as ``{"info": dict, "keys": [...], "target": (n, d), ...}``; newer versions are refused."""
    with np.load(path, allow_pickle=False) as data:
        info = json.loads(str(data["info"]))
        if int(info.get("version", 0)) > QUERY_FILE_VERSION:
            raise ValueError(f"{path}: query file version {info['version']} is newer than this foabench knows")
        out = {name: data[name] for name in data.files if name != "info"}
    out["keys"] = [str(k) for k in out["keys"]]
    out["info"] = info
    return out
