"""Evaluation metrics, in float64: SI-SDR, SDR as plain SNR (the DCASE definition), and their improvements.

For an estimate ``e`` and a reference ``r`` (mono, same length):

- ``si_sdr``: both zero-meaned; ``a = <e, r> / <r, r>``; ``10 log10(||a r||^2 / ||e - a r||^2)`` dB.
- ``sdr`` (plain SNR, as DCASE 2025 Task 4 scores it): ``10 log10(||r||^2 / ||r - e||^2)`` dB, no scaling,
  no mean removal.
- improvements (``si_sdri``, ``sdri``): the metric of the estimate minus the same metric of the mixture's W
  channel against the same reference.

Defined behaviour at the edges:

- **Silent reference**: a reference whose RMS is below :data:`SILENT_RMS` (-100 dBFS) has no defined SDR; all
  its metrics are ``NaN`` and the row is flagged ``silent_reference``. Summaries count such rows and leave
  them out of every mean (the renderer only produces them when a whole target event is cut by the mixture's
  end or clipped out, which the samplers avoid).
- **Perfect estimate**: the error energy is floored at ``||r||^2 * 10^(-MAX_DB/10)``, so every metric is
  capped at :data:`MAX_DB` (+100 dB) instead of ``inf``.
- **Silent estimate** (energy below ``||r||^2 * 1e-20``): SI-SDR is ``-MAX_DB`` (it has no component along
  the reference; scale invariance would otherwise make it 0/0); SDR is 0 dB (the error is the reference).
"""

from __future__ import annotations

import numpy as np

SILENT_RMS = 1e-5  # -100 dBFS
MAX_DB = 100.0


def _pair(est: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    est = np.asarray(est, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if est.shape != ref.shape:
        raise ValueError(f"shape mismatch: estimate {est.shape} vs reference {ref.shape}")
    if not (np.isfinite(est).all() and np.isfinite(ref).all()):
        raise ValueError("NaN/Inf in the estimate or the reference")
    return est, ref


def is_silent(ref: np.ndarray) -> np.ndarray:
    """``(...)`` bool: references with RMS below :data:`SILENT_RMS`."""
    ref = np.asarray(ref, dtype=np.float64)
    return np.sqrt(np.mean(ref**2, axis=-1)) < SILENT_RMS


def _ratio_db(signal: np.ndarray, error: np.ndarray, ref_energy: np.ndarray) -> np.ndarray:
    floor = ref_energy * 10 ** (-MAX_DB / 10)
    signal = np.maximum(signal, floor)
    with np.errstate(divide="ignore", invalid="ignore"):  # silent references give NaN, masked by the callers
        return np.clip(10 * np.log10(signal / np.maximum(error, floor)), -MAX_DB, MAX_DB)


def si_sdr(est: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Scale-invariant SDR (dB) over the last axis; ``NaN`` for silent references."""
    est, ref = _pair(est, ref)
    e = est - est.mean(-1, keepdims=True)
    r = ref - ref.mean(-1, keepdims=True)
    energy = (r**2).sum(-1)
    safe = np.where(energy > 0, energy, 1.0)
    alpha = (e * r).sum(-1) / safe
    target = alpha[..., None] * r
    out = _ratio_db((target**2).sum(-1), ((e - target) ** 2).sum(-1), energy)
    out = np.where((e**2).sum(-1) <= energy * 1e-20, -MAX_DB, out)
    return np.where(is_silent(ref), np.nan, out)


def sdr(est: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """SDR as plain SNR (dB) over the last axis: ``10 log10(||r||^2 / ||r - e||^2)``; ``NaN`` for silent
    references."""
    est, ref = _pair(est, ref)
    energy = (ref**2).sum(-1)
    out = _ratio_db(energy, ((ref - est) ** 2).sum(-1), energy)
    return np.where(is_silent(ref), np.nan, out)


def score(est: np.ndarray, ref: np.ndarray, mixture_w: np.ndarray) -> dict[str, np.ndarray]:
    """SI-SDR, SDR, the mixture's values and the improvements, each ``(...)`` float64."""
    out = {"si_sdr": si_sdr(est, ref), "sdr": sdr(est, ref)}
    out["mixture_si_sdr"] = si_sdr(mixture_w, ref)
    out["mixture_sdr"] = sdr(mixture_w, ref)
    out["si_sdri"] = out["si_sdr"] - out["mixture_si_sdr"]
    out["sdri"] = out["sdr"] - out["mixture_sdr"]
    return out
