"""Headphone previews of FOA: a stereo decode made with spaudiopy's spherical harmonics and modal weights.

:func:`stereo_preview` steers two virtual first-order cardioids at azimuth +90° (left) and −90° (right) in the
horizontal plane: spaudiopy's real orthonormal SH at each steering direction (``sph.sh_matrix``) weighted per
order by its cardioid modal weights (``sph.cardioid_modal_weights``), applied to the AmbiX mixture converted to
orthonormal SH, each beam scaled to unit on-axis gain. A plane wave from azimuth ``a`` in the horizontal plane
reaches the left channel with gain ``(1 + sin a) / 2`` and the right with ``(1 − sin a) / 2`` (tested). It is a
spatial preview — left/right placement and front/back blur of a coincident pair — not a binaural rendering
(no HRIRs ship offline). :data:`DECODER` describes it for the report.
"""

from __future__ import annotations

import numpy as np

from foabench.synth.foa import encode_direction, from_ambix
from foabench.synth.spaudiopy_compat import import_spaudiopy

STEERING_DEG = (90.0, -90.0)  # left, right
DECODER = "stereo: virtual cardioid pair at ±90° azimuth (spaudiopy sph.sh_matrix + cardioid modal weights)"


def _beam_weights() -> np.ndarray:
    """``(4, 2)`` weights on orthonormal ACN channels: one column per ear, unit on-axis gain."""
    spa = import_spaudiopy()
    az = np.radians(np.array(STEERING_DEG))
    y = spa.sph.sh_matrix(1, az, np.full(2, np.pi / 2), "real")  # (2, 4), zenith 90°: horizontal plane
    w = np.asarray(spa.sph.cardioid_modal_weights(1), dtype=np.float64)
    weights = (y * w[[0, 1, 1, 1]]).T  # (4, 2)
    on_axis = np.einsum("kc,ck->k", y, weights)  # a plane wave from each steering direction encodes as y
    return weights / on_axis


def placed_preview(mono: np.ndarray, azimuth: float, elevation: float) -> np.ndarray:
    """A mono signal heard from ``(azimuth, elevation)``: encoded as a plane wave in AmbiX, then through
    :func:`stereo_preview` — an estimate put back where its source is."""
    wave = np.asarray(mono, dtype=np.float64).reshape(-1, 1)
    return stereo_preview(wave * encode_direction(azimuth, elevation)[None, :])


def stereo_preview(foa: np.ndarray) -> np.ndarray:
    """``(frames, 4)`` AmbiX FOA -> ``(frames, 2)`` float32 left/right preview (see the module docstring)."""
    foa = np.asarray(foa, dtype=np.float64)
    if foa.ndim != 2 or foa.shape[1] != 4:
        raise ValueError(f"need (frames, 4) AmbiX FOA, got shape {foa.shape}")
    return (from_ambix(foa, "orthonormal") @ _beam_weights()).astype(np.float32)
