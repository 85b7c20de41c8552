"""Rotary position embeddings (RoPE), rotate-half layout.

For a head of size ``d`` (even) and position ``p``, channel pair ``(i, i + d/2)`` is rotated by the angle
``p * base**(-2i/d)``. Rotating queries at position ``m`` and keys at ``n`` makes their dot product a function
of ``m - n`` only, which is what the tri-axial transformer uses along time, bands and channels.

The angles and the rotation are computed in float32 (also under autocast) and cast back to the input dtype.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def rope_cos_sin(
    positions: Tensor, head_dim: int, base: float = 10000.0, device: torch.device | None = None
) -> tuple[Tensor, Tensor]:
    """``cos, sin`` of shape ``(len(positions), head_dim)`` in float32 (each half repeated)."""
    if head_dim % 2:
        raise ValueError(f"RoPE needs an even head size, got {head_dim}")
    device = device if device is not None else positions.device
    inv_freq = base ** (-torch.arange(0, head_dim, 2, device=device, dtype=torch.float32) / head_dim)
    angles = positions.to(device=device, dtype=torch.float32)[:, None] * inv_freq[None, :]
    angles = torch.cat((angles, angles), dim=-1)
    return angles.cos(), angles.sin()


def rotate_half(x: Tensor) -> Tensor:
    """``[x1, x2] -> [-x2, x1]`` on the last axis."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def apply_rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate ``x`` ``(..., L, head_dim)`` by ``cos, sin`` ``(L, head_dim)``; float32 inside, input dtype out."""
    xf = x.float()
    return (xf * cos + rotate_half(xf) * sin).to(x.dtype)


def apply_rope_rolled(x: Tensor, cos: Tensor, signed_sin: Tensor) -> Tensor:
    """:func:`apply_rope` in two fused steps: ``x cos + roll(x, d/2) signed_sin`` with ``signed_sin`` the sine
    with its first half negated (``roll`` swaps the halves, so this is ``rotate_half(x) sin``); ``cos`` and
    ``signed_sin`` broadcast against ``x``. Float32 inside, input dtype out."""
    xf = x.float()
    return torch.addcmul(xf * cos, xf.roll(x.shape[-1] // 2, dims=-1), signed_sin).to(x.dtype)


class RotaryEmbedding(nn.Module):
    """Applies RoPE to queries and keys ``(..., L, head_dim)`` at positions ``0 .. L-1``; :meth:`rotate`
    rotates a tensor whose positions lie on any axis, with the angle tables cached per length and device."""

    def __init__(self, head_dim: int, base: float = 10000.0) -> None:
        super().__init__()
        if head_dim % 2:
            raise ValueError(f"RoPE needs an even head size, got {head_dim}")
        self.head_dim = head_dim
        self.base = base
        self._tables: dict[tuple[int, torch.device], tuple[Tensor, Tensor]] = {}

    def tables(self, length: int, device: torch.device) -> tuple[Tensor, Tensor]:
        """``cos`` and the signed ``sin`` of :func:`apply_rope_rolled`, ``(length, head_dim)`` float32."""
        key = (length, device)
        if key not in self._tables:
            cos, sin = rope_cos_sin(torch.arange(length, device=device), self.head_dim, self.base)
            half = self.head_dim // 2
            self._tables[key] = (cos, torch.cat((-sin[:, :half], sin[:, half:]), dim=-1))
        return self._tables[key]

    def rotate(self, x: Tensor, seq_dim: int) -> Tensor:
        """``x`` ``(..., head_dim)`` rotated by the position of each element along ``seq_dim`` (from 0)."""
        cos, signed_sin = self.tables(x.shape[seq_dim], x.device)
        shape = [1] * x.dim()
        shape[seq_dim], shape[-1] = x.shape[seq_dim], self.head_dim
        return apply_rope_rolled(x, cos.view(shape), signed_sin.view(shape))

    def forward(self, q: Tensor, k: Tensor) -> tuple[Tensor, Tensor]:
        length = q.shape[-2]
        cos, sin = rope_cos_sin(torch.arange(length, device=q.device), self.head_dim, self.base)
        return apply_rope(q, cos, sin), apply_rope(k, cos, sin)
