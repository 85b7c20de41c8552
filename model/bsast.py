"""BSAST: band-split spatial audio separation transformer (Yu et al., arXiv 2510.13308).

Query-based extraction of one target from an AmbiX mixture: ``BSAST(config)(mixture, query) -> estimate``
with ``mixture`` ``(B, C, L)`` (C = 4 for FOA in ACN order W, Y, Z, X; C = 1 for the W-only variant),
``query`` ``(B, query_dim)`` (a unit-norm CLAP-style embedding) and the estimate ``(B, L)``: the target's
mono ``direct`` reference.

Pipeline (shapes for B items, C channels, T frames, F bins, N bands, D features):

1. STFT (Hann ``n_fft``, hop ``hop``, center) of every channel -> real/imag ``(B, C, T, F, 2)``, float32.
2. Band-split encoder: band n of each channel (``2 F_n`` numbers per frame) -> RMS normalisation with a
   learned gain -> ``Linear(2 F_n, D)``; bands stacked -> ``Z`` ``(B, C, T, N, D)``. Weights are per band
   and shared by the channels. The 25 band edges (Hz) are in ``model/bands.py``. With ``band_norm:
   channel`` (default) each channel's token is normalised by its own RMS, which leaves a plane wave's Y, Z
   and X tokens equal to its W token up to sign: the level ratios that carry the direction are divided
   out. ``band_norm: shared`` divides every channel of a (frame, band) by the RMS over all channels
   together, so the tokens keep those ratios (for the W-only model the two are the same).
3. FiLM: ``Z <- gamma(q) * Z + beta(q)`` from a two-layer MLP of the query, once after the encoder (the
   paper's placement) or before every block (``film_every_block``).
4. ``depth`` tri-axial blocks: RoPE self-attention along time, bands, channels, with FFNs
   (``model/layers.py``), then a final RMSNorm.
5. Spectrum estimation: per band, ``Linear(D, h) -> tanh -> Linear(h, 4 F_n) -> GLU`` predicts the band's
   target real/imag spectrum ``(F_n, 2)`` *directly* (no mask on the mixture) for every channel
   (``output: spectrum``, the paper's choice). With ``output: mask`` the same heads predict, per channel, a
   complex filter ``M_c`` on that channel's mixture spectrum, and the estimate is the filter-and-sum
   ``sum_c M_c X_c`` (a learned per-bin beamformer; for the W-only model an ordinary complex mask), as
   BS-RoFormer, AudioSep and the DCASE 2025 baseline predict masks rather than spectra; steps 6 and the band
   rescaling do not apply (a filter is level-free), step 7 still adds W, so the filters start at "W alone".
6. Channel merge (the paper names a "channel-merge module" without details; ``channel_merge``):

   - ``attention`` (default): attention pooling over channels. Per (item, frame, band) a score
     ``Linear(D, 1)`` of each channel's final embedding, softmax over C, weights the per-channel spectra
     of step 5, which are summed. Each channel's embedding has already seen the others through channel
     attention, so the pooling only has to choose how much to trust each channel's estimate in each
     time-frequency region. For C = 1 the weight is 1.
   - ``mean``: the plain average of the per-channel spectra.
   - ``linear``: a learned ``Linear(C, 1)`` over the channel axis of the embeddings *before* the
     spectrum MLP (C times less head compute; the weights are fixed per model, not per band or frame).

7. W skip (``w_skip``, default on): the mixture's W spectrum (channel 0 in both the AmbiX and the W-only
   input) is added to the estimate, so the network predicts the target spectrum as the mixture's W plus a
   learned correction. With the zero-initialised head an untrained model returns the W channel (SI-SDRi 0)
   instead of silence, which on a CPU budget of a few hundred steps is the difference between learning to
   suppress interferers and still learning to reproduce the target's level and sign. The estimate is still
   an unconstrained spectrum, not a bounded mask.
8. iSTFT (float32) -> ``(B, L)``, trimmed/padded to the input length.

Band rescaling (``band_rescale``, default on). Step 2 normalises every (channel, frame, band) token to
unit RMS, which removes the spectral envelope and the level from what the network sees; predicting an
absolute spectrum from that alone is ill-posed. So each band's predicted spectrum is multiplied by the
RMS that the encoder divided out for that token (for ``linear`` merge: the RMS over channels). The
prediction is still a spectrum, not a mask on the mixture's bins, but the model is scale-equivariant
(``model(a * x) == a * model(x)`` up to ``band_eps``) and works at any input level without
normalisation. With ``band_rescale=False`` the head's output is the spectrum as is, and callers should
level-normalise the mixture.

Mixed precision. The STFT and iSTFT leave autocast and run in float32 (``model/stft.py``); band RMS and
RoPE angles are computed in float32; nothing in ``forward`` uses float64. Under
``torch.autocast("cuda", dtype=torch.bfloat16)`` the linear layers and attention run in bfloat16, and
the output is float32.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from foabench.model.band_groups import DEFAULT_GROUPS, batched_linear, make_groups, pad_rows
from foabench.model.bsast_config import BSASTConfig, get_config
from foabench.model.common import SeparatorModel, resolve_config
from foabench.model.layers import AxialAttention, FiLM, PointCloudEncoder, RMSNorm, TriAxialBlock, direction_features
from foabench.model.stft import STFT


class BandSplitEncoder(nn.Module):
    """``(B, C, T, F, 2)`` spectra -> ``Z`` ``(B, C, T, N, D)`` and the per-token RMS ``(B, C, T, N)``.

    ``forward`` runs the bands in a few padded groups (``model/band_groups.py``); ``reference`` is the
    band-by-band loop it must equal (kept as the test oracle). Both use the same per-band parameters."""

    def __init__(self, bands: list[tuple[int, int]], dim: int, eps: float = 1e-8,
                 n_groups: int = DEFAULT_GROUPS, shared_norm: bool = False) -> None:  # fmt: skip
        super().__init__()
        self.bands = bands
        self.eps = eps
        self.shared_norm = shared_norm  # RMS over the channels of a (frame, band) instead of per channel
        sizes = [2 * (b - a) for a, b in bands]
        self.gains = nn.ParameterList(nn.Parameter(torch.ones(s)) for s in sizes)
        self.proj = nn.ModuleList(nn.Linear(s, dim) for s in sizes)
        self.groups = make_groups(bands, n_groups)
        pad = 2 * bands[-1][1]  # index of the zero column appended to the flattened spectrum
        for k, g in enumerate(self.groups):
            self.register_buffer(f"_gather{k}", g.gather_index(pad), persistent=False)
            self.register_buffer(f"_numbers{k}", torch.tensor([2.0 * s for s in g.sizes]), persistent=False)

    def _share(self, mean_square: Tensor, lead: torch.Size) -> Tensor:
        """Per-token mean squares ``(M, n)`` (M = B C T rows) -> their mean over the channels, per row."""
        if not self.shared_norm:
            return mean_square
        per_channel = mean_square.view(*lead[:2], -1, mean_square.shape[-1])  # (B, C, T, n)
        return per_channel.mean(1, keepdim=True).expand_as(per_channel).reshape(mean_square.shape)

    def forward(self, spec: Tensor) -> tuple[Tensor, Tensor]:
        lead = spec.shape[:-2]
        x = F.pad(spec.flatten(-2).float(), (0, 1)).reshape(-1, 2 * spec.shape[-2] + 1)  # (M, 2F + 1)
        zs, rmss = [], []
        for k, g in enumerate(self.groups):
            xg = x.index_select(-1, getattr(self, f"_gather{k}")).view(x.shape[0], len(g.bands), 2 * g.width)
            mean_square = self._share(xg.pow(2).sum(-1) / getattr(self, f"_numbers{k}"), lead)
            rms = (mean_square + self.eps).sqrt()  # (M, n)
            # (x / rms * gain) W^T + b  ==  (x (gain W^T)) / rms + b: the scaling stays off the padded input
            weight = torch.stack([pad_rows(self.proj[b].weight.t() * self.gains[b][:, None], 2 * g.width)
                                  for b in g.bands])  # fmt: skip
            bias = torch.stack([self.proj[b].bias for b in g.bands])
            zs.append(batched_linear(xg, weight) / rms[..., None] + bias)
            rmss.append(rms)
        n = len(self.bands)
        return torch.cat(zs, dim=1).reshape(*lead, n, -1), torch.cat(rmss, dim=1).reshape(*lead, n)

    def reference(self, spec: Tensor) -> tuple[Tensor, Tensor]:
        """The band-by-band computation ``forward`` batches (test oracle)."""
        zs, rmss = [], []
        for (a, b), gain, proj in zip(self.bands, self.gains, self.proj, strict=True):
            x = spec[:, :, :, a:b, :].flatten(-2).float()  # (B, C, T, 2 F_n)
            mean_square = x.pow(2).mean(-1, keepdim=True)
            if self.shared_norm:
                mean_square = mean_square.mean(1, keepdim=True).expand_as(mean_square)
            rms = (mean_square + self.eps).sqrt()
            zs.append(proj(x / rms * gain))
            rmss.append(rms)
        return torch.stack(zs, dim=3), torch.cat(rmss, dim=-1)


class SpectrumEstimator(nn.Module):
    """One MLP per band: ``(..., D) -> (..., F_n, 2)`` (``Linear -> tanh -> Linear -> GLU``).

    The GLU's value half is initialised to zero, so an untrained model outputs silence. This matters with
    ``-SI-SDR + L1``: SI-SDR is blind to the sign of the estimate and its gradient pushes the projection
    ``<est, ref>`` away from zero in whichever direction it starts, so a random initial output of the
    wrong sign gets locked in as an inverted estimate that the L1 term cannot pull back through zero. From
    silence, the first steps are driven by the L1 term alone and start with the right sign.

    :meth:`grouped` runs the bands in the padded groups of ``model/band_groups.py``; :meth:`band` is one band's
    MLP (the reference path).
    """

    def __init__(self, bands: list[tuple[int, int]], dim: int, hidden: int,
                 n_groups: int = DEFAULT_GROUPS) -> None:  # fmt: skip
        super().__init__()
        self.sizes = [b - a for a, b in bands]
        self.mlps = nn.ModuleList(
            nn.Sequential(nn.Linear(dim, hidden), nn.Tanh(), nn.Linear(hidden, 4 * f), nn.GLU(dim=-1))
            for f in self.sizes
        )
        for mlp in self.mlps:  # value half of the GLU's input layer starts at zero: the estimate starts silent
            last = mlp[2]
            nn.init.zeros_(last.weight[: last.out_features // 2])
            nn.init.zeros_(last.bias[: last.out_features // 2])
        self.groups = make_groups(bands, n_groups)
        for k, g in enumerate(self.groups):
            self.register_buffer(f"_valid{k}", g.valid_index(), persistent=False)

    def band(self, n: int, z: Tensor) -> Tensor:
        y = self.mlps[n](z)
        return y.reshape(*y.shape[:-1], self.sizes[n], 2)

    def grouped(self, z: Tensor, gain: Tensor | None, channel_dim: int | None) -> Tensor:
        """Every band's output, times ``gain`` (None: 1), summed over ``channel_dim`` (None: no sum), in bin
        order: ``z`` ``(..., N, D)``, ``gain`` ``(..., N)`` -> ``(..., F, 2)`` float32 (``...`` less the summed
        axis)."""
        out = []
        for k, g in enumerate(self.groups):
            first = [self.mlps[b][0] for b in g.bands]
            last = [self.mlps[b][2] for b in g.bands]
            w1 = torch.stack([m.weight.t() for m in first])  # (n, D, h)
            b1 = torch.stack([m.bias for m in first])
            h = torch.tanh(batched_linear(z[..., g.bands.start : g.bands.stop, :], w1, b1))
            w2 = torch.stack([_glu_padded(m.weight, 2 * g.width).t() for m in last])  # (n, h, 4 W)
            b2 = torch.stack([_glu_padded(m.bias, 2 * g.width) for m in last])
            y = F.glu(batched_linear(h, w2, b2), dim=-1).float()  # (..., n, 2 W), zero where padded
            g_gain = None if gain is None else gain[..., g.bands.start : g.bands.stop].float()
            if channel_dim == 1 and y.dim() == 5 and g_gain is not None:  # weight and sum channels in one product
                y = torch.einsum("bctnw,bctn->btnw", y, g_gain)
            else:
                y = y if g_gain is None else y * g_gain[..., None]
                y = y if channel_dim is None else y.sum(channel_dim)
            out.append(y.flatten(-2).index_select(-1, getattr(self, f"_valid{k}")))
        spec = torch.cat(out, dim=-1)
        return spec.reshape(*spec.shape[:-1], -1, 2)


def _glu_padded(weight: Tensor, half: int) -> Tensor:
    """A GLU input layer's rows ``[value; gate]`` with each half zero-padded to ``half`` rows."""
    value, gate = weight.chunk(2, dim=0)
    return torch.cat((pad_rows(value, half), pad_rows(gate, half)))


