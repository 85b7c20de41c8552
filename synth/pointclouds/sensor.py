"""A depth sensor at the microphone: one return per angular pixel, the nearest surface, with range noise.

The sensor sees the whole sphere on an equirectangular grid of ``resolution_deg`` (a 360° depth camera or a
spinning LiDAR); each pixel returns the nearest surface along it, so points behind another object are hidden
(occlusion) and the density of points on a surface falls with the square of its range, as with any real sensor
of fixed angular resolution. Ranges get Gaussian noise of standard deviation ``noise_m[0] + noise_m[1]·r²``
(the quadratic growth of stereo/time-of-flight depth error), returns beyond ``max_range_m`` are lost, and each
return drops out with probability ``dropout``.

Surfaces are given as analytic room boxes (exact per-pixel ray intersection) and as triangle meshes, which are
sampled densely enough for every pixel they cover (about :data:`SAMPLES_PER_PIXEL` samples per pixel or more,
triangles drawn by the solid angle they subtend) and depth-buffered per pixel.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

SAMPLES_PER_PIXEL = 8.0
MAX_SAMPLES_PER_MESH = 400_000
ROOM_ID = -1  # the object id of room surfaces in a scene cloud


@dataclass(frozen=True)
class DepthSensor:
    """The sensor's settings (recorded with every capture, so a cloud is rebuilt from its row alone)."""

    resolution_deg: float = 1.0
    max_range_m: float = 10.0
    noise_m: tuple[float, float] = (0.002, 0.002)
    dropout: float = 0.01

    def __post_init__(self):
        if not 0.05 <= self.resolution_deg <= 10.0:
            raise ValueError(f"sensor resolution_deg must lie within [0.05, 10], got {self.resolution_deg}")
        if self.max_range_m <= 0 or min(self.noise_m) < 0 or not 0.0 <= self.dropout < 1.0:
            raise ValueError("sensor needs max_range_m > 0, noise_m >= 0 and dropout within [0, 1)")

    def to_dict(self) -> dict:
        return {"resolution_deg": self.resolution_deg, "max_range_m": self.max_range_m,
                "noise_m": list(self.noise_m), "dropout": self.dropout}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict) -> DepthSensor:
        known = {"resolution_deg", "max_range_m", "noise_m", "dropout"}
        if not isinstance(data, dict) or set(data) - known:
            raise ValueError(f"sensor: a mapping of {sorted(known)}, got {data!r}")
        noise = data.get("noise_m", (0.002, 0.002))
        if isinstance(noise, (int, float)):
            noise = (float(noise), 0.0)
        if len(noise) != 2:
            raise ValueError(f"sensor noise_m: [a, b] for sigma = a + b r^2, got {noise!r}")
        return cls(float(data.get("resolution_deg", 1.0)), float(data.get("max_range_m", 10.0)),
                   (float(noise[0]), float(noise[1])), float(data.get("dropout", 0.01)))  # fmt: skip

    @property
    def grid(self) -> tuple[int, int]:
        """(rows in elevation, columns in azimuth)."""
        return max(1, round(180.0 / self.resolution_deg)), max(1, round(360.0 / self.resolution_deg))


@dataclass(frozen=True)
class Mesh:
    """A triangle mesh placed in the microphone frame, with the object id its points get."""

    vertices: np.ndarray  # (V, 3) metres
    faces: np.ndarray  # (F, 3)
    object_id: int  # >= 0
    areas: np.ndarray | None = None  # (F,) triangle areas, when known (see :func:`face_areas`)


@dataclass(frozen=True)
class Capture:
    """A capture: points (N, 3) float32 in metres in the AmbiX frame, their object ids (N,) int16 (``ROOM_ID``
    for room surfaces), in pixel order."""

    points: np.ndarray
    ids: np.ndarray

    def of(self, object_id: int) -> np.ndarray:
        return self.points[self.ids == object_id]


