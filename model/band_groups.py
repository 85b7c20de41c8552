"""Batched per-band layers: the 25 band-split projections and spectrum heads as a few padded batched matmuls.

BSAST's band-split encoder and spectrum heads hold one small layer per band (widths 3 to 164 bins). Run band by
band, a training step spends most of its time in the loops' small kernels, copies and concatenations. Here the
bands are cut into a few runs of neighbouring bands (:func:`group_bands`), each run padded to its widest band, and
every run is one batched matmul over its bands. The parameters stay the per-band ones (checkpoints and the
per-band reference path are unchanged): the padded weights are assembled from them on every call (weight-sized
work, a few hundred kB), and padding rows are zero, so the padded positions contribute nothing to outputs or
gradients.

:func:`group_bands` picks the grouping that minimises the padded size for a given number of groups (exact
dynamic programme over contiguous runs): at the preset layouts 4 groups pad the bins to 1.33x, 6 groups to 1.17x
and 8 groups to 1.10x.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

#: default number of band groups: few kernels, little padding (see the module docstring)
DEFAULT_GROUPS = 6


def group_bands(sizes: list[int], n_groups: int) -> list[range]:
    """Contiguous runs of bands (``n_groups`` at most) minimising ``sum(len(run) * max(size in run))``."""
    n = len(sizes)
    n_groups = max(1, min(n_groups, n))
    inf = float("inf")
    # cost[g][j]: least padded size of the first j bands in g groups; cut[g][j]: where the last group starts
    cost = [[inf] * (n + 1) for _ in range(n_groups + 1)]
    cut = [[0] * (n + 1) for _ in range(n_groups + 1)]
    cost[0][0] = 0.0
    for g in range(1, n_groups + 1):
        for j in range(1, n + 1):
            widest = 0
            for i in range(j - 1, -1, -1):  # last group = bands i .. j-1
                widest = max(widest, sizes[i])
                c = cost[g - 1][i] + (j - i) * widest
                if c < cost[g][j]:
                    cost[g][j], cut[g][j] = c, i
    best = min(range(1, n_groups + 1), key=lambda g: (cost[g][n], g))
    runs, j = [], n
    for g in range(best, 0, -1):
        i = cut[g][j]
        runs.append(range(i, j))
        j = i
    return runs[::-1]


@dataclass(frozen=True)
class BandGroup:
    """One run of bands: ``bands`` (indices), their bin ``sizes``, the padded ``width`` (bins) and their bin
    ``starts`` in the spectrum."""

    bands: range
    sizes: tuple[int, ...]
    starts: tuple[int, ...]

    @property
    def width(self) -> int:
        return max(self.sizes)

    def gather_index(self, pad_index: int, per_bin: int = 2) -> Tensor:
        """Index ``(len(bands) * per_bin * width,)`` into the flattened ``(F * per_bin)`` spectrum: band by band,
        its ``per_bin * size`` numbers, then ``pad_index`` (a zero column) up to ``per_bin * width``."""
        idx = []
        for start, size in zip(self.starts, self.sizes, strict=True):
            own = list(range(per_bin * start, per_bin * (start + size)))
            idx += own + [pad_index] * (per_bin * (self.width - size))
        return torch.tensor(idx, dtype=torch.long)

    def valid_index(self, per_bin: int = 2) -> Tensor:
        """Positions of the real (unpadded) numbers in the flattened ``(len(bands), per_bin * width)`` output."""
        idx = []
        for k, size in enumerate(self.sizes):
            base = k * per_bin * self.width
            idx += list(range(base, base + per_bin * size))
        return torch.tensor(idx, dtype=torch.long)


def make_groups(bands: list[tuple[int, int]], n_groups: int = DEFAULT_GROUPS) -> list[BandGroup]:
    """:class:`BandGroup` runs of ``bands`` (``[(start, stop), ...]`` bin ranges) for ``n_groups`` groups."""
    sizes = [b - a for a, b in bands]
    return [
        BandGroup(run, tuple(sizes[i] for i in run), tuple(bands[i][0] for i in run))
        for run in group_bands(sizes, n_groups)
    ]


def pad_rows(weight: Tensor, rows: int) -> Tensor:
    """``weight`` ``(r, ...)`` zero-padded to ``rows`` rows."""
    return F.pad(weight, (0, 0) * (weight.dim() - 1) + (0, rows - weight.shape[0]))


def batched_linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """Per-band linear layers in one call: ``x`` ``(..., n, i)``, ``weight`` ``(n, i, o)``, ``bias`` ``(n, o)``
    -> ``(..., n, o)``."""
    lead = x.shape[:-2]
    n, i = x.shape[-2:]
    y = torch.bmm(x.reshape(-1, n, i).transpose(0, 1), weight).transpose(0, 1)  # (M, n, o)
    y = y.reshape(*lead, n, weight.shape[-1])
    return y + bias if bias is not None else y
