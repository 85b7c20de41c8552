"""Band layout of the BSAST band-split encoder: 25 non-overlapping subbands defined by frequency in Hz.

The paper (arXiv 2510.13308) fixes N = 25 non-overlapping subbands but not their edges. The default here:

- 5 bands of 100 Hz from 0 to 500 Hz (constant width, where most sources put their fundamentals and the
  STFT has few bins), then
- 20 quarter-octave bands from 500 Hz to 16 kHz (edges ``500 * 2**(k/4)``, k = 0..20; five octaves, four
  bands per octave), the last one closed by the Nyquist frequency.

Why: band-split models give low frequencies narrow, equal-width bands and let widths grow roughly in
proportion to frequency above that (constant relative bandwidth, like auditory filters). The first
quarter-octave band (500 -> 595 Hz, 95 Hz wide) continues the 100 Hz bands without a jump in width, and
4 bands/octave x 5 octaves + 5 linear bands gives exactly the paper's 25. Widths run from 100 Hz to 2.5 kHz
(6 to 164 bins at n_fft 2048 / 32 kHz, 3 to 82 at n_fft 1024), so no band is empty at the preset
resolutions and none dominates the parameter count of the per-band projections.

Edges are the 24 *interior* boundaries in Hz; band 0 starts at DC and the last band ends at (and includes)
the Nyquist bin, so the layout scales with ``n_fft`` and the sample rate: at a higher rate the last band
absorbs everything above its lower edge; an edge at or above Nyquist is an error.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence


def quarter_octave_edges_hz(
    linear_width: float = 100.0, linear_top: float = 500.0, f_max: float = 16000.0, per_octave: int = 4
) -> tuple[float, ...]:
    """Interior band edges: ``linear_width``-wide bands up to ``linear_top``, then ``per_octave`` log-spaced
    bands per octave up to ``f_max`` (which is *not* included: the last band ends at Nyquist)."""
    n_lin = round(linear_top / linear_width)
    edges = [linear_width * k for k in range(1, n_lin + 1)]
    f = linear_top
    k = 1
    while True:
        f = linear_top * 2.0 ** (k / per_octave)
        if f >= f_max * (1 - 1e-9):
            break
        edges.append(round(f, 1))
        k += 1
    return tuple(float(e) for e in edges)


#: The default 24 interior edges in Hz (25 bands at 32 kHz): see the module docstring.
DEFAULT_BAND_EDGES_HZ: tuple[float, ...] = quarter_octave_edges_hz()


def band_bins(edges_hz: Sequence[float], sample_rate: int, n_fft: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` bin ranges (stop exclusive) of the bands, covering bins ``0 .. n_fft // 2``
    exactly once. An interior edge ``f`` maps to bin ``round(f * n_fft / sample_rate)``.

    Raises ``ValueError`` if edges are not increasing, reach Nyquist, or leave a band without bins.
    """
    n_bins = n_fft // 2 + 1
    nyquist = sample_rate / 2
    edges = [float(e) for e in edges_hz]
    if any(b <= a for a, b in itertools.pairwise(edges)):
        raise ValueError(f"band edges must be strictly increasing, got {edges}")
    if edges and (edges[0] <= 0 or edges[-1] >= nyquist):
        raise ValueError(f"interior band edges must lie in (0, {nyquist}) Hz, got {edges[0]} .. {edges[-1]}")
    cuts = [0, *(round(e * n_fft / sample_rate) for e in edges), n_bins]
    bands = list(itertools.pairwise(cuts))
    empty = [i for i, (a, b) in enumerate(bands) if b <= a]
    if empty:
        raise ValueError(
            f"bands {empty} get no STFT bins at n_fft={n_fft}, sample_rate={sample_rate} "
            f"(bin width {sample_rate / n_fft:.2f} Hz): use wider bands or a larger n_fft"
        )
    return bands
