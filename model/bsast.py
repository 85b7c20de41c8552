"""BSAST: band-split spatial audio separation transformer (Yu et al., arXiv 2510.13308).

Query-based extraction of one target from an AmbiX mixture: ``BSAST(config)(mixture, query) -> estimate``
with ``mixture`` ``(B, C, L)`` (C = 4 for FOA in ACN order W, Y, Z, X; C = 1 for the W-only variant),
``query`` ``(B, query_dim)`` (a unit-norm CLAP-style embedding) and the estimate ``(B, L)``: the target's
mono ``direct`` reference.

Pipeline (shapes for B items, C channels, T frames, F bins, N bands, D features):

1. STFT (Hann ``n_fft``, hop ``hop``, center) of every channel -> real/imag ``(B, C, T, F, 2)``, float32.
2. Band-split encoder: band n of each channel (``2 F_n`` numbers per frame) -> RMS normalisation with a
   learned gain -> ``Linear(2 F_n, D)``; bands stacked -> ``Z`` ``(B, C, T, N, D)``. Weights are per band
   and shared by the channels. The 25 band edges (Hz) are in ``model/bands.py``.
3. FiLM: ``Z <- gamma(q) * Z + beta(q)`` from a two-layer MLP of the query, once after the encoder (the
   paper's placement) or before every block (``film_every_block``).
4. ``depth`` tri-axial blocks: RoPE self-attention along time, bands, channels, with FFNs
   (``model/layers.py``), then a final RMSNorm.
5. Spectrum estimation: per band, ``Linear(D, h) -> tanh -> Linear(h, 4 F_n) -> GLU`` predicts the band's
   target real/imag spectrum ``(F_n, 2)`` *directly* (no mask on the mixture) for every channel.
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

from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from foabench.model.bsast_config import BSASTConfig, get_config
from foabench.model.common import SeparatorModel, resolve_config
from foabench.model.layers import FiLM, RMSNorm, TriAxialBlock
from foabench.model.stft import STFT


class BandSplitEncoder(nn.Module):
    """``(B, C, T, F, 2)`` spectra -> ``Z`` ``(B, C, T, N, D)`` and the per-token RMS ``(B, C, T, N)``."""

    def __init__(self, bands: list[tuple[int, int]], dim: int, eps: float = 1e-8) -> None:
        super().__init__()
        self.bands = bands
        self.eps = eps
        sizes = [2 * (b - a) for a, b in bands]
        self.gains = nn.ParameterList(nn.Parameter(torch.ones(s)) for s in sizes)
        self.proj = nn.ModuleList(nn.Linear(s, dim) for s in sizes)

    def forward(self, spec: Tensor) -> tuple[Tensor, Tensor]:
        zs, rmss = [], []
        for (a, b), gain, proj in zip(self.bands, self.gains, self.proj, strict=True):
            x = spec[:, :, :, a:b, :].flatten(-2).float()  # (B, C, T, 2 F_n)
            rms = (x.pow(2).mean(-1, keepdim=True) + self.eps).sqrt()
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
    """

    def __init__(self, bands: list[tuple[int, int]], dim: int, hidden: int) -> None:
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

    def band(self, n: int, z: Tensor) -> Tensor:
        y = self.mlps[n](z)
        return y.reshape(*y.shape[:-1], self.sizes[n], 2)


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
        self.encoder = BandSplitEncoder(bands, cfg.dim, cfg.band_eps)
        n_film = cfg.depth if cfg.film_every_block else 1
        self.film = nn.ModuleList(FiLM(cfg.query_dim, cfg.film_hidden, cfg.dim) for _ in range(n_film))
        self.blocks = nn.ModuleList(
            TriAxialBlock(cfg.dim, cfg.heads, cfg.ff_mult, cfg.ffn_per_axis, cfg.rope_base, cfg.dropout, cfg.norm_eps)
            for _ in range(cfg.depth)
        )
        self.norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.head = SpectrumEstimator(bands, cfg.dim, cfg.head_mult * cfg.dim)
        if cfg.channel_merge == "attention":
            self.merge: nn.Module | None = nn.Linear(cfg.dim, 1)
        elif cfg.channel_merge == "linear":
            self.merge = nn.Linear(cfg.n_channels, 1)
        else:
            self.merge = None

    def forward(self, mixture: Tensor, query: Tensor) -> Tensor:
        cfg = self.config
        self.check_inputs(mixture, query)
        length = mixture.shape[-1]
        mix_spec = self.stft(mixture)  # (B, C, T, F, 2)
        z, rms = self.encoder(mix_spec)  # (B, C, T, N, D), (B, C, T, N)
        if not cfg.film_every_block:
            z = self.film[0](z, query)
        for i, block in enumerate(self.blocks):
            if cfg.film_every_block:
                z = self.film[i](z, query)
            z = block(z)
        spec = self._estimate(self.norm(z), rms)  # (B, T, F, 2)
        if cfg.w_skip:
            spec = spec + mix_spec[:, 0].float()
        return self.stft.inverse(spec, length)

    def _estimate(self, z: Tensor, rms: Tensor) -> Tensor:
        """Per-band spectra merged over channels: ``(B, C, T, N, D)`` -> ``(B, T, F, 2)`` float32."""
        cfg = self.config
        out = []
        if cfg.channel_merge == "linear":
            zm = self.merge(z.movedim(1, -1)).squeeze(-1)  # (B, T, N, D)
            gain = rms.float().pow(2).mean(1).sqrt() if cfg.band_rescale else None  # (B, T, N)
            for n in range(len(self.head.sizes)):
                s = self.head.band(n, zm[:, :, n]).float()  # (B, T, F_n, 2)
                out.append(s * gain[:, :, n, None, None] if gain is not None else s)
        else:
            if cfg.channel_merge == "attention":
                weight = torch.softmax(self.merge(z).squeeze(-1).float(), dim=1)  # (B, C, T, N)
            else:
                weight = torch.full_like(rms, 1.0 / z.shape[1], dtype=torch.float32)
            gain = weight * rms.float() if cfg.band_rescale else weight
            for n in range(len(self.head.sizes)):
                s = self.head.band(n, z[:, :, :, n]).float()  # (B, C, T, F_n, 2)
                out.append((s * gain[:, :, :, n, None, None]).sum(1))
        return torch.cat(out, dim=2)