def pixel_of(directions: np.ndarray, sensor: DepthSensor) -> np.ndarray:
    """Flat pixel index of unit (or any non-zero) vectors ``(N, 3)``."""
    rows, cols = sensor.grid
    az = np.arctan2(directions[:, 1], directions[:, 0])  # (-pi, pi]
    el = np.arctan2(directions[:, 2], np.hypot(directions[:, 0], directions[:, 1]))  # [-pi/2, pi/2]
    r = np.clip(((math.pi / 2 - el) / math.pi * rows).astype(np.int64), 0, rows - 1)
    c = np.clip(((az + math.pi) / (2 * math.pi) * cols).astype(np.int64), 0, cols - 1)
    return r * cols + c


@functools.lru_cache(maxsize=4)
def pixel_directions(sensor: DepthSensor) -> np.ndarray:
    """Unit vectors ``(rows·cols, 3)`` through every pixel centre (read-only, cached per sensor)."""
    rows, cols = sensor.grid
    el = math.pi / 2 - (np.arange(rows) + 0.5) / rows * math.pi
    az = (np.arange(cols) + 0.5) / cols * 2 * math.pi - math.pi
    el_g, az_g = np.meshgrid(el, az, indexing="ij")
    dirs = np.stack([np.cos(az_g) * np.cos(el_g), np.sin(az_g) * np.cos(el_g), np.sin(el_g)], axis=-1).reshape(-1, 3)
    dirs.setflags(write=False)
    return dirs


