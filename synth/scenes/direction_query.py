"""Direction queries: "the sound from there", a pointing at the target with a recorded, sampled uncertainty.

A spec asks for them with ``queries.direction: {model, spread_deg}``; every target then records

    ``query.direction = {"azimuth", "elevation", "model", "spread_deg", "seed"}``

— a pointing in degrees in the AmbiX frame (azimuth counter-clockwise from the front, elevation up), drawn
around the target's true direction from the recorded seed:

- ``vmf``: a von Mises–Fisher distribution with concentration ``kappa = 1 / spread²`` (``spread`` in radians),
  so for small spreads each tangent axis of the error has standard deviation ``spread_deg``;
  ``P(cos θ <= t) = (e^{κt} − e^{−κ}) / (e^{κ} − e^{−κ})`` for the angle ``θ`` to the true direction;
- ``cone``: uniform over the spherical cap of half-angle ``spread_deg`` (``cos θ`` uniform in ``[cos A, 1]``).

``spread_deg`` is itself drawn per target from a distribution, so a model sees precise and imprecise pointings.
The pointing is a pure function of (true direction, model, spread, seed), so a manifest check re-derives it
(:func:`check_direction_query`). It is the query, not oracle information: the true direction stays the oracle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from foabench.synth.foa import angular_distance, direction_of, unit_vector

MODELS = ("vmf", "cone")
KEYS = ("azimuth", "elevation", "model", "spread_deg", "seed")
DECIMALS = 4  # azimuth/elevation are recorded like the events' directions
#: a recorded pointing may differ from the re-derived one by rounding on another machine's maths library
CHECK_TOLERANCE_DEG = 1e-3


@dataclass(frozen=True)
class DirectionQuerySpec:
    """``queries.direction`` of a scene spec: the error model and the distribution of its spread (degrees)."""

    model: str
    spread_deg: object  # a Dist (foabench.synth.scenes.spec)

    def to_dict(self) -> dict:
        return {"model": self.model, "spread_deg": self.spread_deg.to_dict()}


def kappa_of(spread_deg: float) -> float:
    """The vMF concentration whose small-angle per-axis standard deviation is ``spread_deg``."""
    return 1.0 / math.radians(spread_deg) ** 2


def cone_cos_error(half_angle_deg: float, u: float) -> float:
    """cos θ of a direction uniform over the cap of ``half_angle_deg``, for a uniform draw ``u`` (inverse CDF)."""
    return 1.0 - u * (1.0 - math.cos(math.radians(half_angle_deg)))


def _cos_error(model: str, spread_deg: float, u: float) -> float:
    """cos θ of the pointing error for a uniform draw ``u`` in [0, 1) (inverse CDF)."""
    if model == "cone":
        return cone_cos_error(spread_deg, u)
    kappa = kappa_of(spread_deg)
    # inverse of P(cos θ <= t) = (e^{κt} − e^{−κ}) / (e^{κ} − e^{−κ}), written to stay finite for large κ
    return 1.0 + math.log1p(-u * -math.expm1(-2.0 * kappa)) / kappa if u > 0 else 1.0


def error_cdf(model: str, spread_deg: float, cos_theta: np.ndarray) -> np.ndarray:
    """``P(cos θ <= t)`` of the pointing error, for checking samples against the model."""
    t = np.asarray(cos_theta, dtype=np.float64)
    if model == "cone":
        lo = math.cos(math.radians(spread_deg))
        return np.clip((t - lo) / (1.0 - lo), 0.0, 1.0)
    kappa = kappa_of(spread_deg)
    return np.clip(np.exp(kappa * (t - 1.0)) * -np.expm1(-kappa * (t + 1.0)) / -math.expm1(-2.0 * kappa), 0.0, 1.0)


def pointing(azimuth: float, elevation: float, model: str, spread_deg: float, seed: int) -> tuple[float, float]:
    """The pointing (azimuth, elevation in degrees, rounded like the manifest) for one target and seed."""
    if model not in MODELS:
        raise ValueError(f"unknown direction query model {model!r}; known: {', '.join(MODELS)}")
    if not 0.0 <= spread_deg < 180.0:
        raise ValueError(f"direction query spread must be within [0, 180) degrees, got {spread_deg}")
    rng = np.random.default_rng(int(seed))
    u, phi = float(rng.uniform()), float(rng.uniform(0.0, 2.0 * math.pi))
    if spread_deg == 0.0:
        return round(float(azimuth), DECIMALS), round(float(elevation), DECIMALS)
    return offset_direction(azimuth, elevation, _cos_error(model, spread_deg, u), phi)


def offset_direction(azimuth: float, elevation: float, cos_theta: float, phi: float) -> tuple[float, float]:
    """The direction at angle ``arccos(cos_theta)`` from ``(azimuth, elevation)``, turned by ``phi`` (radians)
    around it; degrees, rounded like the manifest."""
    s = math.sqrt(max(0.0, 1.0 - cos_theta * cos_theta))
    mean = unit_vector(float(azimuth), float(elevation))
    helper = np.array([0.0, 0.0, 1.0]) if abs(mean[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    e1 = np.cross(mean, helper)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(mean, e1)
    az, el, _ = direction_of(cos_theta * mean + s * (math.cos(phi) * e1 + math.sin(phi) * e2))
    return round(float(az), DECIMALS), round(float(el), DECIMALS)


def make_direction_query(event: dict, model: str, spread_deg: float, seed: int) -> dict:
    """The ``query.direction`` record of a target event (its ``azimuth``/``elevation`` are the truth)."""
    spread = round(float(spread_deg), DECIMALS)
    az, el = pointing(event["azimuth"], event["elevation"], model, spread, seed)
    return {"azimuth": az, "elevation": el, "model": model, "spread_deg": spread, "seed": int(seed)}


def check_direction_query(event: dict, where: str) -> str | None:
    """A problem with a target's recorded direction query (fields, or a pointing its seed does not give), or None."""
    query = event["query"]["direction"]
    if not isinstance(query, dict) or set(query) != set(KEYS):
        return f"{where}: direction query needs exactly {list(KEYS)}"
    try:
        expected = pointing(event["azimuth"], event["elevation"], query["model"], float(query["spread_deg"]),
                            int(query["seed"]))  # fmt: skip
    except (TypeError, ValueError, KeyError) as exc:
        return f"{where}: direction query: {exc}"
    recorded = (float(query["azimuth"]), float(query["elevation"]))
    if angular_distance(*recorded, *expected) > CHECK_TOLERANCE_DEG:
        return (f"{where}: direction query points at ({query['azimuth']}, {query['elevation']}), its seed gives "
                f"{expected}: edited after sampling")  # fmt: skip
    return None
