"""Point clouds that users bring: real scans of a target or a whole scene, posed in the microphone frame.

A folder holds, per mixture (row id) ``ID``, any of

- ``ID_K.npz`` / ``ID_K.ply``: the cloud of target ``K`` (its number among the row's targets, from 0);
- ``ID.npz``: the whole scene, with ``ids`` (N,) naming each point's event index in the row (-1: not a source).

An ``.npz`` holds ``points`` (N, 3) in metres and ``pose`` (4, 4); a ``.ply`` (ASCII or binary, read with
``trimesh``) has its pose beside it in ``NAME.pose.json`` as ``{"pose": [[...] x 4]}``. The pose is the rigid
transform from the file's frame to the microphone's AmbiX frame (x front, y left, z up) and is required: an
identity pose has to be written out, so a scan in its scanner's frame is never taken for one in the
microphone's. A per-target file wins over the scene file.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


class UserCloudError(ValueError):
    """A user point cloud that cannot be used as given (named, with the reason)."""


def check_pose(pose: object, where: str) -> np.ndarray:
    """A 4×4 rigid transform (rotation with determinant +1, last row 0 0 0 1), or a clear error."""
    try:
        m = np.asarray(pose, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise UserCloudError(f"{where}: pose is not a 4x4 matrix of numbers ({exc})") from exc
    if m.shape != (4, 4) or not np.isfinite(m).all():
        raise UserCloudError(f"{where}: pose must be a finite 4x4 matrix, got shape {m.shape}")
    rot = m[:3, :3]
    if not np.allclose(m[3], [0, 0, 0, 1], atol=1e-9) or not np.allclose(rot @ rot.T, np.eye(3), atol=1e-5) \
            or np.linalg.det(rot) < 0:  # fmt: skip
        raise UserCloudError(f"{where}: pose must be rigid (a rotation and a translation; last row 0 0 0 1)")
    return m


def _points(points: object, where: str) -> np.ndarray:
    p = np.asarray(points, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 3:
        raise UserCloudError(f"{where}: points must be (N, 3), got shape {p.shape}")
    if not np.isfinite(p).all():
        raise UserCloudError(f"{where}: points hold NaN or Inf")
    return p


def _posed(points: np.ndarray, pose: np.ndarray) -> np.ndarray:
    return (points @ pose[:3, :3].T + pose[:3, 3]).astype(np.float32)


def read_user_cloud(path: str | Path) -> tuple[np.ndarray, np.ndarray | None]:
    """(points (N, 3) float32 in the microphone frame, ids (N,) or None) of one ``.npz`` or ``.ply`` file."""
    path = Path(path)
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as z:
                data = {k: z[k] for k in z.files}
        except (OSError, ValueError) as exc:
            raise UserCloudError(f"{path}: not a readable .npz ({exc})") from exc
        if "points" not in data or "pose" not in data:
            raise UserCloudError(f"{path}: needs 'points' (N, 3) and 'pose' (4, 4); has {sorted(data)}")
        points = _points(data["points"], str(path))
        ids = data.get("ids")
        if ids is not None and np.asarray(ids).shape != (len(points),):
            raise UserCloudError(f"{path}: ids must be (N,) = ({len(points)},), got {np.asarray(ids).shape}")
        return _posed(points, check_pose(data["pose"], str(path))), None if ids is None else np.asarray(ids, np.int64)
    if path.suffix == ".ply":
        import trimesh

        pose_path = path.with_name(path.stem + ".pose.json")
        if not pose_path.is_file():
            raise UserCloudError(f'{path}: no pose ({pose_path.name} with {{"pose": 4x4}}, file -> microphone frame)')
        try:
            pose = json.loads(pose_path.read_text())["pose"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise UserCloudError(f'{pose_path}: expected {{"pose": 4x4}} ({exc})') from exc
        try:
            geometry = trimesh.load(path, process=False)
        except Exception as exc:  # trimesh raises many kinds for a broken file
            raise UserCloudError(f"{path}: not a readable PLY ({exc})") from exc
        vertices = getattr(geometry, "vertices", None)
        if vertices is None:
            raise UserCloudError(f"{path}: holds no points")
        return _posed(_points(vertices, str(path)), check_pose(pose, str(pose_path))), None
    raise UserCloudError(f"{path}: point clouds are .npz or .ply")


class UserClouds:
    """A folder of user point clouds (see the module docstring), looked up per target."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise UserCloudError(f"{self.folder}: no such folder of point clouds")

    def target_cloud(self, row: dict, event: int) -> np.ndarray:
        """The cloud of event ``event`` of ``row`` (a target), ``(N, 3)`` float32 in the microphone frame."""
        targets = [j for j, ev in enumerate(row["events"]) if ev["role"] == "target"]
        if event not in targets:
            raise UserCloudError(f"row {row['id']}: event {event} is not a target")
        k = targets.index(event)
        for suffix in (".npz", ".ply"):
            path = self.folder / f"{row['id']}_{k}{suffix}"
            if path.is_file():
                return read_user_cloud(path)[0]
        scene = self.folder / f"{row['id']}.npz"
        if scene.is_file():
            points, ids = read_user_cloud(scene)
            if ids is None:
                raise UserCloudError(f"{scene}: a scene cloud needs 'ids' (each point's event index)")
            return points[ids == event]
        raise UserCloudError(f"{self.folder}: no cloud for row {row['id']} target {k} "
                             f"({row['id']}_{k}.npz, {row['id']}_{k}.ply or {row['id']}.npz)")  # fmt: skip
