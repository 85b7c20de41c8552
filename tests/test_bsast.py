"""BSAST (model/): shapes, parameter counts, RoPE, FiLM, loss, STFT, band layout, precision and an overfit run."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from foabench.model import BSAST, DEFAULT_BAND_EDGES_HZ, PRESETS, BSASTConfig, band_bins, bsast_loss, get_config, si_sdr
from foabench.model.rope import RotaryEmbedding, apply_rope, rope_cos_sin
from foabench.model.stft import STFT

SR = 32000

# Exact parameter counts (n_channels 4, attention merge). Paper, by hand: encoder 2*1025*129 + 25*128,
# FiLM 384*256+256 + 256*256+256, 8 blocks x 3 axes x (attention 4*128^2 + 128, FFN 8*128^2 + 5*128 + 128),
# final norm 128, heads 25*(128*512+512) + 1025*(512*4+4), merge 129.
PARAMS = {"paper": 8_926_855, "small": 2_265_671, "tiny": 508_903}


def _randomise_heads(model: BSAST, seed: int = 0) -> BSAST:
    """Give the zero-initialised value half of each band head random weights, so the output is not silent."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for mlp in model.head.mlps:
            w = mlp[2].weight
            half = w.shape[0] // 2
            w[:half] = torch.randn(half, w.shape[1], generator=gen) / math.sqrt(w.shape[1])
    return model


def _query(b: int, dim: int = 384, seed: int = 0) -> torch.Tensor:
    q = torch.randn(b, dim, generator=torch.Generator().manual_seed(seed))
    return torch.nn.functional.normalize(q, dim=-1)


