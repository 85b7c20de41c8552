"""How levels are defined, measured and applied when a mixture is rendered.

- **Full scale** is 1.0; dBFS values are ``20 log10(rms)`` of float samples.
- **Noise level** ``level_dbfs``: the RMS of the background's **W channel over the whole mixture** (the clip is
  looped from its ``offset`` to fill the mixture) is set to ``level_dbfs``.
- **Event level** ``snr_db``: the RMS of the event's wet image (dry excerpt convolved with its 4-channel RIR),
  **W channel, over the event's active samples** ``[onset, onset + length)``, is set to ``snr_db`` dB above
  the noise level — or above the row's ``reference_dbfs`` when the mixture has no noise. The same gain
  scales the event's ``dry``, ``direct`` and ``wet`` references, so they stay consistent with the mixture.
- **Clipping policy**: after mixing, if the largest absolute sample of the mixture or of any stored reference
  exceeds ``PEAK_CEILING`` (0.99), everything is scaled by one global gain that brings it to the ceiling; the
  gain is recorded as ``clip_gain_db`` (0.0 when untouched). Nothing is ever clipped sample by sample.
- An event whose active W samples are all zero (a silent excerpt) gets gain 0 and ``silent: true`` in the
  mixture metadata instead of an infinite gain.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np

PEAK_CEILING = 0.99
SILENCE_RMS = 1e-9


def rms(x: np.ndarray) -> float:
    """Root mean square of ``x`` in float64 (0.0 for an empty array)."""
    x = np.asarray(x, dtype=np.float64)
    return float(np.sqrt(np.mean(x * x))) if x.size else 0.0


def db_to_gain(db: float) -> float:
    return 10.0 ** (db / 20.0)


def gain_to_db(gain: float) -> float:
    return 20.0 * math.log10(gain) if gain > 0 else -math.inf


def gain_for_level(current_rms: float, target_dbfs: float) -> float:
    """Gain that brings a signal of RMS ``current_rms`` to ``target_dbfs`` (0 for silence)."""
    if current_rms <= SILENCE_RMS:
        return 0.0
    return db_to_gain(target_dbfs) / current_rms


def clip_gain(peaks: list[float]) -> float:
    """One global gain (<= 1) that keeps every peak at or below ``PEAK_CEILING``."""
    peak = max(peaks, default=0.0)
    return 1.0 if peak <= PEAK_CEILING else PEAK_CEILING / peak


def clip_gain_bounded(peaks: list[float], bounded: Iterable[tuple[float, Callable[[], float]]]) -> float:
    """:func:`clip_gain` over ``peaks`` and over peaks known first by an upper bound: each ``(bound, exact)``
    pair's ``exact()`` is called only when the bound exceeds both the ceiling and every peak known so far, so
    the gain equals :func:`clip_gain` over every exact peak without computing the ones that cannot matter."""
    known = list(peaks)
    for bound, exact in bounded:
        if bound > max(PEAK_CEILING, *known):
            known.append(exact())
    return clip_gain(known)
