"""The STFT pair and per-bin spatial statistics shared by the FOA beamformers and oracle bounds.

Transform: periodic Hann window of ``n_fft`` samples, hop ``hop``, frames centred on ``t * hop`` (the signal
is zero-padded by ``n_fft // 2`` on the left), ``T = L // hop + 1`` frames, ``F = n_fft // 2 + 1`` bins, no
scaling. The inverse is weighted overlap-add divided by the summed squared window (the least-squares
inverse), so ``istft(stft(x), L) == x`` to float64 rounding for any ``hop <= n_fft // 2``, at any sample
rate. Everything is float64 / complex128 internally.

Covariances follow ``R[c, d] = mean_t X[c, t] conj(X[d, t])`` per bin, and a beamformer ``w`` outputs
``y = w^H x = sum_c conj(w[c]) X[c]``. With ``block_frames`` the statistics are taken over consecutive
blocks of that many frames (the last block may be shorter) and each block gets its own weights.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

N_FFT = 1024
HOP = 256


@lru_cache(maxsize=8)
def _window(n_fft: int) -> np.ndarray:
    n = np.arange(n_fft)
    win = 0.5 - 0.5 * np.cos(2 * np.pi * n / n_fft)  # periodic Hann
    win.setflags(write=False)
    return win


def _check(n_fft: int, hop: int) -> None:
    if n_fft < 2 or hop < 1 or hop > n_fft // 2:
        raise ValueError(f"need n_fft >= 2 and 1 <= hop <= n_fft // 2, got n_fft={n_fft}, hop={hop}")


def num_frames(length: int, hop: int = HOP) -> int:
    """Number of STFT frames ``T`` for a signal of ``length`` samples."""
    return length // hop + 1


def stft(x: np.ndarray, n_fft: int = N_FFT, hop: int = HOP) -> np.ndarray:
    """Complex spectra ``(..., F, T)`` of real signals ``(..., L)``."""
    _check(n_fft, hop)
    x = np.asarray(x, dtype=np.float64)
    length = x.shape[-1]
    frames = num_frames(length, hop)
    total = (frames - 1) * hop + n_fft
    pad_left = n_fft // 2
    padded = np.zeros((*x.shape[:-1], total))
    padded[..., pad_left : pad_left + length] = x
    view = np.lib.stride_tricks.sliding_window_view(padded, n_fft, axis=-1)[..., ::hop, :]  # (..., T, n_fft)
    spec = np.fft.rfft(view * _window(n_fft), axis=-1)  # (..., T, F)
    return np.swapaxes(spec, -1, -2)


def istft(spec: np.ndarray, length: int, n_fft: int = N_FFT, hop: int = HOP) -> np.ndarray:
    """Real signals ``(..., length)`` from spectra ``(..., F, T)`` (least-squares overlap-add inverse)."""
    _check(n_fft, hop)
    spec = np.asarray(spec)
    if spec.shape[-2] != n_fft // 2 + 1:
        raise ValueError(f"expected {n_fft // 2 + 1} frequency bins, got spectra of shape {spec.shape}")
    frames = spec.shape[-1]
    win = _window(n_fft)
    seg = np.fft.irfft(np.swapaxes(spec, -1, -2), n=n_fft, axis=-1) * win  # (..., T, n_fft)
    parts = -(-n_fft // hop)
    seg = np.concatenate([seg, np.zeros((*seg.shape[:-1], parts * hop - n_fft))], axis=-1)
    seg = seg.reshape(*seg.shape[:-1], parts, hop)
    out = np.zeros((*seg.shape[:-3], frames + parts - 1, hop))
    norm = np.zeros((frames + parts - 1, hop))
    win_parts = np.concatenate([win**2, np.zeros(parts * hop - n_fft)]).reshape(parts, hop)
    for k in range(parts):
        out[..., k : k + frames, :] += seg[..., k, :]
        norm[k : k + frames] += win_parts[k]
    out = out.reshape(*out.shape[:-2], -1)
    norm = norm.reshape(-1)
    start = n_fft // 2
    out = out[..., start : start + length]
    norm = norm[start : start + length]
    if out.shape[-1] < length:  # cannot happen for signals stft made; keep the contract anyway
        out = np.concatenate([out, np.zeros((*out.shape[:-1], length - out.shape[-1]))], axis=-1)
        norm = np.concatenate([norm, np.ones(length - norm.shape[-1])])
    return out / np.where(norm > 1e-10, norm, 1.0)


def as_foa(foa: np.ndarray) -> np.ndarray:
    """``foa`` as float64 ``(4, L)``; anything else is an error."""
    x = np.asarray(foa, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] != 4:
        raise ValueError(f"expected channels-first AmbiX (4, L), got shape {x.shape}")
    return x


def _blocks(spec: np.ndarray, block_frames: int | None) -> tuple[np.ndarray, np.ndarray]:
    """``spec`` ``(C, F, T)`` zero-padded and split into ``(B, F, C, block)``, and frames per block ``(B,)``."""
    chans, bins, frames = spec.shape
    size = frames if block_frames is None else int(block_frames)
    if size < 1:
        raise ValueError(f"block_frames must be positive, got {block_frames}")
    if size >= frames:
        return np.ascontiguousarray(spec.transpose(1, 0, 2))[None], np.array([float(frames)])
    count = -(-frames // size)
    padded = np.zeros((chans, bins, count * size), dtype=spec.dtype)
    padded[..., :frames] = spec
    blocks = np.ascontiguousarray(padded.reshape(chans, bins, count, size).transpose(2, 1, 0, 3))
    counts = np.full(count, size, dtype=np.float64)
    counts[-1] = frames - (count - 1) * size
    return blocks, counts


def covariance(spec: np.ndarray, block_frames: int | None = None) -> np.ndarray:
    """Spatial covariances ``(B, F, C, C)`` of multichannel spectra ``(C, F, T)``, ``B = 1`` without blocks."""
    blocks, counts = _blocks(np.asarray(spec, dtype=np.complex128), block_frames)
    return (blocks @ np.conj(np.swapaxes(blocks, -1, -2))) / counts[:, None, None, None]


def cross_covariance(spec: np.ndarray, ref: np.ndarray, block_frames: int | None = None) -> np.ndarray:
    """``mean_t X[c] conj(D)`` per bin, ``(B, F, C)``, of spectra ``(C, F, T)`` with a reference ``(F, T)``."""
    blocks, counts = _blocks(np.asarray(spec, dtype=np.complex128), block_frames)
    ref_blocks, _ = _blocks(np.asarray(ref, dtype=np.complex128)[None], block_frames)  # (B, F, 1, block)
    return (blocks @ np.conj(np.swapaxes(ref_blocks, -1, -2)))[..., 0] / counts[:, None, None]


def diagonal_loading(cov: np.ndarray, loading: float, floor: float) -> np.ndarray:
    """``R + (loading * tr(R) / C + floor) I`` for covariances ``(..., C, C)``."""
    chans = cov.shape[-1]
    trace = np.real(np.trace(cov, axis1=-2, axis2=-1))
    delta = loading * trace / chans + floor
    return cov + delta[..., None, None] * np.eye(chans)


def loading_floor(spec: np.ndarray) -> float:
    """Absolute loading floor for spectra ``(C, F, T)``: 1e-10 of their mean power per channel and bin, plus 1e-30.

    It keeps silent bins invertible (their weights fall back to the matched filter) without affecting others."""
    spec = np.asarray(spec)
    power = float(np.mean(spec.real**2 + spec.imag**2)) if spec.size else 0.0
    return 1e-10 * power + 1e-30


def apply_weights(spec: np.ndarray, weights: np.ndarray, block_frames: int | None = None) -> np.ndarray:
    """Beamformer output ``(F, T)``, ``y = w^H x``, of spectra ``(C, F, T)`` with weights ``(B, F, C)``."""
    spec = np.asarray(spec, dtype=np.complex128)
    frames = spec.shape[-1]
    blocks, _ = _blocks(spec, block_frames)  # (B, F, C, block)
    if weights.shape[0] != blocks.shape[0]:
        raise ValueError(f"weights for {weights.shape[0]} blocks, spectra split into {blocks.shape[0]}")
    out = np.einsum("bfc,bfct->fbt", np.conj(weights), blocks)
    return out.reshape(out.shape[0], -1)[:, :frames]
