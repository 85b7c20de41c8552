"""Direction sets covering the sphere evenly, for diffuse-field synthesis.

:func:`design_directions` returns the 12 vertices of an icosahedron and the 20 vertices of a dodecahedron
(32 unit vectors). Each of the two polyhedra is a spherical 5-design, so their union is one too: averages of
any polynomial of degree <= 5 over the set equal the sphere average. For first-order ambisonics that gives
exact diffuse-field statistics: sum(x) = 0, sum(x*y) = 0 and sum(x^2) = sum(y^2) = sum(z^2) = N/3, so plane
waves of equal power from these directions encode with E[X^2] = E[Y^2] = E[Z^2] = E[W^2]/3 (SN3D).
A seeded random rotation keeps the set a 5-design while avoiding fixed directions.
"""

from __future__ import annotations

import numpy as np

_PHI = (1.0 + 5.0**0.5) / 2.0


def _icosahedron() -> np.ndarray:
    v = []
    for a in (-1.0, 1.0):
        for b in (-_PHI, _PHI):
            v += [(0.0, a, b), (a, b, 0.0), (b, 0.0, a)]
    return np.array(v)


def _dodecahedron() -> np.ndarray:
    v = [(x, y, z) for x in (-1.0, 1.0) for y in (-1.0, 1.0) for z in (-1.0, 1.0)]
    for a in (-1.0, 1.0):
        for b in (-1.0, 1.0):
            v += [(0.0, a / _PHI, b * _PHI), (a / _PHI, b * _PHI, 0.0), (b * _PHI, 0.0, a / _PHI)]
    return np.array(v)


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A rotation matrix drawn uniformly from SO(3) (QR of a Gaussian matrix with sign fix)."""
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    q = q @ np.diag(np.sign(np.diag(r)))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


def design_directions(rng: np.random.Generator | None = None) -> np.ndarray:
    """32 unit vectors ``(32, 3)`` forming a spherical 5-design, randomly rotated when ``rng`` is given."""
    dirs = np.vstack([_icosahedron(), _dodecahedron()])
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    if rng is not None:
        dirs = dirs @ random_rotation(rng).T
    return dirs
