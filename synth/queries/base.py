"""The one interface every query encoder shares, and helpers its implementations use.

An encoder has a ``name``, a ``dim`` and a ``hash`` (identifying its weights and preprocessing; embeddings are
cached under it) and two methods: ``embed_audio(waves, sample_rate) -> (n, dim)`` and
``embed_text(texts) -> (n, dim)``, both returning unit-norm float32 rows in one shared space. ``waves`` is a
sequence of mono arrays (any lengths) or a 2-D array ``(n, frames)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class QueryEncoder(Protocol):
    name: str
    dim: int

    @property
    def hash(self) -> str: ...

    def embed_audio(self, waves: Sequence[np.ndarray] | np.ndarray, sample_rate: int) -> np.ndarray: ...

    def embed_text(self, texts: Sequence[str]) -> np.ndarray: ...


def as_wave_list(waves: Sequence[np.ndarray] | np.ndarray) -> list[np.ndarray]:
    """Mono float32 arrays from a sequence of arrays or a 2-D ``(n, frames)`` array; refuses NaN/Inf/empty."""
    if isinstance(waves, np.ndarray) and waves.ndim == 2:
        items = list(waves)
    elif isinstance(waves, np.ndarray) and waves.ndim == 1:
        items = [waves]
    else:
        items = list(waves)
    out = []
    for i, w in enumerate(items):
        w = np.asarray(w, dtype=np.float32)
        if w.ndim == 2 and w.shape[1] == 1:
            w = w[:, 0]
        if w.ndim != 1 or w.size == 0:
            raise ValueError(f"wave {i}: expected a non-empty mono array, got shape {w.shape}")
        if not np.isfinite(w).all():
            raise ValueError(f"wave {i}: NaN/Inf samples")
        out.append(w)
    return out


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm, float32 (a zero row stays zero)."""
    x = np.asarray(x, dtype=np.float64)
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.where(norm > 0, norm, 1.0)).astype(np.float32)


def fit_length(wave: np.ndarray, frames: int) -> np.ndarray:
    """Deterministic crop (centre) or tile (repeat from the start) of ``wave`` to exactly ``frames`` samples."""
    n = len(wave)
    if n >= frames:
        start = (n - frames) // 2
        return wave[start : start + frames]
    reps = -(-frames // n)
    return np.tile(wave, reps)[:frames]