def _encode(signal: torch.Tensor, azimuth_deg: float) -> torch.Tensor:
    """AmbiX plane wave on the horizon: W, Y, Z, X = 1, sin(az), 0, cos(az)."""
    az = math.radians(azimuth_deg)
    return torch.stack([signal, math.sin(az) * signal, 0 * signal, math.cos(az) * signal])


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_bands_cover_every_bin_once(name):
    cfg = get_config(name)
    bands = cfg.bands()
    assert len(bands) == cfg.n_bands == 25
    covered = np.concatenate([np.arange(a, b) for a, b in bands])
    np.testing.assert_array_equal(covered, np.arange(cfg.n_fft // 2 + 1))
    assert all(b > a for a, b in bands)


def test_default_band_edges():
    edges = DEFAULT_BAND_EDGES_HZ
    assert len(edges) == 24
    assert edges[:5] == (100.0, 200.0, 300.0, 400.0, 500.0)
    np.testing.assert_allclose(edges[4:], 500 * 2 ** (np.arange(20) / 4), atol=0.05)  # quarter octaves
    assert [b - a for a, b in band_bins(edges, SR, 2048)][:3] == [6, 7, 6]
    with pytest.raises(ValueError, match="no STFT bins"):
        band_bins(edges, SR, 256)
    with pytest.raises(ValueError, match="lie in"):
        band_bins(edges, 16000, 1024)  # edges above the 8 kHz Nyquist


@pytest.mark.parametrize("name", sorted(PRESETS))
@pytest.mark.parametrize("channels", [4, 1])
def test_forward_shapes(name, channels):
    torch.manual_seed(0)
    model = BSAST(name, n_channels=channels).eval()
    length = SR + 123  # not a multiple of the hop
    with torch.inference_mode():
        y = model(torch.randn(2, channels, length) * 0.1, _query(2))
    assert y.shape == (2, length) and y.dtype == torch.float32
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("merge", ["mean", "linear"])
@pytest.mark.parametrize("channels", [4, 1])
def test_other_channel_merges(merge, channels):
    model = _randomise_heads(BSAST("tiny", n_channels=channels, channel_merge=merge)).eval()
    with torch.inference_mode():
        y = model(torch.randn(1, channels, 8000), _query(1))
    assert y.shape == (1, 8000) and torch.isfinite(y).all() and y.abs().max() > 0


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_parameter_counts(name):
    n = BSAST(name).num_parameters()
    print(f"BSAST {name}: {n:,} parameters")
    assert n == PARAMS[name]
    assert BSAST(name, n_channels=1).num_parameters() == n  # attention merge: independent of C
    dim = PRESETS[name].dim
    assert BSAST(name, channel_merge="linear").num_parameters() == n - (dim + 1) + (4 + 1)


def test_rope_scores_depend_only_on_offset():
    gen = torch.Generator().manual_seed(0)
    d = 16
    q, k = torch.randn(d, generator=gen), torch.randn(d, generator=gen)

    def score(i: int, j: int) -> float:
        cos, sin = rope_cos_sin(torch.tensor([i, j]), d)
        qi = apply_rope(q[None], cos[:1], sin[:1])[0]
        kj = apply_rope(k[None], cos[1:], sin[1:])[0]
        return float(qi @ kj)

    for i, j in [(0, 0), (3, 7), (10, 2), (40, 41)]:
        base = score(i, j)
        for s in (1, 5, 100):
            assert score(i + s, j + s) == pytest.approx(base, abs=1e-4)
    assert score(0, 5) != pytest.approx(score(0, 6), abs=1e-3)  # but it does depend on the offset
    cos, sin = rope_cos_sin(torch.tensor([0]), d)
    torch.testing.assert_close(apply_rope(q[None], cos, sin)[0], q)  # position 0 is the identity
    # the module rotates row p of a sequence by position p
    rot_q, _ = RotaryEmbedding(d)(q.expand(6, d).clone(), k.expand(6, d).clone())
    cos, sin = rope_cos_sin(torch.tensor([4]), d)
    torch.testing.assert_close(rot_q[4], apply_rope(q[None], cos, sin)[0])


@pytest.mark.parametrize("every_block", [False, True])
def test_film_output_depends_on_query(every_block):
    torch.manual_seed(0)
    model = _randomise_heads(BSAST("tiny", film_every_block=every_block)).eval()
    x = torch.randn(1, 4, 16000) * 0.1
    q1, q2 = _query(1, seed=1), _query(1, seed=2)
    with torch.inference_mode():
        y1, y1b, y2 = model(x, q1), model(x, q1.clone()), model(x, q2)
    torch.testing.assert_close(y1, y1b, rtol=0, atol=0)
    assert (y1 - y2).abs().max() > 1e-3 * y1.abs().max()
    assert len(model.film) == (2 if every_block else 1)


@pytest.mark.parametrize("output", ["spectrum", "mask"])
def test_untrained_model_returns_w_and_is_scale_equivariant(output):
    torch.manual_seed(0)
    x = torch.randn(1, 4, 16000) * 0.1
    with torch.inference_mode():
        silent = BSAST("tiny", w_skip=False, output=output).eval()(x, _query(1))
        assert silent.abs().max() == 0  # zero-initialised GLU value half
        w = BSAST("tiny", output=output).eval()(x, _query(1))  # with the W skip it starts as the mixture's W
        torch.testing.assert_close(w, x[:, 0], rtol=0, atol=1e-5)
        model = _randomise_heads(BSAST("tiny", output=output)).eval()
        y, y3 = model(x, _query(1)), model(3 * x, _query(1))
    torch.testing.assert_close(y3, 3 * y, rtol=1e-4, atol=1e-5 * y.abs().max().item())


def test_si_sdr_and_loss_match_numpy():
    rng = np.random.default_rng(0)
    ref = rng.standard_normal((3, 500)) * [[0.1], [1.0], [0.01]] + 0.05
    est = ref + 0.3 * rng.standard_normal((3, 500)) * ref.std(-1, keepdims=True)
    est[2] *= -2.0

    def np_si_sdr(e, r):
        e, r = e - e.mean(), r - r.mean()
        t = (e @ r) / (r @ r) * r
        return 10 * np.log10((t @ t) / ((e - t) @ (e - t)))

    want_sdr = np.array([np_si_sdr(e, r) for e, r in zip(est, ref, strict=True)])
    want_l1 = np.abs(est - ref).mean(-1) / np.sqrt((ref**2).mean(-1))
    for dtype in (torch.float32, torch.float64):
        e, r = torch.tensor(est, dtype=dtype), torch.tensor(ref, dtype=dtype)
        got = si_sdr(e, r)
        assert got.dtype == dtype
        np.testing.assert_allclose(got.numpy(), want_sdr, rtol=1e-4)
        if dtype == torch.float64:  # without eps: exact
            np.testing.assert_allclose(si_sdr(e, r, eps=0.0).numpy(), want_sdr, rtol=1e-10)
        loss, parts = bsast_loss(e, r, lam=100.0)
        np.testing.assert_allclose(parts["l1"].item(), want_l1.mean(), rtol=1e-5)
        np.testing.assert_allclose(loss.item(), np.mean(-want_sdr + 100 * want_l1), rtol=1e-5)
    # raw L1 without level normalisation
    _, parts = bsast_loss(torch.tensor(est), torch.tensor(ref), normalize=False)
    np.testing.assert_allclose(parts["l1"].item(), np.abs(est - ref).mean(), rtol=1e-9)
    # a silent reference stays finite
    z = torch.zeros(1, 100)
    assert torch.isfinite(bsast_loss(torch.randn(1, 100), z)[0])


@pytest.mark.parametrize("n_fft,hop", [(2048, 1024), (1024, 512)])
def test_stft_round_trip(n_fft, hop):
    stft = STFT(n_fft, hop)
    x = torch.randn(2, 4, SR + 77)
    spec = stft(x)
    assert spec.shape == (2, 4, stft.frames(x.shape[-1]), n_fft // 2 + 1, 2)
    torch.testing.assert_close(stft.inverse(spec, x.shape[-1]), x, rtol=1e-5, atol=1e-5)


class _DtypeRecorder(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.dtypes: set[torch.dtype] = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, tuple | list) else [out]:
            if isinstance(t, torch.Tensor):
                self.dtypes.add(t.dtype)
        return out


def test_bfloat16_autocast_and_no_float64():
    torch.manual_seed(0)
    model = _randomise_heads(BSAST("tiny")).eval()
    x, q = torch.randn(1, 4, 16000) * 0.1, _query(1)
    with torch.inference_mode():
        y32 = model(x, q)
        rec = _DtypeRecorder()
        with torch.autocast("cpu", dtype=torch.bfloat16), rec:
            y16 = model(x, q)
    assert torch.bfloat16 in rec.dtypes and torch.float64 not in rec.dtypes
    assert y16.dtype == torch.float32 and torch.isfinite(y16).all()
    assert si_sdr(y16, y32).item() > 15  # bf16 matmuls, float32 transforms: close to the float32 run


def test_overfits_one_mixture():
    """Tiny BSAST learns to pull a harmonic tone (azimuth 30 deg) out of an AM tone + noise (-100 deg)."""
    t = torch.arange(SR) / SR
    target = 0.3 * torch.sin(2 * math.pi * 440 * t) + 0.15 * torch.sin(2 * math.pi * 880 * t + 1.0)
    noise = torch.randn(SR, generator=torch.Generator().manual_seed(1))
    interferer = 0.3 * torch.sin(2 * math.pi * 660 * t) * (1 + 0.5 * torch.sin(2 * math.pi * 3 * t)) + 0.05 * noise
    mixture = (_encode(target, 30.0) + _encode(interferer, -100.0))[None]
    ref, query = target[None], _query(1)
    assert si_sdr(mixture[:, 0], ref).item() < 1.0

    torch.manual_seed(0)
    model = BSAST("tiny")
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    for _ in range(60):
        loss, parts = bsast_loss(model(mixture, query), ref)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        est = model(mixture, query)
    _, parts = bsast_loss(est, ref)
    print(f"overfit: SI-SDR {parts['si_sdr'].item():.1f} dB, level-normalised L1 {parts['l1'].item():.3f}")
    assert parts["si_sdr"].item() > 15.0
    assert parts["l1"].item() < 0.3  # the right level and sign, not just the right shape
    gain = float((est * ref).sum() / (ref * ref).sum())
    assert 0.7 < gain < 1.3


def test_mask_output_filters_each_channel_and_sums():
    """``output: mask``: the estimate is the iSTFT of sum_c M_c X_c (complex products with each channel's own
    filter), computed here from the heads' filters by hand."""
    torch.manual_seed(0)
    model = _randomise_heads(BSAST("tiny", output="mask", w_skip=False)).eval()
    x = torch.randn(2, 4, 16000) * 0.1
    q = _query(2)
    with torch.inference_mode():
        spec = model.stft(x)
        z, _ = model.encoder(spec)
        z = model.film[0](z, q)
        for block in model.blocks:
            z = block(z)
        filters = model.head.grouped(model.norm(z), None, None)  # (B, C, T, F, 2)
        expected = torch.view_as_real((torch.view_as_complex(filters) * torch.view_as_complex(spec)).sum(1))
        torch.testing.assert_close(model.stft.inverse(expected, 16000), model(x, q), rtol=1e-4, atol=1e-6)
    assert model.merge is None and BSAST("tiny", output="mask").num_parameters() < PARAMS["tiny"]
    with pytest.raises(ValueError, match="output must be one of"):
        BSASTConfig(output="waveform")


def test_config_round_trip_and_validation():
    cfg = get_config("tiny", n_channels=1, channel_merge="mean")
    assert cfg.n_channels == 1 and cfg.dim == 32 and cfg.name == "tiny"
    d = cfg.to_dict()
    assert isinstance(d["band_edges_hz"], list)
    assert BSASTConfig.from_dict(d) == cfg
    assert BSAST(cfg).config == cfg
    with pytest.raises(ValueError, match="unknown"):
        BSASTConfig.from_dict({**d, "bogus": 1})
    with pytest.raises(KeyError):
        get_config("huge")
    with pytest.raises(ValueError, match="channel_merge"):
        get_config("tiny", channel_merge="max")
    with pytest.raises(ValueError, match="heads"):
        get_config("tiny", dim=30)
    assert (PRESETS["paper"].n_fft, PRESETS["paper"].hop, PRESETS["paper"].dim) == (2048, 1024, 128)
    assert (PRESETS["paper"].depth, PRESETS["paper"].heads) == (8, 4)


def test_separator_metadata_and_input_checks():
    assert BSAST.name == "bsast" and BSAST.uses == ("query_embedding",)
    model = BSAST("tiny")
    with pytest.raises(ValueError, match="mixture"):
        model(torch.zeros(1, 2, 1000), _query(1))
    with pytest.raises(ValueError, match="query"):
        model(torch.zeros(1, 4, 1000), _query(1, dim=512))
    assert BSAST("tiny", query_dim=512)(torch.zeros(1, 4, 1000), _query(1, dim=512)).shape == (1, 1000)


def _outputs_and_grads(model: BSAST, x: torch.Tensor, q: torch.Tensor, per_band: bool):
    model.reference_path = per_band
    model.zero_grad(set_to_none=True)
    y = model(x, q)
    (y * torch.linspace(-1, 1, y.shape[-1])).sum().backward()  # a loss that weights every output sample
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.reference_path = False
    return y.detach(), grads


@pytest.mark.parametrize(
    "name, overrides",
    [("tiny", {}), ("small", {}), ("paper", {"depth": 1}), ("tiny", {"channel_merge": "linear"}),
     ("tiny", {"channel_merge": "mean", "band_rescale": False}), ("tiny", {"n_channels": 1}),
     ("tiny", {"output": "mask"}), ("small", {"output": "mask", "n_channels": 1}),
     ("tiny", {"band_norm": "shared"}), ("tiny", {"band_norm": "shared", "output": "mask"})],
)  # fmt: skip
def test_batched_bands_equal_the_per_band_path(name, overrides):
    """The grouped band-split encoder and heads compute what the band-by-band loops compute, gradients too."""
    torch.manual_seed(0)
    model = _randomise_heads(BSAST(name, **overrides))
    c = model.config.n_channels
    x, q = torch.randn(2, c, 24000) * 0.1, _query(2)
    y_ref, g_ref = _outputs_and_grads(model, x, q, per_band=True)
    y_fast, g_fast = _outputs_and_grads(model, x, q, per_band=False)
    scale = y_ref.abs().max()
    assert scale > 1e-3
    torch.testing.assert_close(y_fast, y_ref, rtol=1e-4, atol=1e-5 * scale)
    assert g_fast.keys() == g_ref.keys() and len(g_ref) == len(list(model.parameters()))
    largest = max(g.abs().max() for g in g_ref.values())  # merge.bias's true gradient is 0 (softmax shift)
    for n, g in g_ref.items():
        torch.testing.assert_close(g_fast[n], g, rtol=1e-3, atol=1e-5 * g.abs().max() + 1e-7 * largest, msg=n)


def test_band_groups_cover_every_band_with_least_padding():
    from foabench.model.band_groups import group_bands, make_groups

    sizes = [3, 3, 4, 10, 12, 40]
    assert group_bands(sizes, 1) == [range(0, 6)]
    assert group_bands(sizes, 3) == [range(0, 3), range(3, 5), range(5, 6)]  # padded 12 + 24 + 40
    runs = group_bands(sizes, 10)  # no padding left, in as few groups as that allows (equal widths share one)
    assert runs == [range(0, 2), range(2, 3), range(3, 4), range(4, 5), range(5, 6)]
    for preset in PRESETS.values():
        groups = make_groups(preset.bands(), 6)
        assert [b for g in groups for b in g.bands] == list(range(preset.n_bands))
        padded = sum(len(g.bands) * g.width for g in groups)
        assert padded <= 1.2 * preset.n_bins


def test_shared_band_norm_keeps_the_direction_in_the_tokens():
    """A plane wave from 20 or 60 degrees azimuth has the same channel signs; per-channel RMS normalisation
    divides out the level ratios that tell them apart, the shared norm keeps them. Both stay scale-free."""
    torch.manual_seed(0)
    s = torch.randn(16000)
    tokens = {}
    for norm in ("channel", "shared"):
        encoder = BSAST("tiny", band_norm=norm).encoder
        with torch.inference_mode():
            spec = [BSAST("tiny").stft(_encode(s, az)[None]) for az in (20.0, 60.0)]
            z20, z60 = (encoder(sp)[0] for sp in spec)
            torch.testing.assert_close(encoder(spec[0] * 5)[0], z20, rtol=1e-4, atol=1e-4)
        tokens[norm] = (z20 - z60).abs().max() / z20.abs().max()
    assert tokens["channel"] < 1e-4
    assert tokens["shared"] > 0.05
    with pytest.raises(ValueError, match="band_norm"):
        get_config("tiny", band_norm="frame")
