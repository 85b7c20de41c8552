"""First-order ambisonics conventions: AmbiX encoding, directions, and conversion from other conventions.

foabench is AmbiX everywhere: ACN channel order ``[W, Y, Z, X]`` with SN3D normalisation, so a unit plane wave
from azimuth ``az``, elevation ``el`` encodes as ``W = 1, Y = sin(az)cos(el), Z = sin(el), X = cos(az)cos(el)``.
Coordinates are right-handed with x front, y left, z up; azimuth counter-clockwise from +x in (-180, 180],
elevation from the horizontal plane in [-90, 90], both in degrees.

Conventions that importers convert from (first order, per channel, relative to AmbiX):

========================  ==============  ======================================================
name                      channel order   gains that turn it into SN3D
========================  ==============  ======================================================
``ambix`` (ACN/SN3D)      W Y Z X         identity
``fuma`` (Furse-Malham)   W X Y Z         W * sqrt(2); X, Y, Z unchanged (maxN = SN3D at order 1)
``n3d`` (ACN/N3D)         W Y Z X         W unchanged; Y, Z, X / sqrt(3)
``orthonormal`` (ACN)     W Y Z X         W * sqrt(4 pi); Y, Z, X * sqrt(4 pi / 3)
========================  ==============  ======================================================

``orthonormal`` is the real orthonormal spherical-harmonic basis without Condon-Shortley phase, as
pyroomacoustics and spaudiopy (real SH) return it.
"""

from __future__ import annotations

import math

import numpy as np

CHANNELS = ("W", "Y", "Z", "X")
CONVENTIONS = ("ambix", "fuma", "n3d", "orthonormal")
CONVENTION_ALIASES = {
    "ambix": "ambix",
    "sn3d": "ambix",
    "acn-sn3d": "ambix",
    "acn_sn3d": "ambix",
    "fuma": "fuma",
    "b-format": "fuma",
    "n3d": "n3d",
    "acn-n3d": "n3d",
    "acn_n3d": "n3d",
    "orthonormal": "orthonormal",
    "ortho": "orthonormal",
    "sh-orthonormal": "orthonormal",
}

# (source channel index for each AmbiX channel W, Y, Z, X), (gain applied to it)
_TO_AMBIX: dict[str, tuple[tuple[int, int, int, int], tuple[float, float, float, float]]] = {
    "ambix": ((0, 1, 2, 3), (1.0, 1.0, 1.0, 1.0)),
    "fuma": ((0, 2, 3, 1), (math.sqrt(2.0), 1.0, 1.0, 1.0)),
    "n3d": ((0, 1, 2, 3), (1.0, 1 / math.sqrt(3.0), 1 / math.sqrt(3.0), 1 / math.sqrt(3.0))),
    "orthonormal": (
        (0, 1, 2, 3),
        (math.sqrt(4 * math.pi),) + (math.sqrt(4 * math.pi / 3),) * 3,
    ),
}


class ConventionError(ValueError):
    """An FOA convention that is missing, unknown or ambiguous."""


def normalize_convention(name: str | None, where: str = "") -> str:
    """Canonical convention name for ``name``; a missing or unknown name is an error naming ``where``."""
    at = f"{where}: " if where else ""
    if name is None or not str(name).strip():
        raise ConventionError(
            f"{at}FOA convention not declared; say which one it is ({', '.join(CONVENTIONS)}) - "
            "foabench never guesses channel order or normalisation"
        )
    key = str(name).strip().lower()
    if key not in CONVENTION_ALIASES:
        raise ConventionError(f"{at}unknown FOA convention {name!r}; known: {', '.join(CONVENTIONS)}")
    return CONVENTION_ALIASES[key]


def convention_from_parts(ordering: str | None, normalization: str | None, where: str = "") -> str:
    """Convention from separate channel-ordering and normalisation declarations (as SOFA files carry them)."""
    at = f"{where}: " if where else ""
    order = (ordering or "").strip().lower()
    norm = (normalization or "").strip().lower()
    if not order and not norm:
        return normalize_convention(None, where)
    if order in ("fuma", "furse-malham") or norm in ("fuma", "maxn"):
        if order not in ("", "fuma", "furse-malham") or norm not in ("", "fuma", "maxn"):
            raise ConventionError(
                f"{at}ambiguous FOA convention: ordering {ordering!r}, normalisation {normalization!r}"
            )
        return "fuma"
    if order not in ("", "acn"):
        raise ConventionError(f"{at}unsupported channel ordering {ordering!r} (acn or fuma)")
    if not norm:
        raise ConventionError(f"{at}channel ordering {ordering!r} given without a normalisation; ambiguous")
    return normalize_convention(norm, where)


def to_ambix(signal: np.ndarray, convention: str, channel_axis: int = -1) -> np.ndarray:
    """Convert a first-order signal (4 channels along ``channel_axis``) from ``convention`` to AmbiX."""
    conv = normalize_convention(convention)
    signal = np.asarray(signal)
    if signal.shape[channel_axis] != 4:
        raise ValueError(f"expected 4 FOA channels along axis {channel_axis}, got shape {signal.shape}")
    order, gains = _TO_AMBIX[conv]
    moved = np.moveaxis(signal, channel_axis, -1)
    out = moved[..., list(order)] * np.asarray(gains, dtype=np.float64)
    return np.moveaxis(out.astype(signal.dtype if signal.dtype.kind == "f" else np.float64), -1, channel_axis)


