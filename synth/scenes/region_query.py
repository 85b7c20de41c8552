"""Region queries: "what lies in there", an azimuth/elevation cone or box that holds the target.

A spec asks for them with ``queries.region: {shape, size_deg, jitter}``; every target then records

    ``query.region = {"shape", "azimuth", "elevation", "size_deg", "jitter", "seed", "inside", "ambiguous"}``

in degrees in the AmbiX frame:

- ``cone``: the directions within ``size_deg`` (the half-angle) of the centre ``(azimuth, elevation)``;
- ``box``: azimuth within ``size_deg / 2`` of the centre's (wrapping at ±180°) and elevation within
  ``size_deg / 2`` of the centre's (a square in azimuth/elevation, clipped at the poles).

The centre is drawn from the recorded seed so that the target always lies inside: for a cone, uniformly over
the cap of radius ``jitter * size_deg`` around the target; for a box, each coordinate within ``jitter *
size_deg / 2`` of the target's. ``size_deg`` is drawn per target. ``inside`` lists the indices (in the row's
``events``) of every other event whose direction falls in the region — targets and interferers alike — and
``ambiguous`` is true when that list is not empty: the region then names more than the target, and a separator
cannot be asked to tell which one is meant from the region alone. Everything is a pure function of the row and
the seed, and reading a manifest re-derives it (:func:`check_region_query`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from foabench.synth.foa import angular_distance
from foabench.synth.scenes.direction_query import cone_cos_error, offset_direction

SHAPES = ("cone", "box")
KEYS = ("shape", "azimuth", "elevation", "size_deg", "jitter", "seed", "inside", "ambiguous")
DECIMALS = 4
CHECK_TOLERANCE_DEG = 1e-3


@dataclass(frozen=True)
class RegionQuerySpec:
    """``queries.region`` of a scene spec: the shape, the distribution of its size (degrees) and the jitter."""

    shape: str
    size_deg: object  # a Dist (foabench.synth.scenes.spec)
    jitter: float


def _wrap(azimuth: float) -> float:
    """Azimuth in (-180, 180]."""
    a = math.fmod(azimuth + 180.0, 360.0)
    return 180.0 - math.fmod(360.0 - a, 360.0) if a <= 0 else a - 180.0


def contains(region: dict, azimuth: float, elevation: float) -> bool:
    """Whether the direction ``(azimuth, elevation)`` lies in ``region`` (shape, centre, size_deg)."""
    if region["shape"] == "cone":
        return angular_distance(region["azimuth"], region["elevation"], azimuth, elevation) <= region["size_deg"]
    half = region["size_deg"] / 2.0
    if abs(elevation - region["elevation"]) > half:
        return False
    return abs(_wrap(azimuth - region["azimuth"])) <= half or abs(elevation) >= 90.0 - 1e-9


def region_centre(azimuth: float, elevation: float, shape: str, size_deg: float, jitter: float,
                  seed: int) -> tuple[float, float]:  # fmt: skip
    """The region's centre for one target and seed (rounded like the manifest); the target always lies inside."""
    if shape not in SHAPES:
        raise ValueError(f"unknown region shape {shape!r}; known: {', '.join(SHAPES)}")
    if not 0.0 < size_deg <= 180.0 or not 0.0 <= jitter <= 1.0:
        raise ValueError(f"region size within (0, 180] degrees and jitter within [0, 1], got {size_deg}, {jitter}")
    rng = np.random.default_rng(int(seed))
    u, v = float(rng.uniform()), float(rng.uniform())
    if shape == "box":
        reach = 0.999 * jitter * size_deg / 2.0  # strictly inside, also after rounding
        az = _wrap(azimuth + (2.0 * u - 1.0) * reach)
        el = float(np.clip(elevation + (2.0 * v - 1.0) * reach, -90.0, 90.0))
        return round(az, DECIMALS), round(el, DECIMALS)
    # area-uniform over the cap within the reach: the direction queries' "cone" error model
    return offset_direction(azimuth, elevation, cone_cos_error(0.999 * jitter * size_deg, u), 2.0 * math.pi * v)


def make_region_query(events: list[dict], k: int, shape: str, size_deg: float, jitter: float, seed: int) -> dict:
    """The ``query.region`` record of target ``events[k]`` (every event's ``azimuth``/``elevation`` is the truth)."""
    size = round(float(size_deg), DECIMALS)
    target = events[k]
    az, el = region_centre(target["azimuth"], target["elevation"], shape, size, jitter, seed)
    region = {"shape": shape, "azimuth": az, "elevation": el, "size_deg": size, "jitter": float(jitter),
              "seed": int(seed)}  # fmt: skip
    inside = [i for i, e in enumerate(events) if i != k and contains(region, e["azimuth"], e["elevation"])]
    return {**region, "inside": inside, "ambiguous": bool(inside)}


def check_region_query(events: list[dict], k: int, where: str) -> str | None:
    """A problem with target ``events[k]``'s recorded region query (fields, a centre its seed does not give, the
    target outside, ``inside``/``ambiguous`` not what the row's directions give), or None."""
    region = events[k]["query"]["region"]
    if not isinstance(region, dict) or set(region) != set(KEYS) or region.get("shape") not in SHAPES:
        return f"{where}: region query needs exactly {list(KEYS)} with shape one of {list(SHAPES)}"
    target = events[k]
    if not contains(region, target["azimuth"], target["elevation"]):
        return f"{where}: the region query does not hold its own target"
    try:
        centre = region_centre(target["azimuth"], target["elevation"], region["shape"], float(region["size_deg"]),
                               float(region["jitter"]), int(region["seed"]))  # fmt: skip
    except (TypeError, ValueError) as exc:
        return f"{where}: region query: {exc}"
    if angular_distance(region["azimuth"], region["elevation"], *centre) > CHECK_TOLERANCE_DEG:
        return (f"{where}: region centre ({region['azimuth']}, {region['elevation']}) is not what its seed gives: "
                "edited after sampling")  # fmt: skip
    inside = [i for i, e in enumerate(events) if i != k and contains(region, e["azimuth"], e["elevation"])]
    if region["inside"] != inside or region["ambiguous"] != bool(inside):
        return f"{where}: region query records inside {region['inside']}, the row's directions give {inside}"
    return None


def region_vector(region: dict) -> np.ndarray:
    """A region query as the 4 numbers a region-conditioned model reads: centre azimuth, elevation, ``size_deg``
    (degrees) and 1 for a box, 0 for a cone (float32)."""
    box = 1.0 if region["shape"] == "box" else 0.0
    return np.array([region["azimuth"], region["elevation"], region["size_deg"], box], dtype=np.float32)
