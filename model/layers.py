"""Building blocks of BSAST: RMSNorm, FiLM, feed-forward, axial RoPE attention and the tri-axial block.

Tensor layout inside the transformer: ``(B, C, T, N, D)`` = batch, channels, frames, bands, features.

Tri-axial block (our reading of the paper's "axial attention along time, frequency and channel, with
residual connections and a feed-forward network"): for each axis in the order time -> bands -> channels,

    x = x + Attn_axis(RMSNorm(x))      # multi-head self-attention over that axis, RoPE on q and k
    x = x + FFN_axis(RMSNorm(x))       # hidden ff_mult * D, GELU   (ffn_per_axis=True, the default)

i.e. each axis gets a full pre-norm transformer layer, as in band-split RoPE transformers. With
``ffn_per_axis=False`` the three attentions run back to back and one FFN closes the block (fewer
parameters: 20 D^2 instead of 36 D^2 per block).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from foabench.model.rope import RotaryEmbedding

#: axis of the (B, C, T, N, D) layout each attention runs along, in block order
AXES = {"time": 2, "band": 3, "channel": 1}


class RMSNorm(nn.Module):
    """Root-mean-square normalisation over the last axis with a learned gain (no bias); computed in float32
    and returned in the input dtype (bfloat16 under autocast)."""

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        return F.rms_norm(x.float(), (x.shape[-1],), self.weight.float(), self.eps).to(x.dtype)


class FiLM(nn.Module):
    """Query -> two-layer MLP (query_dim -> hidden -> 2D) -> (gamma, beta); ``z <- gamma * z + beta``.

    gamma is parameterised as ``1 + delta`` so an untrained FiLM is close to the identity. gamma and beta
    (each ``(B, D)``) broadcast over every axis of ``z`` between batch and features.
    """

    def __init__(self, query_dim: int, hidden: int, dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.mlp = nn.Sequential(nn.Linear(query_dim, hidden), nn.GELU(), nn.Linear(hidden, 2 * dim))

    def forward(self, z: Tensor, query: Tensor) -> Tensor:
        delta_gamma, beta = self.mlp(query).chunk(2, dim=-1)
        shape = (z.shape[0],) + (1,) * (z.dim() - 2) + (self.dim,)
        return (1 + delta_gamma).reshape(shape) * z + beta.reshape(shape)


class FeedForward(nn.Module):
    """Pre-norm position-wise MLP, returns the residual branch only: ``Linear -> GELU -> Linear``."""

    def __init__(self, dim: int, mult: int = 4, dropout: float = 0.0, eps: float = 1e-6) -> None:
        super().__init__()
        self.net = nn.Sequential(
            RMSNorm(dim, eps),
            nn.Linear(dim, mult * dim),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(mult * dim, dim),
            nn.Dropout(dropout),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class AxialAttention(nn.Module):
    """Pre-norm multi-head self-attention over axis -2 of ``(S, L, D)`` sequences with RoPE; returns the
    residual branch only. Uses ``F.scaled_dot_product_attention``."""

    def __init__(
        self, dim: int, heads: int, rope_base: float = 10000.0, dropout: float = 0.0, eps: float = 1e-6
    ) -> None:
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads
        self.dropout = dropout
        self.norm = RMSNorm(dim, eps)
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.out = nn.Linear(dim, dim, bias=False)
        self.rope = RotaryEmbedding(self.head_dim, rope_base)

    #: compute as the straightforward formulation (RoPE on permuted queries and keys, always SDPA): test oracle
    reference: bool = False

    def forward(self, x: Tensor) -> Tensor:
        s, length, d = x.shape
        if self.reference:
            qkv = self.qkv(self.norm(x)).reshape(s, length, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
            q, k = self.rope(qkv[0], qkv[1])
            y = F.scaled_dot_product_attention(q, k, qkv[2], dropout_p=self.dropout if self.training else 0.0)
            return self.out(y.transpose(1, 2).reshape(s, length, d))
        qkv = self.qkv(self.norm(x)).view(s, length, 3, self.heads, self.head_dim)
        q, k = self.rope.rotate(qkv[:, :, :2], seq_dim=1).permute(2, 0, 3, 1, 4)  # queries and keys at once
        v = qkv[:, :, 2].transpose(1, 2)  # (S, heads, L, head_dim)
        y = attention(q, k, v, self.dropout if self.training else 0.0)
        return self.out(y.transpose(1, 2).reshape(s, length, d))


#: on a CPU, sequences up to this length attend through two batched matmuls instead of the fused kernel (the
#: band and channel axes: 2.5x faster for 25 bands on 2 cores); longer ones, and every CUDA run, use SDPA
CPU_MATMUL_ATTENTION_MAX_LEN = 64


def attention(q: Tensor, k: Tensor, v: Tensor, dropout: float = 0.0) -> Tensor:
    """Softmax attention ``(S, heads, L, head_dim)`` -> same: ``F.scaled_dot_product_attention``, or on a CPU
    for short sequences the same product as two batched matmuls."""
    if q.device.type != "cpu" or q.shape[-2] > CPU_MATMUL_ATTENTION_MAX_LEN:
        return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout)
    scores = torch.softmax((q * q.shape[-1] ** -0.5) @ k.transpose(-1, -2), dim=-1)
    return F.dropout(scores, dropout) @ v if dropout else scores @ v


def along(x: Tensor, axis: int, fn: Callable[[Tensor], Tensor]) -> Tensor:
    """Apply ``fn`` to ``x`` ``(B, C, T, N, D)`` as sequences along ``axis``: ``(rest, len, D) -> same``."""
    moved = x.movedim(axis, -2)
    shape = moved.shape
    y = fn(moved.reshape(-1, shape[-2], shape[-1]))
    return y.reshape(shape).movedim(-2, axis)


class TriAxialBlock(nn.Module):
    """Attention along time, then bands, then channels (each pre-norm, residual, RoPE), with FFNs (see the
    module docstring for ``ffn_per_axis``)."""

    def __init__(
        self,
        dim: int,
        heads: int,
        ff_mult: int = 4,
        ffn_per_axis: bool = True,
        rope_base: float = 10000.0,
        dropout: float = 0.0,
        eps: float = 1e-6,
    ) -> None:
        super().__init__()
        self.attn = nn.ModuleDict({a: AxialAttention(dim, heads, rope_base, dropout, eps) for a in AXES})
        n_ffn = len(AXES) if ffn_per_axis else 1
        self.ffn = nn.ModuleList(FeedForward(dim, ff_mult, dropout, eps) for _ in range(n_ffn))
        self.ffn_per_axis = ffn_per_axis

    def forward(self, x: Tensor) -> Tensor:
        for i, (name, axis) in enumerate(AXES.items()):
            attn = self.attn[name]
            ffn = self.ffn[i] if self.ffn_per_axis else None

            def layer(seq: Tensor, attn: nn.Module = attn, ffn: nn.Module | None = ffn) -> Tensor:
                seq = seq + attn(seq)
                return seq + ffn(seq) if ffn is not None else seq

            x = along(x, axis, layer)
        if not self.ffn_per_axis:
            x = x + self.ffn[0](x)
        return x


#: the highest spherical-harmonic order :func:`direction_features` encodes
MAX_DIRECTION_ORDER = 3


def direction_features(az_el_deg: Tensor, order: int = MAX_DIRECTION_ORDER) -> Tensor:
    """Orthonormal real spherical harmonics (ACN order, N3D / sqrt(4 pi)) of directions, up to ``order`` (<= 3).

    ``(B, 2)`` azimuth, elevation in degrees (AmbiX frame) -> ``(B, (order + 1)^2)``. Orthonormal on the sphere,
    so ``sum_m Y_lm(u) Y_lm(v) = (2l + 1) / (4 pi) P_l(u . v)``: the inner product of two directions' features
    depends only on the angle between them, which is what a direction condition should carry.
    """
    if not 0 <= order <= MAX_DIRECTION_ORDER:
        raise ValueError(f"direction order must be within 0..{MAX_DIRECTION_ORDER}, got {order}")
    az, el = torch.deg2rad(az_el_deg[..., 0].double()), torch.deg2rad(az_el_deg[..., 1].double())
    x, y, z = torch.cos(el) * torch.cos(az), torch.cos(el) * torch.sin(az), torch.sin(el)
    c = 1.0 / math.sqrt(4.0 * math.pi)
    feats = [torch.full_like(x, c)]
    if order >= 1:
        feats += [math.sqrt(3) * c * v for v in (y, z, x)]
    if order >= 2:
        s15, s5 = math.sqrt(15), math.sqrt(5)
        feats += [s15 * c * x * y, s15 * c * y * z, s5 / 2 * c * (3 * z * z - 1), s15 * c * x * z,
                  s15 / 2 * c * (x * x - y * y)]  # fmt: skip
    if order >= 3:
        a, b, d = math.sqrt(35 / 8), math.sqrt(105), math.sqrt(21 / 8)
        feats += [a * c * y * (3 * x * x - y * y), b * c * x * y * z, d * c * y * (5 * z * z - 1),
                  math.sqrt(7) / 2 * c * z * (5 * z * z - 3), d * c * x * (5 * z * z - 1),
                  b / 2 * c * z * (x * x - y * y), a * c * x * (x * x - 3 * y * y)]  # fmt: skip
    return torch.stack(feats, dim=-1).to(az_el_deg.dtype if az_el_deg.is_floating_point() else torch.float32)


class PointCloudEncoder(nn.Module):
    """A PointNet-style encoder of a point-cloud query ``(B, P, 4)`` (x, y, z in metres, valid flag) -> ``(B, out)``.

    Each point becomes (x, y, z, its unit direction, its range) and passes a shared two-layer MLP; the valid points'
    features are max- and mean-pooled (permutation-invariant), and a linear layer maps them to ``out``. A cloud
    without a valid point (its class has no shape, or its object is hidden) gets a learned embedding instead.
    """

    def __init__(self, out_dim: int, hidden: int = 64, width: int = 128) -> None:
        super().__init__()
        self.point_mlp = nn.Sequential(nn.Linear(7, hidden), nn.GELU(), nn.Linear(hidden, width), nn.GELU())
        self.head = nn.Linear(2 * width, out_dim)
        self.empty = nn.Parameter(torch.zeros(out_dim))

    def forward(self, cloud: Tensor) -> Tensor:
        xyz, valid = cloud[..., :3].float(), cloud[..., 3:4].float()
        r = xyz.norm(dim=-1, keepdim=True)
        feats = self.point_mlp(torch.cat([xyz, xyz / r.clamp_min(1e-3), r], dim=-1))  # (B, P, W)
        count = valid.sum(dim=1)  # (B, 1)
        pooled_max = torch.where(valid > 0, feats, torch.full_like(feats, -1e4)).amax(dim=1)
        pooled_mean = (feats * valid).sum(dim=1) / count.clamp_min(1.0)
        has = (count > 0).float()
        out = self.head(torch.cat([pooled_max * has, pooled_mean], dim=-1))
        return has * out + (1.0 - has) * self.empty
