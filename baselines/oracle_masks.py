"""Oracle upper bounds that use the true target signal: an ideal ratio mask and a multichannel Wiener filter.

Both estimate the mono target reference (e.g. the target's ``direct`` W-channel signal) and are oracle
methods: a leaderboard row built on them must be marked as using oracle information.
"""

from __future__ import annotations

import numpy as np

from foabench.baselines.spectral import (
    HOP,
    N_FFT,
    apply_weights,
    as_foa,
    covariance,
    cross_covariance,
    diagonal_loading,
    istft,
    loading_floor,
    stft,
)


def _mono(signal: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"{name} must be mono (L,), got shape {x.shape}")
    return x


def ideal_ratio_mask(
    w: np.ndarray, target: np.ndarray, n_fft: int = N_FFT, hop: int = HOP, exponent: float = 0.5
) -> np.ndarray:
    """Float32 ``(L,)``: the W channel ``w`` ``(L,)`` masked by the oracle ideal ratio mask of ``target`` ``(L,)``.

    With ``S = STFT(target)`` and ``N = STFT(w - target)`` (everything in W that is not the target), the mask
    is ``(|S|^2 / (|S|^2 + |N|^2)) ** exponent``. ``exponent = 0.5`` is the usual IRM (Wang et al.'s
    ``beta = 0.5``, a square-root Wiener gain, equal to ``|S| / sqrt(|S|^2 + |N|^2)``); ``exponent = 1`` is
    the single-channel Wiener gain. The mask multiplies W's STFT (mixture phase); bins where both are silent
    get 0."""
    mix = _mono(w, "w")
    ref = _mono(target, "target")
    if mix.shape != ref.shape:
        raise ValueError(f"w {mix.shape} and target {ref.shape} differ in length")
    length = mix.shape[0]
    if not np.any(mix) and not np.any(ref):
        return np.zeros(length, dtype=np.float32)
    mix_spec = stft(mix, n_fft, hop)
    ref_spec = stft(ref, n_fft, hop)
    s_pow = np.abs(ref_spec) ** 2
    n_pow = np.abs(mix_spec - ref_spec) ** 2
    total = s_pow + n_pow
    ratio = np.divide(s_pow, total, out=np.zeros_like(total), where=total > 0)
    mask = np.where(total > 0, ratio**exponent, 0.0)
    return istft(mask * mix_spec, length, n_fft, hop).astype(np.float32)


def multichannel_wiener(
    foa: np.ndarray,
    target: np.ndarray,
    n_fft: int = N_FFT,
    hop: int = HOP,
    loading: float = 1e-6,
    block_frames: int | None = None,
) -> np.ndarray:
    """Float32 ``(L,)``: oracle multichannel Wiener estimate of the mono ``target`` ``(L,)`` from AmbiX ``foa``.

    Per bin, ``w = (Phi_xx + delta I)^-1 phi_xd`` with ``Phi_xx = mean_t x x^H`` the mixture covariance and
    ``phi_xd = mean_t x conj(d)`` its cross-covariance with the target's STFT ``d`` (over the whole signal, or
    per block of ``block_frames`` frames); ``y = w^H x``. This is the minimum-mean-square-error linear
    estimate of ``d`` from the four channels with one time-invariant filter per bin (per block), computed
    from oracle statistics: the best any per-bin linear spatial filter can do on this mixture. ``delta`` is
    ``loading * tr(Phi_xx) / 4`` plus a tiny absolute floor."""
    x = as_foa(foa)
    ref = _mono(target, "target")
    if ref.shape[0] != x.shape[1]:
        raise ValueError(f"target length {ref.shape[0]} differs from the mixture's {x.shape[1]}")
    length = x.shape[1]
    if not np.any(x) or not np.any(ref):
        return np.zeros(length, dtype=np.float32)
    spec = stft(x, n_fft, hop)
    cov = diagonal_loading(covariance(spec, block_frames), loading, loading_floor(spec))
    cross = cross_covariance(spec, stft(ref, n_fft, hop), block_frames)
    weights = np.linalg.solve(cov, cross[..., None])[..., 0]
    return istft(apply_weights(spec, weights, block_frames), length, n_fft, hop).astype(np.float32)
