"""A point cloud of any size as the fixed-size tensor a point-cloud encoder takes: ``(n, 4)`` = x, y, z, valid."""

from __future__ import annotations

import numpy as np


def fixed_size_cloud(points: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``(n, 4)`` float32: ``n`` of the cloud's points (a seeded subset without replacement, or every point and
    seeded repeats when it has fewer) with a last column of ones; all zeros (no valid point) for an empty cloud."""
    pts = np.asarray(points, dtype=np.float32).reshape(-1, 3)
    out = np.zeros((n, 4), dtype=np.float32)
    if not len(pts):
        return out
    rng = np.random.default_rng(int(seed))
    if len(pts) >= n:
        pick = np.sort(rng.choice(len(pts), size=n, replace=False))
    else:
        pick = np.concatenate([np.arange(len(pts)), rng.choice(len(pts), size=n - len(pts), replace=True)])
    out[:, :3] = pts[pick]
    out[:, 3] = 1.0
    return out
