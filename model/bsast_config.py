"""BSAST hyper-parameters: one dataclass and named presets.

Presets (``get_config(name, **overrides)``):

- ``paper``: the published setting (arXiv 2510.13308): 32 kHz, Hann 2048 / hop 1024, 25 bands, D = 128,
  8 tri-axial blocks, 4 heads.
- ``small``: the same front end, D = 64, 4 blocks, 4 heads (the paper's 4-block ablation at half width).
- ``tiny``: for CPU smoke training on a 2-core machine: n_fft 1024 / hop 512 (same 25 bands in Hz), D = 32,
  2 blocks, 2 heads.

Choices the paper leaves open are fields here, documented where they are used (``model/bands.py``,
``model/layers.py``, ``model/bsast.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from foabench.model.bands import DEFAULT_BAND_EDGES_HZ, band_bins
from foabench.model.common import ConfigMixin

CHANNEL_MERGES = ("attention", "mean", "linear")
#: what the heads predict: the target spectrum (the paper) or complex filters on the mixture's channels
OUTPUTS = ("spectrum", "mask")
#: over which numbers the band-split encoder's RMS is taken: each channel's token alone, or all channels of a
#: (frame, band) together (keeps the inter-channel level ratios, i.e. the direction, in the tokens)
BAND_NORMS = ("channel", "shared")
#: what the FiLM condition is made from (the query tensor each takes, and how it is encoded):
#: - ``embedding``: the audio/text query embedding ``(B, query_dim)``;
#: - ``direction``: the direction query ``(B, 2)`` (azimuth, elevation in degrees) through real spherical
#:   harmonics up to ``direction_order``;
#: - ``region``: the region query ``(B, 4)`` (centre azimuth, elevation, size in degrees, 1 for a box / 0 for a
#:   cone): the centre's spherical harmonics, the size over 90° and the shape flag;
#: - ``pointcloud``: the point-cloud query ``(B, cloud_points, 4)`` (x, y, z, valid) through a PointNet-style
#:   encoder into ``cloud_dim`` features;
#: - ``embedding+direction``: both at once, ``(B, query_dim + 2)``: the embedding, then azimuth and elevation.
CONDITIONS = ("embedding", "direction", "region", "pointcloud", "embedding+direction")


@dataclass(frozen=True)
class BSASTConfig(ConfigMixin):
    """All BSAST hyper-parameters. ``band_edges_hz`` are the interior band edges (see ``model/bands.py``)."""

    name: str = "paper"
    n_channels: int = 4  # 4 = FOA (AmbiX W, Y, Z, X); 1 = W only ("mono row")
    sample_rate: int = 32000
    n_fft: int = 2048
    hop: int = 1024
    band_edges_hz: tuple[float, ...] = DEFAULT_BAND_EDGES_HZ
    dim: int = 128  # D
    depth: int = 8  # tri-axial blocks
    heads: int = 4
    ff_mult: int = 4  # FFN hidden = ff_mult * D
    ffn_per_axis: bool = True  # an FFN after each axial attention (True) or one per block (False)
    head_mult: int = 4  # per-band spectrum MLP hidden = head_mult * D
    query_dim: int = 384  # 384 = built-in encoder, 512 = laion-clap
    film_hidden: int = 256
    film_every_block: bool = False  # paper: FiLM once, after the band-split encoder
    condition: str = "embedding"  # one of CONDITIONS: the query (B, query_dim) or a direction query (B, 2)
    direction_order: int = 3  # spherical-harmonic order of the direction condition (16 features at 3)
    cloud_points: int = 256  # points of a point-cloud query the encoder reads (subsampled or repeated to this)
    cloud_dim: int = 128  # features of the point-cloud encoder (the FiLM's input)
    output: str = "spectrum"  # one of OUTPUTS (model/bsast.py, step 5)
    channel_merge: str = "attention"  # one of CHANNEL_MERGES (output "spectrum" only)
    band_norm: str = "channel"  # one of BAND_NORMS (model/bsast.py, step 2)
    band_rescale: bool = True  # restore each band token's input RMS on the predicted spectrum
    w_skip: bool = True  # add the mixture's W spectrum to the estimate: training starts from the mixture
    rope_base: float = 10000.0
    dropout: float = 0.0
    norm_eps: float = 1e-6  # learned RMSNorm layers
    band_eps: float = 1e-8  # added to the mean square of a band token before the square root

    def query_shape(self, batch: int) -> tuple[int, ...]:
        """The shape of the query tensor ``forward`` takes for this ``condition``."""
        return {"embedding": (batch, self.query_dim), "direction": (batch, 2), "region": (batch, 4),
                "pointcloud": (batch, self.cloud_points, 4),
                "embedding+direction": (batch, self.query_dim + 2)}[self.condition]  # fmt: skip

    def condition_dim(self) -> int:
        """Features the FiLM reads for this ``condition``."""
        sh = (self.direction_order + 1) ** 2
        return {"embedding": self.query_dim, "direction": sh, "region": sh + 2, "pointcloud": self.cloud_dim,
                "embedding+direction": self.query_dim + sh}[self.condition]  # fmt: skip

    def __post_init__(self) -> None:
        object.__setattr__(self, "band_edges_hz", tuple(float(e) for e in self.band_edges_hz))
        if self.n_channels < 1:
            raise ValueError(f"n_channels must be >= 1, got {self.n_channels}")
        if self.dim % self.heads or (self.dim // self.heads) % 2:
            raise ValueError(f"dim {self.dim} must split into {self.heads} heads of even size (RoPE)")
        if self.channel_merge not in CHANNEL_MERGES:
            raise ValueError(f"channel_merge must be one of {CHANNEL_MERGES}, got {self.channel_merge!r}")
        if self.band_norm not in BAND_NORMS:
            raise ValueError(f"band_norm must be one of {BAND_NORMS}, got {self.band_norm!r}")
        if self.condition not in CONDITIONS:
            raise ValueError(f"condition must be one of {CONDITIONS}, got {self.condition!r}")
        if not 0 <= self.direction_order <= 3:
            raise ValueError(f"direction_order must be within 0..3, got {self.direction_order}")
        if self.output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {self.output!r}")
        if not 0 < self.hop <= self.n_fft:
            raise ValueError(f"need 0 < hop <= n_fft, got hop={self.hop}, n_fft={self.n_fft}")
        band_bins(self.band_edges_hz, self.sample_rate, self.n_fft)  # raises on a bad layout

    @property
    def n_bands(self) -> int:
        return len(self.band_edges_hz) + 1

    @property
    def n_bins(self) -> int:
        return self.n_fft // 2 + 1

    def bands(self) -> list[tuple[int, int]]:
        """``[(start, stop), ...]`` STFT bin range of each band (stop exclusive)."""
        return band_bins(self.band_edges_hz, self.sample_rate, self.n_fft)


PRESETS: dict[str, BSASTConfig] = {
    "paper": BSASTConfig(name="paper"),
    "small": BSASTConfig(name="small", dim=64, depth=4, heads=4, film_hidden=128),
    "tiny": BSASTConfig(name="tiny", n_fft=1024, hop=512, dim=32, depth=2, heads=2, film_hidden=64),
}


def get_config(name: str = "paper", **overrides: Any) -> BSASTConfig:
    """The preset ``name`` (``paper``, ``small``, ``tiny``) with fields replaced by ``overrides``."""
    if name not in PRESETS:
        raise KeyError(f"unknown BSAST preset {name!r}; known: {sorted(PRESETS)}")
    return PRESETS[name].replace(**overrides) if overrides else PRESETS[name]
