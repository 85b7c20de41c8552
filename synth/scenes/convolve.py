"""The FFT convolutions a render needs, at the sizes where pocketfft runs fastest.

- :func:`fft_size`: the transform size of a linear convolution (5-smooth, a multiple of 1024).
- :func:`wet_image`: an excerpt convolved with a 4-channel RIR from the RIR's cached spectrum: one forward lane
  for the excerpt, one 4-lane inverse (pocketfft runs float32 lanes four at a time, so four lanes cost about
  twice one lane; measured by ``foabench.benchmark.bench_render``).
- :func:`short_convolution`: an excerpt convolved with a short filter (the ``direct`` window of about 1,800
  taps) by overlap-add over blocks of a small transform size, the blocks transformed together so that every
  lane runs in a batch of four: a few short lanes instead of one lane as long as excerpt and RIR together.

Every function is deterministic: the same inputs give the same bits, whatever else was computed before.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

#: every transform size of :func:`fft_size` is a multiple of this
FFT_SIZE_STEP = 1024
#: transform sizes a short convolution chooses from (:func:`block_size`); larger ones no longer fit four lanes
#: and their spectra in a 1 MiB L2 cache and ran erratically (2-6x slower per sample, bench_render)
BLOCK_SIZES = (4096, 8192, 16384)
#: float32 lanes that pocketfft transforms together
LANES = 4
#: cost of a lane transformed alone, in lanes of a full batch (measured: ~6 against ~2.8 ns per sample)
SINGLE_LANE_COST = 2.1


def fft_size(n: int) -> int:
    """The transform size used for a linear convolution of ``n`` samples: the smallest 5-smooth multiple of
    ``FFT_SIZE_STEP`` that is at least ``n`` (pocketfft's real transforms run fastest on sizes with many factors
    of two; measured by ``foabench.benchmark.bench_render``)."""
    m = -(-max(1, n) // FFT_SIZE_STEP)
    while True:
        k = m
        for p in (2, 3, 5):
            while k % p == 0:
                k //= p
        if k == 1:
            return m * FFT_SIZE_STEP
        m += 1


def wet_image(x: np.ndarray, rir_spectrum: np.ndarray, nfft: int, span: int) -> np.ndarray:
    """The first ``span`` samples of mono ``x`` convolved with a 4-channel RIR, ``(span, 4)`` float32, from
    the RIR's ``rfft`` at ``nfft`` (``(nfft // 2 + 1, 4)``); ``nfft`` must cover ``len(x) + len(rir) - 1``."""
    product = rir_spectrum * scipy.fft.rfft(x, n=nfft)[:, None]
    return scipy.fft.irfft(product, n=nfft, axis=0, overwrite_x=True)[:span]


def _lanes(n: int) -> int:
    """Lanes to transform for ``n`` blocks: a last partial batch of four is filled with zero lanes when that is
    cheaper than transforming its lanes one by one."""
    whole, rest = divmod(n, LANES)
    return (whole + 1) * LANES if rest * SINGLE_LANE_COST > LANES else n


def _lane_cost(n: int) -> float:
    """Cost of transforming ``n`` lanes of one size, in lanes of a full batch."""
    whole, rest = divmod(_lanes(n), LANES)
    return whole * LANES + rest * SINGLE_LANE_COST


def block_size(length: int, taps: int) -> int:
    """The transform size of :func:`short_convolution` for ``length`` input samples and ``taps`` filter taps:
    among :data:`BLOCK_SIZES` at least twice the filter, the cheapest (lane cost times size); the smallest
    such size on ties."""
    sizes = [s for s in BLOCK_SIZES if s >= 2 * taps] or [fft_size(2 * taps)]
    return min(sizes, key=lambda s: (_lane_cost(-(-max(1, length) // (s - taps + 1))) * s, s))


def filter_spectrum(taps: np.ndarray, size: int) -> np.ndarray:
    """The ``rfft`` of a short filter at a block size of :func:`short_convolution`."""
    return scipy.fft.rfft(np.asarray(taps, dtype=np.float32), n=size)


def short_convolution(x: np.ndarray, spectrum: np.ndarray, taps: int, size: int, count: int) -> np.ndarray:
    """The first ``count`` samples of mono ``x`` convolved with a filter of ``taps`` taps whose
    :func:`filter_spectrum` at ``size`` is ``spectrum`` (overlap-add; float32, ``count`` at most
    ``len(x) + taps - 1``)."""
    hop = size - taps + 1
    blocks = -(-len(x) // hop)
    if blocks == 0:
        return np.zeros(count, dtype=np.float32)
    lanes = np.zeros((_lanes(blocks), size), dtype=np.float32)
    whole = (blocks - 1) * hop
    lanes[: blocks - 1, :hop] = x[:whole].reshape(blocks - 1, hop)
    lanes[blocks - 1, : len(x) - whole] = x[whole:]
    out_lanes = scipy.fft.irfft(scipy.fft.rfft(lanes, axis=1) * spectrum, n=size, axis=1, overwrite_x=True)
    out = np.empty((blocks + 1) * hop, dtype=np.float32)
    out[: blocks * hop].reshape(blocks, hop)[:] = out_lanes[:blocks, :hop]
    out[blocks * hop :] = 0.0
    out[hop:].reshape(blocks, hop)[:, : taps - 1] += out_lanes[:blocks, hop:]
    return out[:count]