def box_ranges(directions: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Range from the origin (inside the box ``lo < 0 < hi``) to the box's walls along each direction."""
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = np.where(directions > 0, hi, lo)
        t = np.where(directions != 0, bound / directions, np.inf)
    return t.min(axis=1)


def face_areas(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area of every triangle (unchanged by rotation and translation, so it can be computed once per mesh)."""
    tri = vertices[faces]
    return 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)


def sample_surface(mesh: Mesh, count: int, rng: np.random.Generator, weights: np.ndarray | None = None) -> np.ndarray:
    """``count`` points on the mesh: triangles drawn by ``weights`` (default: their areas), uniform within each."""
    w = face_areas(mesh.vertices, mesh.faces) if weights is None else weights
    per_face = rng.multinomial(count, w / w.sum())
    pick = np.repeat(np.arange(len(w)), per_face)
    u, v = rng.uniform(size=count), rng.uniform(size=count)
    flip = u + v > 1.0
    u, v = np.where(flip, 1.0 - u, u), np.where(flip, 1.0 - v, v)
    t = mesh.vertices[mesh.faces[pick]]
    return t[:, 0] + u[:, None] * (t[:, 1] - t[:, 0]) + v[:, None] * (t[:, 2] - t[:, 0])


def _mesh_samples(mesh: Mesh, sensor: DepthSensor, rng: np.random.Generator) -> np.ndarray:
    """Samples of a mesh dense enough for every pixel it covers: triangles are drawn in proportion to the solid
    angle they subtend (area / range²), so each covered pixel gets about :data:`SAMPLES_PER_PIXEL` samples or more
    (more where a surface is seen at a grazing angle) whatever its range."""
    area = mesh.areas if mesh.areas is not None else face_areas(mesh.vertices, mesh.faces)
    centre = mesh.vertices[mesh.faces].mean(axis=1)
    weights = area / np.maximum(np.einsum("ij,ij->i", centre, centre), 0.05**2)
    pixel_sr = math.radians(sensor.resolution_deg) ** 2
    count = int(min(MAX_SAMPLES_PER_MESH, max(500, math.ceil(SAMPLES_PER_PIXEL * float(weights.sum()) / pixel_sr))))
    return sample_surface(mesh, count, rng, weights)


def _cone(vertices: np.ndarray) -> tuple[np.ndarray, float]:
    """A cone from the origin holding every vertex: (unit axis, half-angle in radians; pi when it holds the origin)."""
    axis = vertices.mean(axis=0)
    norm = np.linalg.norm(axis)
    if norm < 1e-9:
        return np.array([1.0, 0.0, 0.0]), math.pi
    axis = axis / norm
    r = np.linalg.norm(vertices, axis=1)
    if r.min() < 1e-9:
        return axis, math.pi
    return axis, float(np.arccos(np.clip((vertices @ axis) / r, -1.0, 1.0)).max())


def capture(meshes: list[Mesh], sensor: DepthSensor, seed: int, room: tuple[np.ndarray, np.ndarray] | None = None,
            only: int | None = None) -> Capture:  # fmt: skip
    """What the sensor at the origin sees of ``meshes`` inside ``room`` (``(lo, hi)`` corners relative to the
    sensor, or None for no room surfaces), drawn from ``seed``.

    Each mesh draws its samples from its own stream (``seed``, its object id) and every pixel its range noise and
    dropout from a per-pixel stream, so ``only=ID`` — the points of one object, skipping the meshes whose cones
    cannot reach its pixels — gives exactly the points of that object in the full capture, at a fraction of the
    cost (the training data path asks for one target's cloud)."""
    rows, cols = sensor.grid
    n_pix = rows * cols
    dirs = pixel_directions(sensor)
    seen = slice(None)  # the pixels whose walls matter: all, or (with ``only``) those the object can cover
    if only is not None:
        wanted = [m for m in meshes if m.object_id == only]
        if wanted:
            axis, half = _cone(wanted[0].vertices)
            margin = 2.0 * math.radians(sensor.resolution_deg)  # a sample and its pixel's centre: within this

            def reaches(m: Mesh) -> bool:
                other_axis, other_half = _cone(m.vertices)
                gap = math.acos(float(np.clip(axis @ other_axis, -1.0, 1.0)))
                return m.object_id == only or gap <= half + other_half + margin

            meshes = [m for m in meshes if reaches(m)]
            seen = np.flatnonzero(dirs @ axis >= math.cos(min(math.pi, half + margin)))
        else:
            meshes, seen = [], np.zeros(0, dtype=np.int64)
    best_r = np.full(n_pix, np.inf)
    if room is not None:
        best_r[seen] = box_ranges(dirs[seen], np.asarray(room[0], np.float64), np.asarray(room[1], np.float64))
    parts, part_ids = [np.zeros((0, 3))], [np.zeros(0, np.int16)]
    for mesh in meshes:
        pts = _mesh_samples(mesh, sensor, np.random.default_rng(np.random.SeedSequence([int(seed), 1, mesh.object_id])))
        parts.append(pts)
        part_ids.append(np.full(len(pts), mesh.object_id, dtype=np.int16))
    pts, ids = np.concatenate(parts), np.concatenate(part_ids)
    r = np.linalg.norm(pts, axis=1)
    pix = pixel_of(pts, sensor)
    np.minimum.at(best_r, pix, r)  # the depth buffer: each pixel's nearest surface
    win = np.flatnonzero(r == best_r[pix])
    win = win[np.unique(pix[win], return_index=True)[1]]  # one sample per pixel (the first, should two tie)
    sample_of = np.full(n_pix, -1, dtype=np.int64)  # the winning sample of each pixel an object covers
    sample_of[pix[win]] = win
    obj = np.full(n_pix, ROOM_ID, dtype=np.int16)
    obj[pix[win]] = ids[win]
    noise_rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0]))
    noise, drop = noise_rng.normal(size=n_pix), noise_rng.uniform(size=n_pix)
    hit = np.isfinite(best_r) & (best_r <= sensor.max_range_m) & (drop >= sensor.dropout)
    if only is not None:
        hit &= obj == only
    hit = np.flatnonzero(hit)
    rng_ = best_r[hit]
    on_object = sample_of[hit] >= 0
    point = dirs[hit] * rng_[:, None]  # a wall: the pixel's centre ray at its range; an object: its sample
    point[on_object] = pts[sample_of[hit][on_object]]
    noisy = np.maximum(rng_ + noise[hit] * (sensor.noise_m[0] + sensor.noise_m[1] * rng_**2), 1e-3)
    return Capture((point * (noisy / rng_)[:, None]).astype(np.float32), obj[hit])
