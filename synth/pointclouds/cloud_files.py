"""Point clouds as files: ``.npz`` bytes (``points`` (N, 3) float32 metres; ``ids`` (N,) int16 for a scene) and
ASCII ``.ply`` for viewers. The same bytes for the same cloud, so exports are reproducible."""

from __future__ import annotations

import io

import numpy as np


def cloud_npz_bytes(points: np.ndarray, ids: np.ndarray | None = None) -> bytes:
    """A cloud (and, for a scene, its per-point object ids) as ``.npz`` bytes."""
    arrays = {"points": np.asarray(points, dtype=np.float32).reshape(-1, 3)}
    if ids is not None:
        arrays["ids"] = np.asarray(ids, dtype=np.int16).reshape(-1)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def read_cloud_npz(data: bytes) -> tuple[np.ndarray, np.ndarray | None]:
    """(points (N, 3) float32, ids (N,) int16 or None) of :func:`cloud_npz_bytes`."""
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return np.asarray(z["points"], np.float32), (np.asarray(z["ids"], np.int16) if "ids" in z else None)


def ply_text(points: np.ndarray, ids: np.ndarray | None = None) -> str:
    """An ASCII PLY of the cloud (with an ``id`` property per vertex for a scene)."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    head = ["ply", "format ascii 1.0", "comment foabench point cloud, metres, AmbiX frame (x front, y left, z up)",
            f"element vertex {len(pts)}", "property float x", "property float y", "property float z"]  # fmt: skip
    if ids is not None:
        head.append("property short id")
    rows = [f"{x:.5f} {y:.5f} {z:.5f}" for x, y, z in pts]
    if ids is not None:
        rows = [f"{r} {int(i)}" for r, i in zip(rows, np.asarray(ids).reshape(-1), strict=True)]
    return "\n".join([*head, "end_header", *rows]) + "\n"
