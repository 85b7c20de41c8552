"""A mono noise recording encoded as a spatially diffuse first-order (AmbiX) field.

Method (:func:`encode_diffuse`):

1. The clip is made seamlessly loopable: its last ``crossfade_s`` (50 ms) are crossfaded with equal power
   (sine/cosine gains) into its start, and dropped from the end, so sample ``n - 1`` flows into sample 0.
2. ``D = 32`` copies of the looped clip are circularly time-shifted: shift ``d`` is ``(d + u_d) * n / D``,
   spread evenly over the clip length with a seeded jitter ``u_d`` in ``[-JITTER/2, JITTER/2)``, and each
   copy gets a seeded random polarity (so that neither the lowest frequencies nor a regular comb of shifts
   adds up coherently in W).
3. Copy ``d`` arrives as a plane wave from direction ``d`` of :func:`foabench.synth.sphere.design_directions` (a
   spherical 5-design, rotated at random with the seed), encoded with :func:`foabench.synth.foa.encode_vectors`; the
   copies are summed and scaled by ``1 / sqrt(D)``, so W keeps the recording's power.

4. Energy calibration (``calibrate=True``, the default): each channel is scaled so that over the clip W
   carries exactly the looped recording's power and each of Y, Z and X exactly a third of it. For noise the
   plane-wave sum is already within a few per cent of that, so the correction is small; a tonal recording's
   levels are one random draw (see below) and are brought to the diffuse-field ratios by it
   (:func:`calibration_gains`).

Because the directions form a 5-design, ``sum x_d**2 = sum y_d**2 = sum z_d**2 = D / 3`` and
``sum x_d = sum x_d * y_d = 0``: with mutually uncorrelated copies the result has
``E[X^2] = E[Y^2] = E[Z^2] = E[W^2] / 3`` and uncorrelated channels, the statistics of a diffuse field in
SN3D. The output is itself seamlessly loopable (a sum of circular shifts of a loopable signal).

Why time shifts and not decorrelation filters: short decorrelation filters (all-pass, velvet noise) are
LTI with responses shorter than an STFT frame, so every channel is a filtered copy of one signal; their
magnitude-squared coherence stays at 1 at every frequency, and any FOA analysis sees one smeared source, not
a diffuse field. Shifts of ``n / D`` (hundreds of milliseconds) exceed any analysis frame and the correlation
time of noise, so the copies are different excerpts -- practically independent realisations -- and the
coherence between channels drops to about zero. The statistics hold over bandwidths wider than about
``D / duration`` Hz, which is why clips shorter than ``min_duration_s`` (1 s) are refused.
Tonal content (mains hum, a drone) stays coherent at its frequency: a sinusoid has one degree of freedom per
channel, so every shifted copy is the same sinusoid with another phase. That is physically unavoidable -- a
reverberant tonal field at one point is a fixed mixture of sinusoids too -- and the channel levels of a pure
tone are then one random draw (a standing-wave pattern) until the calibration of step 4 sets them.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from foabench.synth.banks.clip_rules import ClipRejected
from foabench.synth.foa import encode_vectors
from foabench.synth.sphere import design_directions

CROSSFADE_S = 0.05
MIN_DURATION_S = 1.0
JITTER = 0.5  # width of the uniform shift jitter, as a fraction of the spacing n / D


def make_loopable(mono: np.ndarray, crossfade: int) -> np.ndarray:
    """``mono`` with its last ``crossfade`` samples faded (equal power) into its start; ``crossfade`` shorter."""
    x = np.asarray(mono, dtype=np.float64)
    n = x.shape[0]
    if crossfade <= 0:
        return x.copy()
    if 2 * crossfade > n:
        raise ValueError(f"crossfade of {crossfade} samples needs a clip of at least {2 * crossfade}, got {n}")
    phase = (np.arange(crossfade) + 0.5) / crossfade * (np.pi / 2)
    out = x[: n - crossfade].copy()
    out[:crossfade] = x[:crossfade] * np.sin(phase) + x[n - crossfade :] * np.cos(phase)
    return out


def diffuse_shifts(n: int, count: int, rng: np.random.Generator, jitter: float = JITTER) -> np.ndarray:
    """``count`` circular shifts spread evenly over ``n`` samples, each jittered by ``jitter`` of the spacing."""
    spacing = n / count
    offsets = np.arange(count) + rng.uniform(-jitter / 2, jitter / 2, count)
    return np.round(offsets * spacing).astype(np.int64) % n


def encode_plane_waves(signals: Iterable[np.ndarray], directions: np.ndarray) -> np.ndarray:
    """``sum_d encode(direction_d) * signal_d / sqrt(D)`` as float64 ``(frames, 4)`` AmbiX.

    ``signals`` may be a generator, so that only one copy is held in memory at a time."""
    gains = encode_vectors(directions)
    out: np.ndarray | None = None  # (4, frames): contiguous rows accumulate fastest
    for sig, g in zip(signals, gains, strict=True):
        term = g[:, None] * np.asarray(sig, dtype=np.float64)[None, :]
        if out is None:
            out = term
        else:
            out += term
    if out is None:
        raise ValueError("no signals to encode")
    return np.ascontiguousarray(out.T) / np.sqrt(gains.shape[0])


def encode_diffuse(
    mono: np.ndarray,
    seed: int,
    *,
    sample_rate: int = 32000,
    crossfade_s: float = CROSSFADE_S,
    min_duration_s: float = MIN_DURATION_S,
    jitter: float = JITTER,
    calibrate: bool = True,
) -> np.ndarray:
    """Encode a mono recording as a diffuse AmbiX field, float32 ``(frames, 4)``; see the module docstring.

    The output is ``round(crossfade_s * sample_rate)`` frames shorter than the input (the loop crossfade) and
    the same for the same ``seed``. Raises ValueError for non-mono or non-finite input, and ``ClipRejected``
    (a ValueError with reason ``too_short``) for a clip shorter than ``min_duration_s``."""
    x = np.asarray(mono)
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 1:
        raise ValueError(f"encode_diffuse needs mono audio (frames,), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("encode_diffuse: input holds NaN/Inf samples")
    duration = x.shape[0] / sample_rate
    if duration < min_duration_s:
        raise ClipRejected(
            "too_short",
            f"clip of {duration:.3f} s is too short to decorrelate into a diffuse field (needs >= {min_duration_s} s)",
        )
    looped = make_loopable(x, round(crossfade_s * sample_rate))
    rng = np.random.default_rng(seed)
    directions = design_directions(rng)
    count = directions.shape[0]
    shifts = rng.permutation(diffuse_shifts(looped.shape[0], count, rng, jitter))
    polarity = rng.choice(np.array([-1.0, 1.0]), count)
    copies = (p * np.roll(looped, s) for p, s in zip(polarity, shifts, strict=True))
    foa = encode_plane_waves(copies, directions)
    if calibrate:
        foa *= calibration_gains(foa, float(np.mean(looped**2)))[None, :]
    return foa.astype(np.float32)


def calibration_gains(foa: np.ndarray, power: float) -> np.ndarray:
    """Per-channel gains that give W the power ``power`` and each of Y, Z, X a third of it (silent: 1)."""
    energy = np.mean(np.asarray(foa, dtype=np.float64) ** 2, axis=0)
    target = np.array([power, power / 3, power / 3, power / 3])
    return np.where(energy > 0, np.sqrt(target / np.maximum(energy, 1e-300)), 1.0)


def diffuseness(foa: np.ndarray) -> dict:
    """How close ``(frames, 4)`` AmbiX is to diffuse: each of Y, Z, X energy over W energy (1/3 when diffuse),
    the largest zero-lag correlation coefficient between channels, and the pseudo-intensity length
    ``|mean(W * [X, Y, Z])| / mean(W^2)`` (0 when diffuse, 1 for a single plane wave)."""
    x = np.asarray(foa, dtype=np.float64)
    cov = x.T @ x / max(1, x.shape[0])
    power = np.diag(cov)
    if power[0] <= 0:
        raise ValueError("diffuseness of a signal with a silent W channel is undefined")
    rho = cov / np.sqrt(np.maximum(np.outer(power, power), 1e-300))
    return {
        "ratios_yzx": [round(float(r), 4) for r in power[1:] / power[0]],
        "max_abs_rho": round(float(np.abs(rho[np.triu_indices(4, 1)]).max()), 4),
        "intensity": round(float(np.linalg.norm(cov[0, 1:]) / power[0]), 4),
    }