def from_ambix(signal: np.ndarray, convention: str, channel_axis: int = -1) -> np.ndarray:
    """The inverse of :func:`to_ambix` (AmbiX to ``convention``); used to write test files in other conventions."""
    conv = normalize_convention(convention)
    signal = np.asarray(signal)
    order, gains = _TO_AMBIX[conv]
    moved = np.moveaxis(signal, channel_axis, -1)
    out = np.empty_like(moved, dtype=np.float64)
    for ambix_idx, (src_idx, g) in enumerate(zip(order, gains, strict=True)):
        out[..., src_idx] = moved[..., ambix_idx] / g
    return np.moveaxis(out.astype(signal.dtype if signal.dtype.kind == "f" else np.float64), -1, channel_axis)


def unit_vector(azimuth_deg: np.ndarray | float, elevation_deg: np.ndarray | float) -> np.ndarray:
    """Unit vectors ``(..., 3)`` as (x, y, z) for azimuth/elevation in degrees."""
    az = np.radians(np.asarray(azimuth_deg, dtype=np.float64))
    el = np.radians(np.asarray(elevation_deg, dtype=np.float64))
    return np.stack([np.cos(az) * np.cos(el), np.sin(az) * np.cos(el), np.sin(el)], axis=-1)


def direction_of(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Azimuth (deg, (-180, 180]), elevation (deg) and length of vectors ``(..., 3)``."""
    v = np.asarray(vectors, dtype=np.float64)
    r = np.linalg.norm(v, axis=-1)
    if np.any(r == 0):
        raise ValueError("direction of a zero vector is undefined")
    az = np.degrees(np.arctan2(v[..., 1], v[..., 0]))
    az = np.where(az <= -180.0, az + 360.0, az)
    el = np.degrees(np.arcsin(np.clip(v[..., 2] / r, -1.0, 1.0)))
    return az, el, r


def encode_vectors(vectors: np.ndarray) -> np.ndarray:
    """AmbiX gains ``(..., 4)`` of plane waves arriving from the directions of ``vectors`` ``(..., 3)``."""
    v = np.asarray(vectors, dtype=np.float64)
    u = v / np.linalg.norm(v, axis=-1, keepdims=True)
    return np.stack([np.ones(u.shape[:-1]), u[..., 1], u[..., 2], u[..., 0]], axis=-1)


def encode_direction(azimuth_deg: np.ndarray | float, elevation_deg: np.ndarray | float) -> np.ndarray:
    """AmbiX gains ``(..., 4)``: ``[1, sin(az)cos(el), sin(el), cos(az)cos(el)]``."""
    return encode_vectors(unit_vector(azimuth_deg, elevation_deg))


def intensity_direction(foa: np.ndarray) -> tuple[float, float]:
    """Azimuth and elevation (deg) of the time-averaged pseudo-intensity ``sum W * [X, Y, Z]`` of ``(frames, 4)``."""
    foa = np.asarray(foa, dtype=np.float64)
    if foa.ndim != 2 or foa.shape[1] != 4:
        raise ValueError(f"expected (frames, 4) AmbiX, got {foa.shape}")
    w = foa[:, 0]
    vec = np.array([np.dot(w, foa[:, 3]), np.dot(w, foa[:, 1]), np.dot(w, foa[:, 2])])
    az, el, _ = direction_of(vec)
    return float(az), float(el)


def angular_distance(az1: float, el1: float, az2: float, el2: float) -> float:
    """Great-circle angle in degrees between two directions.

    Computed as ``atan2(|u x v|, u . v)``, accurate at every angle; ``arccos(u . v)`` loses about 1e-6 degrees
    near 0 and 180 (float64 rounding of a dot product close to +-1)."""
    u = unit_vector(az1, el1)
    v = unit_vector(az2, el2)
    return float(np.degrees(np.arctan2(np.linalg.norm(np.cross(u, v)), np.dot(u, v))))


def check_foa(wave: np.ndarray, where: str, allow_silent: bool = False) -> np.ndarray:
    """Validate a first-order signal ``(frames, 4)``: finite, non-empty and (unless allowed) not all zeros.

    Returns it as float32; raises :class:`foabench.synth.audio_io.AudioError` naming ``where`` otherwise."""
    from foabench.synth.audio_io import AudioError

    wave = np.asarray(wave)
    if wave.ndim != 2 or wave.shape[1] != 4:
        raise AudioError(f"{where}: expected 4 first-order ambisonic channels, got shape {wave.shape}")
    if wave.shape[0] == 0:
        raise AudioError(f"{where}: holds no samples")
    if not np.isfinite(wave).all():
        raise AudioError(f"{where}: {int(wave.size - np.isfinite(wave).sum())} NaN/Inf samples")
    if not allow_silent and not np.any(wave):
        raise AudioError(f"{where}: all samples are zero")
    return wave.astype(np.float32)
