"""ResUNet hyper-parameters (the AudioSep-style baseline separator): one dataclass and named presets.

Presets (``get_config(name, **overrides)``); parameter counts at ``query_dim`` 384:

- ``paper``: AudioSep-like (ResUNet30 of Kong et al. 2021 with FiLM) at 32 kHz: Hann 1024 / hop 320,
  channels (32, 64, 128, 256, 384, 384), one residual block per level, a 384-channel bottleneck, one linear
  FiLM map (gamma and beta) from the query per BatchNorm. 26,805,731 parameters, of which FiLM 5,125,120.
- ``tiny``: for CPU smoke training on a 2-core machine: Hann 512 / hop 320 (the same 100 frames/s),
  channels (8, 16, 32, 48), bottleneck 48, FiLM through one shared MLP with 32 hidden units. 272,715
  parameters, of which FiLM 50,336.

Choices the papers leave open are fields here, documented in ``model/resunet.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from foabench.model.common import ConfigMixin

DOWNSAMPLES = ("avgpool", "conv")
INPUT_FEATURES = ("log", "linear")


@dataclass(frozen=True)
class ResUNetConfig(ConfigMixin):
    """All ResUNet hyper-parameters. ``channels[i]`` is the width of encoder/decoder level ``i``."""

    name: str = "paper"
    n_channels: int = 1  # the W channel only; fixed
    sample_rate: int = 32000
    n_fft: int = 1024
    hop: int = 320
    channels: tuple[int, ...] = (32, 64, 128, 256, 384, 384)
    blocks_per_level: int = 1  # residual blocks per encoder level and per decoder level
    bottleneck: int = 384  # width of the bottleneck blocks at the lowest resolution
    bottleneck_blocks: int = 1
    downsample: str = "avgpool"  # one of DOWNSAMPLES: 2x2 average pooling or a strided 2x2 conv
    query_dim: int = 384  # 384 = built-in encoder, 512 = laion-clap
    film_hidden: int = 0  # 0: one Linear(query_dim, 2 C) per FiLM (AudioSep); > 0: one shared 2-layer MLP
    input_feature: str = "log"  # one of INPUT_FEATURES: log(|X| + input_eps) or |X| (AudioSep)
    input_eps: float = 1e-3
    mask_bias: float = 4.0  # initial mask logit: sigmoid(4) = 0.982, the untrained model passes the mixture
    leaky_slope: float = 0.01
    bn_momentum: float = 0.1

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))
        if self.n_channels != 1:
            raise ValueError(f"ResUNet takes the W channel only: n_channels must be 1, got {self.n_channels}")
        if not 0 < self.hop <= self.n_fft:
            raise ValueError(f"need 0 < hop <= n_fft, got hop={self.hop}, n_fft={self.n_fft}")
        if self.n_fft < 4 or self.n_fft % 2:
            raise ValueError(f"n_fft must be even and >= 4, got {self.n_fft}")
        if not self.channels or min(self.channels) < 1 or self.bottleneck < 1:
            raise ValueError(f"channels must be a non-empty tuple of positive widths, got {self.channels}")
        if self.blocks_per_level < 1 or self.bottleneck_blocks < 0:
            raise ValueError("need blocks_per_level >= 1 and bottleneck_blocks >= 0")
        if self.downsample not in DOWNSAMPLES:
            raise ValueError(f"downsample must be one of {DOWNSAMPLES}, got {self.downsample!r}")
        if self.input_feature not in INPUT_FEATURES:
            raise ValueError(f"input_feature must be one of {INPUT_FEATURES}, got {self.input_feature!r}")
        if self.film_hidden < 0 or self.query_dim < 1:
            raise ValueError("need film_hidden >= 0 and query_dim >= 1")
        if not 0 < self.leaky_slope < 1 or not 0 < self.bn_momentum <= 1 or self.input_eps <= 0:
            raise ValueError("need 0 < leaky_slope < 1, 0 < bn_momentum <= 1 and input_eps > 0")

    @property
    def levels(self) -> int:
        return len(self.channels)

    @property
    def n_bins(self) -> int:
        return self.n_fft // 2 + 1


PRESETS: dict[str, ResUNetConfig] = {
    "paper": ResUNetConfig(name="paper"),
    "tiny": ResUNetConfig(name="tiny", n_fft=512, hop=320, channels=(8, 16, 32, 48), bottleneck=48, film_hidden=32),
}


def get_config(name: str = "paper", **overrides: Any) -> ResUNetConfig:
    """The preset ``name`` (``paper``, ``tiny``) with fields replaced by ``overrides``."""
    if name not in PRESETS:
        raise KeyError(f"unknown ResUNet preset {name!r}; known: {sorted(PRESETS)}")
    return PRESETS[name].replace(**overrides) if overrides else PRESETS[name]
