"""High-quality, deterministic sample-rate conversion (libsoxr, very-high quality)."""

from __future__ import annotations

import numpy as np
import soxr


def resample(wave: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample (frames,) or (frames, channels) float audio; returns float32, a copy when rates match."""
    if from_rate <= 0 or to_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {from_rate} -> {to_rate}")
    x = np.ascontiguousarray(wave, dtype=np.float32)
    if from_rate == to_rate:
        return x.copy()
    return np.asarray(soxr.resample(x, from_rate, to_rate, quality="VHQ"), dtype=np.float32)
