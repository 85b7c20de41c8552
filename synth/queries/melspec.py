"""Log-mel spectrogram front-end of the built-in audio tower (torch STFT + an HTK mel filterbank)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class MelConfig:
    sample_rate: int = 32000
    n_fft: int = 1024
    hop: int = 640  # 20 ms
    n_mels: int = 48
    f_min: float = 50.0
    f_max: float = 14000.0

    def to_dict(self) -> dict:
        return asdict(self)


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(m) / 2595.0) - 1.0)


def mel_filterbank(cfg: MelConfig) -> np.ndarray:
    """Triangular HTK-mel filters ``(n_mels, n_fft // 2 + 1)``, each normalised to unit area."""
    freqs = np.fft.rfftfreq(cfg.n_fft, 1.0 / cfg.sample_rate)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(cfg.f_min), _hz_to_mel(cfg.f_max), cfg.n_mels + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (freqs[None, :] - lower) / (centre - lower)
    down = (upper - freqs[None, :]) / (upper - centre)
    fb = np.maximum(0.0, np.minimum(up, down))
    return (fb / np.maximum(fb.sum(axis=1, keepdims=True), 1e-12)).astype(np.float32)


class LogMel(torch.nn.Module):
    """``(batch, samples)`` -> ``(batch, 1, n_mels, frames)`` log-mel (natural log of power + 1e-6)."""

    def __init__(self, cfg: MelConfig):
        super().__init__()
        self.cfg = cfg
        self.register_buffer("window", torch.hann_window(cfg.n_fft), persistent=False)
        self.register_buffer("fb", torch.from_numpy(mel_filterbank(cfg)), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spec = torch.stft(x, self.cfg.n_fft, self.cfg.hop, window=self.window, center=True, return_complex=True)
        power = spec.real**2 + spec.imag**2
        return torch.log(torch.matmul(self.fb, power) + 1e-6).unsqueeze(1)
