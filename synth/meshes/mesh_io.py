"""Mesh files of a mesh bank: ``.npz`` with ``vertices`` (V, 3) float32 metres and ``faces`` (F, 3) int32."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from foabench.synth.audio_io import atomic_write_bytes


class MeshFileError(ValueError):
    """A mesh file that is not a readable, valid triangle mesh."""


def mesh_bytes(vertices: np.ndarray, faces: np.ndarray) -> bytes:
    """The ``.npz`` bytes of a mesh (deterministic: the same arrays give the same bytes)."""
    buf = io.BytesIO()
    np.savez_compressed(buf, vertices=np.asarray(vertices, dtype=np.float32), faces=np.asarray(faces, dtype=np.int32))
    return buf.getvalue()


def write_mesh(path: str | Path, vertices: np.ndarray, faces: np.ndarray) -> None:
    """Store a mesh atomically."""
    atomic_write_bytes(path, mesh_bytes(vertices, faces))


def read_mesh(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(vertices float64 (V, 3), faces int64 (F, 3)) of a mesh file, checked: finite vertices, faces in range."""
    try:
        with np.load(path, allow_pickle=False) as data:
            vertices, faces = np.asarray(data["vertices"], np.float64), np.asarray(data["faces"], np.int64)
    except (OSError, ValueError, KeyError) as exc:
        raise MeshFileError(f"{path}: not a foabench mesh file ({exc})") from exc
    if vertices.ndim != 2 or vertices.shape[1] != 3 or faces.ndim != 2 or faces.shape[1] != 3 or not len(faces):
        raise MeshFileError(f"{path}: vertices must be (V, 3) and faces (F, 3) with F > 0")
    if not np.isfinite(vertices).all():
        raise MeshFileError(f"{path}: vertices hold NaN or Inf")
    if faces.min() < 0 or faces.max() >= len(vertices):
        raise MeshFileError(f"{path}: faces index vertices outside 0..{len(vertices) - 1}")
    return vertices, faces
