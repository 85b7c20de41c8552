"""Room-acoustic figures of an impulse response: direct-path arrival, DRR, and RT60 by Schroeder integration.

All figures are measured on the W (omnidirectional) channel of an AmbiX RIR.

- Direct path: the first sample reaching half the absolute maximum, refined to the largest of it and the next
  7 samples (a fractional-delay arrival spreads over neighbouring samples; a later, stronger reflection is
  never taken for the direct sound).
- DRR: energy within +/- 2.5 ms of the direct path over the energy of everything after that window, in dB.
- RT60: the energy decay curve (backward integral of h^2, with the noise floor estimated from the last 10 % of
  the response subtracted as in Chu's method) fitted by least squares between -5 and -25 dB and extrapolated
  to 60 dB (T20). Per octave band the response is first filtered by a 3rd-order Butterworth octave band-pass.
  The single figure ``rt60_mid`` is the mean of the 500 Hz and 1 kHz bands (ISO 3382's T_mid).
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfilt

OCTAVE_CENTRES_HZ = (125, 250, 500, 1000, 2000, 4000, 8000)
DIRECT_HALF_WINDOW_S = 0.0025
DIRECT_REFINE_SAMPLES = 8
FIT_RANGE_DB = (-5.0, -25.0)


def direct_sample(w: np.ndarray) -> int:
    """Index of the direct-path peak of an omnidirectional impulse response."""
    a = np.abs(np.asarray(w, dtype=np.float64))
    peak = a.max() if a.size else 0.0
    if not np.isfinite(peak) or peak <= 0.0:
        raise ValueError("impulse response is all zeros (or not finite); no direct path")
    first = int(np.argmax(a >= 0.5 * peak))
    return first + int(np.argmax(a[first : first + DIRECT_REFINE_SAMPLES]))


def drr_db(w: np.ndarray, sample_rate: int, direct: int | None = None) -> float:
    """Direct-to-reverberant ratio in dB (direct window +/- 2.5 ms around the direct peak)."""
    w = np.asarray(w, dtype=np.float64)
    d = direct_sample(w) if direct is None else direct
    half = round(DIRECT_HALF_WINDOW_S * sample_rate)
    lo, hi = max(0, d - half), d + half + 1
    e_direct = float(np.sum(w[lo:hi] ** 2))
    e_rev = float(np.sum(w[hi:] ** 2))
    if e_rev <= 0.0:
        return float("inf")
    return 10.0 * np.log10(e_direct / e_rev)


def energy_decay_db(h: np.ndarray) -> np.ndarray:
    """Schroeder energy decay curve in dB re its start, with the noise floor (last 10 %) subtracted."""
    e = np.asarray(h, dtype=np.float64) ** 2
    tail = e[-max(1, len(e) // 10) :]
    noise = float(np.median(tail))
    edc = np.cumsum(e[::-1])[::-1] - noise * np.arange(len(e), 0, -1)
    edc = np.maximum(edc, edc[0] * 1e-12 if edc[0] > 0 else 1e-300)
    if edc[0] <= 0:
        raise ValueError("impulse response holds no energy")
    return 10.0 * np.log10(edc / edc[0])


def rt60_from_decay(
    edc_db: np.ndarray, sample_rate: int, fit_range: tuple[float, float] = FIT_RANGE_DB
) -> float | None:
    """RT60 from a decay curve by a least-squares line between ``fit_range`` dB; None if it never gets there."""
    hi, lo = fit_range
    start = int(np.argmax(edc_db <= hi))
    if edc_db[start] > hi or not np.any(edc_db <= lo):
        return None
    stop = int(np.argmax(edc_db <= lo))
    if stop - start < 4:
        return None
    t = np.arange(start, stop) / sample_rate
    slope, _ = np.polyfit(t, edc_db[start:stop], 1)
    if slope >= 0:
        return None
    return float(-60.0 / slope)


def octave_band(h: np.ndarray, sample_rate: int, centre_hz: float) -> np.ndarray:
    """``h`` filtered by a 3rd-order Butterworth octave band-pass around ``centre_hz``."""
    lo, hi = centre_hz / np.sqrt(2.0), centre_hz * np.sqrt(2.0)
    sos = butter(3, [lo, hi], btype="bandpass", fs=sample_rate, output="sos")
    return sosfilt(sos, np.asarray(h, dtype=np.float64))


def band_rt60(w: np.ndarray, sample_rate: int) -> dict[str, float | None]:
    """RT60 (T20) per octave band of the W channel, for bands whose upper edge is below Nyquist."""
    out: dict[str, float | None] = {}
    for fc in OCTAVE_CENTRES_HZ:
        if fc * np.sqrt(2.0) >= sample_rate / 2:
            continue
        out[str(fc)] = rt60_from_decay(energy_decay_db(octave_band(w, sample_rate, fc)), sample_rate)
    return out


def rt60_mid(bands: dict[str, float | None]) -> float | None:
    """Mean RT60 of the 500 Hz and 1 kHz bands; None when either is unmeasurable."""
    vals = [bands.get("500"), bands.get("1000")]
    if any(v is None for v in vals):
        return None
    return float(np.mean(vals))


def analyse_rir(foa: np.ndarray, sample_rate: int) -> dict:
    """Direct sample, DRR, RT60 per band and mid-frequency RT60 of a ``(frames, 4)`` AmbiX RIR (W channel)."""
    w = np.asarray(foa, dtype=np.float64)[:, 0]
    d = direct_sample(w)
    bands = band_rt60(w, sample_rate)
    return {
        "direct_sample": d,
        "drr_db": round(drr_db(w, sample_rate, d), 3),
        "rt60_bands": {k: (None if v is None else round(v, 4)) for k, v in bands.items()},
        "rt60_measured": None if rt60_mid(bands) is None else round(rt60_mid(bands), 4),
    }
