"""STFT front end and iSTFT back end of BSAST, always in float32.

Hann window (periodic), ``center=True``. Both directions leave any enclosing autocast region and cast their
input to float32, so BSAST can run inside ``torch.autocast("cuda", dtype=torch.bfloat16)``: the transforms
stay in float32 while the transformer's matmuls run in bfloat16.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class STFT(nn.Module):
    """``forward``: waveforms ``(..., L)`` -> real spectra ``(..., T, F, 2)`` (real, imag), ``T = L // hop + 1``,
    ``F = n_fft // 2 + 1``; ``inverse``: ``(..., T, F, 2)`` -> ``(..., length)``. Unnormalised transform,
    so ``inverse(forward(x), L) == x`` up to float32 rounding."""

    def __init__(self, n_fft: int, hop: int) -> None:
        super().__init__()
        self.n_fft = n_fft
        self.hop = hop
        self.register_buffer("window", torch.hann_window(n_fft, dtype=torch.float32), persistent=False)

    def frames(self, length: int) -> int:
        return length // self.hop + 1

    def forward(self, x: Tensor) -> Tensor:
        lead = x.shape[:-1]
        with torch.autocast(device_type=x.device.type, enabled=False):
            spec = torch.stft(
                x.reshape(-1, x.shape[-1]).float(),
                self.n_fft,
                self.hop,
                window=self.window.float(),
                center=True,
                return_complex=True,
            )  # (M, F, T)
            out = torch.view_as_real(spec).transpose(1, 2)  # (M, T, F, 2)
        return out.reshape(*lead, *out.shape[1:])

    def inverse(self, spec: Tensor, length: int) -> Tensor:
        lead = spec.shape[:-3]
        with torch.autocast(device_type=spec.device.type, enabled=False):
            s = spec.reshape(-1, *spec.shape[-3:]).float()
            z = torch.complex(s[..., 0], s[..., 1]).transpose(1, 2)  # (M, F, T)
            y = torch.istft(z, self.n_fft, self.hop, window=self.window.float(), center=True, length=length)
        return y.reshape(*lead, length)
