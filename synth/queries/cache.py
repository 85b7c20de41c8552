"""Embeddings computed once and cached by (encoder hash, content hash).

Audio is keyed by the sha256 of the clip file (as a bank records it), text by the sha256 of its UTF-8 bytes.
The cache is a folder ``ROOT/<encoder hash>/<key[:2]>/<key>.npy`` of unit-norm float32 vectors, written
atomically, so any number of processes may fill it at once and a changed clip (new hash) is simply a miss.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from foabench.synth.audio_io import atomic_write_bytes


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """A content-addressed store of embeddings for one encoder."""

    def __init__(self, root: str | Path, encoder_hash: str):
        self.root = Path(root) / encoder_hash
        self.hits = 0
        self.misses = 0

    def _path(self, key: str) -> Path:
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise ValueError(f"cache key {key!r} is not a sha256 hex digest")
        return self.root / key[:2] / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        path = self._path(key)
        if not path.is_file():
            return None
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            return None  # a torn or foreign file: recompute

    def put(self, key: str, vector: np.ndarray) -> None:
        buf = io.BytesIO()
        np.save(buf, np.asarray(vector, dtype=np.float32), allow_pickle=False)
        atomic_write_bytes(self._path(key), buf.getvalue())

    def get_many(self, keys: Sequence[str], compute: Callable[[list[int]], np.ndarray]) -> np.ndarray:
        """Vectors for ``keys``; ``compute(indices)`` embeds the missing ones (``(len(indices), dim)``)."""
        found = [self.get(k) for k in keys]
        missing = [i for i, v in enumerate(found) if v is None]
        self.hits += len(keys) - len(missing)
        self.misses += len(missing)
        if missing:
            fresh = compute(missing)
            for i, vec in zip(missing, fresh, strict=True):
                self.put(keys[i], vec)
                found[i] = np.asarray(vec, dtype=np.float32)
        return np.stack(found) if found else np.zeros((0, 0), dtype=np.float32)


def cached_text(cache: EmbeddingCache, encoder, texts: Sequence[str]) -> np.ndarray:
    """Text embeddings through the cache."""
    texts = list(texts)
    return cache.get_many([text_key(t) for t in texts], lambda idx: encoder.embed_text([texts[i] for i in idx]))


def cached_audio(cache: EmbeddingCache, encoder, keys: Sequence[str], load: Callable[[int], np.ndarray],
                 sample_rate: int) -> np.ndarray:  # fmt: skip
    """Audio embeddings through the cache; ``keys`` are content sha256s, ``load(i)`` decodes clip i."""
    return cache.get_many(list(keys), lambda idx: encoder.embed_audio([load(i) for i in idx], sample_rate))