class BSAST(SeparatorModel):
    """Band-split spatial audio separation transformer; see the module docstring.

    ``BSAST(config="paper", **overrides)``: ``config`` is a :class:`BSASTConfig` or a preset name
    (``paper``, ``small``, ``tiny``); ``overrides`` replace config fields. ``forward(mixture, query)``:
    ``(B, n_channels, L)`` float and ``(B, query_dim)`` -> ``(B, L)`` float32.
    """

    name: ClassVar[str] = "bsast"
    uses: ClassVar[tuple[str, ...]] = ("query_embedding",)

    def __init__(self, config: BSASTConfig | str = "paper", **overrides: Any) -> None:
        super().__init__()
        self.config = cfg = resolve_config(config, overrides, get_config)
        bands = cfg.bands()
        self.stft = STFT(cfg.n_fft, cfg.hop)
        self.encoder = BandSplitEncoder(bands, cfg.dim, cfg.band_eps, shared_norm=cfg.band_norm == "shared")
        n_film = cfg.depth if cfg.film_every_block else 1
        self.film = nn.ModuleList(FiLM(cfg.condition_dim(), cfg.film_hidden, cfg.dim) for _ in range(n_film))
        self.cloud_encoder = PointCloudEncoder(cfg.cloud_dim) if cfg.condition == "pointcloud" else None
        self.blocks = nn.ModuleList(
            TriAxialBlock(cfg.dim, cfg.heads, cfg.ff_mult, cfg.ffn_per_axis, cfg.rope_base, cfg.dropout, cfg.norm_eps)
            for _ in range(cfg.depth)
        )
        self.norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.head = SpectrumEstimator(bands, cfg.dim, cfg.head_mult * cfg.dim)
        if cfg.output == "mask":
            self.merge: nn.Module | None = None  # per-channel filters, summed: no channel weights
        elif cfg.channel_merge == "attention":
            self.merge = nn.Linear(cfg.dim, 1)
        elif cfg.channel_merge == "linear":
            self.merge = nn.Linear(cfg.n_channels, 1)
        else:
            self.merge = None

    #: the reference path the default must equal (test oracle and benchmark baseline): the band-split encoder
    #: and the spectrum heads band by band, attention in its straightforward formulation
    _reference_path: bool = False

    @property
    def reference_path(self) -> bool:
        return self._reference_path

    @reference_path.setter
    def reference_path(self, on: bool) -> None:
        self._reference_path = on
        for module in self.modules():
            if isinstance(module, AxialAttention):
                module.reference = on

    def _condition(self, query: Tensor) -> Tensor:
        """The FiLM's input features from the query tensor of this model's ``condition`` (see ``CONDITIONS``)."""
        cfg = self.config

        def sh(az_el: Tensor) -> Tensor:  # degrees -> orthonormal SH, scaled so that order 0 is 1
            return direction_features(az_el.float(), cfg.direction_order) * math.sqrt(4.0 * math.pi)

        if cfg.condition == "direction":
            return sh(query)
        if cfg.condition == "region":
            return torch.cat([sh(query[:, :2]), query[:, 2:3].float() / 90.0, query[:, 3:4].float()], dim=-1)
        if cfg.condition == "pointcloud":
            return self.cloud_encoder(query)
        if cfg.condition == "embedding+direction":
            return torch.cat([query[:, : cfg.query_dim].float(), sh(query[:, cfg.query_dim :])], dim=-1)
        return query

    def forward(self, mixture: Tensor, query: Tensor) -> Tensor:
        cfg = self.config
        self.check_inputs(mixture, query)
        length = mixture.shape[-1]
        mix_spec = self.stft(mixture)  # (B, C, T, F, 2)
        encode = self.encoder.reference if self.reference_path else self.encoder
        z, rms = encode(mix_spec)  # (B, C, T, N, D), (B, C, T, N)
        query = self._condition(query)
        if not cfg.film_every_block:
            z = self.film[0](z, query)
        for i, block in enumerate(self.blocks):
            if cfg.film_every_block:
                z = self.film[i](z, query)
            z = block(z)
        z = self.norm(z)
        if cfg.output == "mask":
            spec = self._filter_and_sum(z, mix_spec)
        else:
            estimate = self._estimate_per_band if self.reference_path else self._estimate
            spec = estimate(z, rms)  # (B, T, F, 2)
        if cfg.w_skip:
            spec = spec + mix_spec[:, 0].float()
        return self.stft.inverse(spec, length)

    def _filter_and_sum(self, z: Tensor, mix_spec: Tensor) -> Tensor:
        """``output: mask``: each channel's head output is a complex filter on that channel's mixture spectrum,
        and the filtered channels are summed: ``(B, C, T, N, D)``, ``(B, C, T, F, 2)`` -> ``(B, T, F, 2)``."""
        if self.reference_path:
            filters = torch.cat([self.head.band(n, z[:, :, :, n]).float() for n in range(len(self.head.sizes))], 3)
        else:
            filters = self.head.grouped(z, None, None)  # (B, C, T, F, 2)
        x = mix_spec.float()
        real = filters[..., 0] * x[..., 0] - filters[..., 1] * x[..., 1]
        imag = filters[..., 0] * x[..., 1] + filters[..., 1] * x[..., 0]
        return torch.stack((real.sum(1), imag.sum(1)), dim=-1)

    def _merge_weights(self, z: Tensor, rms: Tensor) -> tuple[Tensor, Tensor | None]:
        """The head's input and the gain each band's spectrum is multiplied by before the channel sum:
        ``linear`` merge: ``(B, T, N, D)`` and ``(B, T, N)`` (or None without band rescaling); otherwise ``z``
        and the channel weight (times the band RMS) ``(B, C, T, N)``."""
        cfg = self.config
        if cfg.channel_merge == "linear":
            zm = self.merge(z.movedim(1, -1)).squeeze(-1)  # (B, T, N, D)
            return zm, (rms.float().pow(2).mean(1).sqrt() if cfg.band_rescale else None)
        if cfg.channel_merge == "attention":
            weight = torch.softmax(self.merge(z).squeeze(-1).float(), dim=1)  # (B, C, T, N)
        else:
            weight = torch.full_like(rms, 1.0 / z.shape[1], dtype=torch.float32)
        return z, (weight * rms.float() if cfg.band_rescale else weight)

    def _estimate(self, z: Tensor, rms: Tensor) -> Tensor:
        """Per-band spectra merged over channels: ``(B, C, T, N, D)`` -> ``(B, T, F, 2)`` float32."""
        heads_in, gain = self._merge_weights(z, rms)  # gain None (linear merge, no rescale): the spectra as they are
        return self.head.grouped(heads_in, gain, None if self.config.channel_merge == "linear" else 1)

    def _estimate_per_band(self, z: Tensor, rms: Tensor) -> Tensor:
        """The band-by-band computation ``_estimate`` batches (test oracle)."""
        heads_in, gain = self._merge_weights(z, rms)
        out = []
        for n in range(len(self.head.sizes)):
            if self.config.channel_merge == "linear":
                s = self.head.band(n, heads_in[:, :, n]).float()  # (B, T, F_n, 2)
                out.append(s * gain[:, :, n, None, None] if gain is not None else s)
            else:
                s = self.head.band(n, heads_in[:, :, :, n]).float()  # (B, C, T, F_n, 2)
                out.append((s * gain[:, :, :, n, None, None]).sum(1))
        return torch.cat(out, dim=2)
