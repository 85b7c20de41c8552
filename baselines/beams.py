"""Fixed first-order beams (virtual microphones) steered at a direction, on AmbiX (ACN, SN3D) signals.

A first-order beam toward the unit direction ``d`` is ``y = a W + b (d_x X + d_y Y + d_z Z)``. For a plane
wave from the unit direction ``u`` (``W = s``, ``[X, Y, Z] = u s``) it gives ``y = (a + b cos g) s`` with
``g`` the angle between ``d`` and ``u``: in SN3D the first-order spherical harmonics of a direction are just
its Cartesian components, so the addition theorem ``sum_m Y_1m(d) Y_1m(u) = P_1(cos g) = cos g`` holds with
no extra factor (in N3D it would be ``3 cos g``). ``a + b = 1`` gives unit gain toward ``d``.

Patterns (``PATTERNS``, each ``(a, b)``):

- ``cardioid`` ``(1/2, 1/2)``: ``(1 + cos g) / 2``, a single null at 180 degrees.
- ``hypercardioid`` ``(1/4, 3/4)``: the first-order pattern of maximum directivity. With ``a + b = 1`` the
  diffuse-field power gain is ``a^2 + b^2 / 3`` (the sphere mean of ``cos^2`` is 1/3), minimal at
  ``a = 1/4``; directivity factor 4 (6.02 dB), null at ``arccos(-1/3) = 109.47`` degrees. It is also the
  MVDR beam for a diffuse noise field (see :mod:`foabench.baselines.mpdr`).
- ``max_re`` ``(1/(1+sqrt 3), sqrt 3/(1+sqrt 3))``: the 3-D max-rE weighting. Order-``N`` max-rE weights are
  ``g_n = P_n(r_E)`` with ``r_E`` the largest root of ``P_{N+1}`` (Daniel; Zotter & Frank approximate
  ``r_E ~ cos(137.9 deg / (N + 1.51))``). For ``N = 1``, ``P_2(x) = (3x^2 - 1) / 2`` gives
  ``g_1 = 1/sqrt 3``. A basic sampling decoder in the orthonormal (N3D) basis weights order ``n`` by
  ``(2n + 1) g_n``, so the beam is ``1 + 3 g_1 cos g = 1 + sqrt 3 cos g``, normalised to unit on-axis gain.
  Gain at 90 degrees is ``a = 0.366``, null at ``arccos(-1/sqrt 3) = 125.26`` degrees.
"""

from __future__ import annotations

import math

import numpy as np

from foabench.baselines.spectral import as_foa
from foabench.synth.foa import encode_direction

_SQRT3 = math.sqrt(3.0)

PATTERNS: dict[str, tuple[float, float]] = {
    "cardioid": (0.5, 0.5),
    "hypercardioid": (0.25, 0.75),
    "max_re": (1.0 / (1.0 + _SQRT3), _SQRT3 / (1.0 + _SQRT3)),
}

Pattern = str | tuple[float, float]


def pattern_coefficients(pattern: Pattern) -> tuple[float, float]:
    """``(a, b)`` of a named pattern, or of an explicit ``(a, b)`` pair (returned as given)."""
    if isinstance(pattern, str):
        if pattern not in PATTERNS:
            raise ValueError(f"unknown beam pattern {pattern!r}; known: {', '.join(PATTERNS)}")
        return PATTERNS[pattern]
    a, b = pattern
    return float(a), float(b)


def steering_vector(az: float, el: float) -> np.ndarray:
    """AmbiX gains ``(4,)`` ``[W, Y, Z, X]`` of a unit plane wave from azimuth/elevation ``az``/``el`` (deg)."""
    return np.asarray(encode_direction(float(az), float(el)), dtype=np.float64)


def beam_weights(pattern: Pattern, az: float, el: float) -> np.ndarray:
    """Weights ``(4,)`` in ACN order of the first-order ``pattern`` steered at ``(az, el)``; ``y = w . foa``."""
    a, b = pattern_coefficients(pattern)
    v = steering_vector(az, el)
    return np.array([a, b * v[1], b * v[2], b * v[3]])


def fixed_beam(foa: np.ndarray, az: float, el: float, pattern: Pattern = "cardioid") -> np.ndarray:
    """Mono float32 ``(L,)`` output of a fixed first-order beam on channels-first AmbiX ``foa`` ``(4, L)``."""
    x = as_foa(foa)
    return (beam_weights(pattern, az, el) @ x).astype(np.float32)


def pattern_gain(pattern: Pattern, angle_deg: np.ndarray | float) -> np.ndarray:
    """Amplitude gain ``a + b cos(angle)`` (signed) of ``pattern`` at ``angle_deg`` off its look direction."""
    a, b = pattern_coefficients(pattern)
    return a + b * np.cos(np.radians(np.asarray(angle_deg, dtype=np.float64)))


def directivity_index(pattern: Pattern) -> float:
    """3-D directivity index in dB, ``10 log10((a + b)^2 / (a^2 + b^2 / 3))`` (on-axis vs diffuse power)."""
    a, b = pattern_coefficients(pattern)
    return float(10.0 * math.log10((a + b) ** 2 / (a * a + b * b / 3.0)))
