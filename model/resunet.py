"""ResUNet: the AudioSep-style baseline separator (Liu et al. 2023, "Separate Anything You Describe"; the
separator is the ResUNet of Kong et al. 2021, "Decoupling magnitude and phase estimation").

Query-based extraction of one target from the W channel of an FOA mixture: ``ResUNet(config)(mixture,
query) -> estimate`` with ``mixture`` ``(B, 1, L)``, ``query`` ``(B, query_dim)`` (a unit-norm CLAP-style
embedding) and the estimate ``(B, L)`` float32.

Pipeline (shapes for B items, T frames, F = n_fft / 2 + 1 bins):

1. STFT (Hann ``n_fft``, hop ``hop``, center; ``model/stft.py``, float32) of the mixture zero-padded to
   whole hops -> ``X`` ``(B, T, F)``. The padding keeps the iSTFT exact up to the last sample also when
   ``hop > n_fft / 2`` (``tiny``: 512 / 320, where the squared Hann windows still sum to >= 0.73 of their
   peak everywhere, so the overlap-add is well conditioned).
2. Input feature (``input_feature``): ``log(|X| + input_eps)`` (default) or ``|X|`` (AudioSep), then a
   BatchNorm per frequency bin (AudioSep's input normalisation). With the log a level change is a constant
   shift of the feature rather than a scaling, and the heavy-tailed magnitudes are compressed, which helps
   the short CPU training runs; ``input_eps`` bounds the log on silent bins. The Nyquist bin is left out
   of the network (``F - 1`` is a power of two for the usual ``n_fft``); its output maps copy those of the
   bin below it. T and F - 1 are zero-padded to multiples of ``2 ** levels`` and the output maps cropped.
3. ``Conv1x1(1 -> channels[0])``, then the U-Net: per level ``i``, ``blocks_per_level`` residual blocks
   (width ``channels[i]``) and a 2x2 downsampling (``downsample``: average pooling or a strided conv);
   ``bottleneck_blocks`` residual blocks of width ``bottleneck`` at the lowest resolution; per level in
   reverse, a 2x2 transposed conv, concatenation with the encoder's output at that level (the skip) and
   ``blocks_per_level`` residual blocks back to ``channels[i]``. Finally BatchNorm, LeakyReLU and a 1x1
   conv to 3 maps per input channel.
4. Residual block (pre-activation, as in Kong et al.):
   ``y = conv3x3(act(film_2(bn_2(conv3x3(act(film_1(bn_1(x))))))))``, ``out = shortcut(x) + y`` with a
   1x1 conv shortcut when the width changes. ``act`` is LeakyReLU(``leaky_slope``).
5. FiLM: each BatchNorm of every residual block is followed by ``z <- gamma(q) * z + beta(q)`` per channel,
   ``gamma = 1 + delta``. AudioSep maps the query to each FiLM with its own linear layer (beta only); here
   ``film_hidden = 0`` gives one linear layer per FiLM (stored as one concatenated ``Linear``, which is the
   same thing) with gamma and beta, and ``film_hidden > 0`` one shared two-layer MLP (``Linear -> GELU ->
   Linear``) that outputs every block's gammas and betas (far fewer parameters; used by ``tiny``). The
   default init gives ``|delta|, |beta|`` of about 0.03 for a unit-norm query: an untrained FiLM is close
   to the identity.
6. Output (AudioSep / Kong et al.): maps ``m, r, i``; magnitude mask ``M = sigmoid(m)``; phase residual
   ``(cos p, sin p) = (tanh r, tanh i) / |(tanh r, tanh i)|``. The estimate
   ``S = relu(|X| M) exp(j(angle X + p))`` equals ``M X (cos p + j sin p)`` because ``M > 0``: it is
   computed as that complex product (cos/sin identities, no atan2 and no division by ``|X|``), in float32.
7. iSTFT (float32) -> ``(B, L)``.

Initialisation: the final 1x1 conv has zero weights and biases ``(mask_bias, 1, 0)`` for ``(m, r, i)``, so
an untrained model outputs ``sigmoid(mask_bias) * mixture`` (0.982 x the W channel for the default 4):
SI-SDR against the mixture is essentially infinite and SI-SDRi starts at 0. CPU training budgets are a
few hundred steps; starting from the mixture the model only has to learn what to suppress, instead of
first learning to reproduce the target's level and phase from silence or noise.

BatchNorm (input, blocks, output): ``train()`` normalises with batch statistics (over items, frames and
bins), ``eval()`` with running averages. ``bn_momentum`` is PyTorch's 0.1, not AudioSep's 0.01, whose
running averages would lag far behind the weights in a run of a few hundred steps.

Loss: ``default_loss = "l1"``, AudioSep's waveform L1: the batch mean of
``foabench.model.loss.level_l1(est, ref, normalize=False)`` (``benchmark/train.py`` builds it from this name).

Mixed precision. The STFT, the input feature, the masking arithmetic and the iSTFT run in float32 outside
autocast; under ``torch.autocast(..., dtype=torch.bfloat16)`` the convolutions and the FiLM layers run in
bfloat16, and the output is float32. Activations are kept channels-last (faster oneDNN / cuDNN
convolutions).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from foabench.model.common import SeparatorModel, resolve_config
from foabench.model.resunet_config import ResUNetConfig, get_config
from foabench.model.stft import STFT

FiLMParams = Iterator[tuple[Tensor, Tensor]]


class QueryFiLM(nn.Module):
    """Query ``(B, query_dim)`` -> one ``(gamma, beta)`` pair ``(B, C_k, 1, 1)`` per FiLM layer ``k`` of width
    ``C_k`` (``sizes``), in network order; ``gamma = 1 + delta``. ``hidden = 0``: one linear map per layer
    (concatenated); ``hidden > 0``: a shared ``Linear -> GELU -> Linear`` MLP."""

    def __init__(self, query_dim: int, hidden: int, sizes: list[int]) -> None:
        super().__init__()
        self.sizes = sizes
        out = 2 * sum(sizes)
        if hidden:
            self.net: nn.Module = nn.Sequential(nn.Linear(query_dim, hidden), nn.GELU(), nn.Linear(hidden, out))
        else:
            self.net = nn.Linear(query_dim, out)

    def forward(self, query: Tensor) -> list[tuple[Tensor, Tensor]]:
        params = self.net(query)
        pairs = []
        for chunk in params.split([2 * s for s in self.sizes], dim=-1):
            delta, beta = chunk[:, :, None, None].chunk(2, dim=1)
            pairs.append((1 + delta, beta))
        return pairs


class FiLMBatchNorm(nn.BatchNorm2d):
    """BatchNorm2d followed by FiLM, fused: ``gamma * (w * xhat + b) + beta`` as one ``addcmul`` over the
    full-size tensor (the per-channel factors are combined first)."""

    def forward(self, x: Tensor, gamma: Tensor, beta: Tensor) -> Tensor:  # type: ignore[override]
        if self.training:
            self.num_batches_tracked.add_(1)
        xhat = F.batch_norm(x, self.running_mean, self.running_var, None, None, self.training, self.momentum, self.eps)
        scale = (gamma * self.weight[:, None, None]).to(xhat.dtype)
        shift = (gamma * self.bias[:, None, None] + beta).to(xhat.dtype)
        return torch.addcmul(shift, scale, xhat)


class ResBlock(nn.Module):
    """Pre-activation residual block with FiLM after each BatchNorm (module docstring, step 4)."""

    def __init__(self, cin: int, cout: int, slope: float, momentum: float) -> None:
        super().__init__()
        self.film_sizes = [cin, cout]
        self.bn1 = FiLMBatchNorm(cin, momentum=momentum)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn2 = FiLMBatchNorm(cout, momentum=momentum)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()
        self.slope = slope

    def forward(self, x: Tensor, film: FiLMParams) -> Tensor:
        y = self.conv1(F.leaky_relu(self.bn1(x, *next(film)), self.slope, inplace=True))
        y = self.conv2(F.leaky_relu(self.bn2(y, *next(film)), self.slope, inplace=True))
        return self.shortcut(x) + y


class Stage(nn.Module):
    """``n`` residual blocks ``cin -> cout -> ... -> cout``."""

    def __init__(self, cin: int, cout: int, n: int, slope: float, momentum: float) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(ResBlock(cin if k == 0 else cout, cout, slope, momentum) for k in range(n))

    @property
    def film_sizes(self) -> list[int]:
        return [s for b in self.blocks for s in b.film_sizes]

    def forward(self, x: Tensor, film: FiLMParams) -> Tensor:
        for block in self.blocks:
            x = block(x, film)
        return x


class ResUNet(SeparatorModel):
    """AudioSep-style ResUNet separator; see the module docstring.

    ``ResUNet(config="paper", **overrides)``: ``config`` is a :class:`ResUNetConfig` or a preset name
    (``paper``, ``tiny``); ``overrides`` replace config fields. ``forward(mixture, query)``:
    ``(B, 1, L)`` float and ``(B, query_dim)`` -> ``(B, L)`` float32.
    """

    name: ClassVar[str] = "resunet"
    uses: ClassVar[tuple[str, ...]] = ("query_embedding",)
    default_loss: ClassVar[str] = "l1"

    def __init__(self, config: ResUNetConfig | str = "paper", **overrides: Any) -> None:
        super().__init__()
        self.config = cfg = resolve_config(config, overrides, get_config)
        ch, n, slope, mom = cfg.channels, cfg.blocks_per_level, cfg.leaky_slope, cfg.bn_momentum
        self.stft = STFT(cfg.n_fft, cfg.hop)
        self.input_norm = nn.BatchNorm2d(cfg.n_bins - 1, momentum=mom)  # per frequency bin
        self.pre_conv = nn.Conv2d(cfg.n_channels, ch[0], 1)
        self.encoder = nn.ModuleList(Stage(ch[max(i - 1, 0)], ch[i], n, slope, mom) for i in range(cfg.levels))
        if cfg.downsample == "conv":
            self.down = nn.ModuleList(nn.Conv2d(c, c, 2, stride=2) for c in ch)
        else:
            self.down = nn.ModuleList(nn.AvgPool2d(2) for _ in ch)
        self.middle = Stage(ch[-1], cfg.bottleneck, cfg.bottleneck_blocks, slope, mom)
        bottom = cfg.bottleneck if cfg.bottleneck_blocks else ch[-1]
        ups = [bottom, *ch[:0:-1]]  # input width of each upsampling, deepest level first
        self.up = nn.ModuleList(nn.ConvTranspose2d(cin, c, 2, stride=2) for cin, c in zip(ups, ch[::-1], strict=True))
        self.decoder = nn.ModuleList(Stage(2 * c, c, n, slope, mom) for c in ch[::-1])
        self.out_norm = nn.BatchNorm2d(ch[0], momentum=mom)
        self.act = nn.LeakyReLU(slope)
        self.head = nn.Conv2d(ch[0], 3 * cfg.n_channels, 1)
        with torch.no_grad():  # pass-through start: mask sigmoid(mask_bias), phase residual 0
            self.head.weight.zero_()
            self.head.bias.copy_(torch.tensor([cfg.mask_bias, 1.0, 0.0]).repeat(cfg.n_channels))
        stages = [*self.encoder, self.middle, *self.decoder]
        self.film = QueryFiLM(cfg.query_dim, cfg.film_hidden, [s for st in stages for s in st.film_sizes])

    def forward(self, mixture: Tensor, query: Tensor) -> Tensor:
        cfg = self.config
        self.check_inputs(mixture, query)
        length = mixture.shape[-1]
        if length <= cfg.n_fft // 2:
            raise ValueError(f"mixture must be longer than n_fft / 2 = {cfg.n_fft // 2} samples, got {length}")
        pad = -length % cfg.hop  # whole hops: the last frames then cover the end even when hop > n_fft / 2
        spec = self.stft(F.pad(mixture, (0, pad)))  # (B, 1, T, F, 2) float32
        maps = self._maps(self._features(spec), query)  # (B, 3, T, F) float32
        return self.stft.inverse(self._estimate(spec, maps), length + pad)[:, 0, :length]

    def _features(self, spec: Tensor) -> Tensor:
        """``(B, 1, T, F, 2)`` -> normalised input feature ``(B, 1, T, F - 1)`` (Nyquist bin left out)."""
        cfg = self.config
        with torch.autocast(device_type=spec.device.type, enabled=False):
            mag = torch.linalg.vector_norm(spec[..., :-1, :].float(), dim=-1)
            feat = torch.log(mag + cfg.input_eps) if cfg.input_feature == "log" else mag
            return self.input_norm(feat.transpose(1, 3)).transpose(1, 3)

    def _maps(self, x: Tensor, query: Tensor) -> Tensor:
        """U-Net on ``(B, 1, T, F')`` -> output maps ``(B, 3, T, F' + 1)`` float32 (Nyquist bin copied)."""
        t, f = x.shape[-2:]
        mult = 2**self.config.levels
        x = F.pad(x, (0, -f % mult, 0, -t % mult))
        film = iter(self.film(query))
        x = self.pre_conv(x)
        x = x.contiguous(memory_format=torch.channels_last)  # faster convolutions on CPU (oneDNN) and GPU
        skips = []
        for stage, down in zip(self.encoder, self.down, strict=True):
            x = stage(x, film)
            skips.append(x)
            x = down(x)
        x = self.middle(x, film)
        for stage, up in zip(self.decoder, self.up, strict=True):
            x = stage(torch.cat([up(x), skips.pop()], dim=1), film)
        x = x[..., :t, :f]
        maps = self.head(self.act(self.out_norm(x))).float()
        return torch.cat([maps, maps[..., -1:]], dim=-1)

    def _estimate(self, spec: Tensor, maps: Tensor) -> Tensor:
        """Mask and phase residual (module docstring, step 6): ``(B, 1, T, F, 2)`` -> ``(B, 1, T, F, 2)``."""
        with torch.autocast(device_type=spec.device.type, enabled=False):
            maps = maps.float().reshape(maps.shape[0], -1, 3, *maps.shape[-2:])  # (B, C, 3, T, F)
            mask = torch.sigmoid(maps[:, :, 0])
            re, im = torch.tanh(maps[:, :, 1]), torch.tanh(maps[:, :, 2])
            norm = torch.sqrt((re * re + im * im).clamp_min(1e-16))
            cos_p, sin_p = re / norm, im / norm
            xr, xi = spec[..., 0].float(), spec[..., 1].float()
            return torch.stack([mask * (xr * cos_p - xi * sin_p), mask * (xr * sin_p + xi * cos_p)], dim=-1)
