"""ResUNet (model/resunet.py): shapes, parameter counts, pass-through start, FiLM, precision, config, overfit."""

from __future__ import annotations

import math

import pytest
import torch

from foabench.model.loss import level_l1, si_sdr
from foabench.model.resunet import ResUNet
from foabench.model.resunet_config import PRESETS, ResUNetConfig, get_config

SR = 32000

# Exact parameter counts at query_dim 384 (see model/resunet_config.py).
PARAMS = {"paper": 26_805_731, "tiny": 272_715}


def _query(b: int, dim: int = 384, seed: int = 0) -> torch.Tensor:
    q = torch.randn(b, dim, generator=torch.Generator().manual_seed(seed))
    return torch.nn.functional.normalize(q, dim=-1)


def _randomise_head(model: ResUNet, seed: int = 0) -> ResUNet:
    """Give the zero-initialised output conv random weights, so the output depends on the network."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        w = model.head.weight
        w.copy_(torch.randn(w.shape, generator=gen) / math.sqrt(w.shape[1]))
    return model


def _sources(seed: int, seconds: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """A harmonic tone (the target) and band-passed noise bursts (the interferer) of equal energy."""
    gen = torch.Generator().manual_seed(seed)
    n = round(SR * seconds)
    t = torch.arange(n) / SR
    f0 = 150.0 + 100.0 * torch.rand(1, generator=gen).item()
    phases = 2 * math.pi * torch.rand(6, generator=gen)
    tone = sum(torch.sin(2 * math.pi * k * f0 * t + phases[k - 1]) / k for k in range(1, 7))
    spec = torch.fft.rfft(torch.randn(n, generator=gen))
    freqs = torch.fft.rfftfreq(n, 1 / SR)
    noise = torch.fft.irfft(spec * ((freqs > 800) & (freqs < 5000)), n)
    gate = ((t * 6) % 1 < 0.5).float()  # 83 ms bursts, 6 per second
    gate = torch.nn.functional.conv1d(gate[None, None], torch.ones(1, 1, 161) / 161, padding=80)[0, 0]  # 5 ms ramps
    noise = noise * gate
    tone = 0.1 * tone / tone.pow(2).mean().sqrt()
    noise = 0.1 * noise / noise.pow(2).mean().sqrt()
    return tone, noise


@pytest.mark.parametrize("length", [SR, SR + 123, 4000, 2 * SR - 1, 257])
def test_forward_shapes(length):
    torch.manual_seed(0)
    model = _randomise_head(ResUNet("tiny")).eval()
    with torch.inference_mode():
        y = model(torch.randn(2, 1, length) * 0.1, _query(2))
    assert y.shape == (2, length) and y.dtype == torch.float32
    assert torch.isfinite(y).all()


def test_input_checks_and_metadata():
    assert ResUNet.name == "resunet" and ResUNet.uses == ("query_embedding",) and ResUNet.default_loss == "l1"
    model = ResUNet("tiny")
    with pytest.raises(ValueError, match="mixture"):
        model(torch.zeros(1, 4, 1000), _query(1))
    with pytest.raises(ValueError, match="mixture"):
        model(torch.zeros(1, 1000), _query(1))
    with pytest.raises(ValueError, match="query"):
        model(torch.zeros(1, 1, 1000), _query(1, dim=512))
    with pytest.raises(ValueError, match="query"):
        model(torch.zeros(2, 1, 1000), _query(1))
    with pytest.raises(ValueError, match="longer"):
        model(torch.zeros(1, 1, 100), _query(1))
    model = ResUNet("tiny", query_dim=512).eval()
    assert model(torch.zeros(1, 1, 1000), _query(1, dim=512)).shape == (1, 1000)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_parameter_counts(name):
    model = ResUNet(name)
    n = model.num_parameters()
    print(f"ResUNet {name}: {n:,} parameters")
    assert n == PARAMS[name] == model.num_parameters(trainable_only=True)
    film = sum(p.numel() for p in model.film.parameters())
    dim, hidden = model.config.query_dim, model.config.film_hidden
    # the FiLM share grows with query_dim through its first layer only
    assert ResUNet(name, query_dim=512).num_parameters() == n + (512 - dim) * (hidden or film // (dim + 1))


def test_untrained_model_passes_the_mixture():
    torch.manual_seed(0)
    x = torch.randn(2, 1, SR + 300) * 0.1  # 300 = length % hop > n_fft / 2: the tail must survive too
    model = ResUNet("tiny").eval()
    with torch.inference_mode():
        y = model(x, _query(2))
        y_other = model(x, _query(2, seed=5))
    assert si_sdr(y, x[:, 0]).min().item() > 40
    torch.testing.assert_close(y, torch.sigmoid(torch.tensor(4.0)) * x[:, 0], rtol=0, atol=1e-5)
    torch.testing.assert_close(y, y_other)  # zero head: nothing depends on the query yet
    model.train()  # batch statistics, still a pass-through
    assert si_sdr(model(x, _query(2)), x[:, 0]).min().item() > 40


def test_query_changes_output_and_film_gets_gradients():
    torch.manual_seed(0)
    model = _randomise_head(ResUNet("tiny")).eval()
    x = torch.randn(1, 1, SR // 2) * 0.1
    q1, q2 = _query(1, seed=1), _query(1, seed=2)
    with torch.inference_mode():
        y1, y1b, y2 = model(x, q1), model(x, q1.clone()), model(x, q2)
    torch.testing.assert_close(y1, y1b, rtol=0, atol=0)
    assert (y1 - y2).abs().max() > 1e-3 * y1.abs().max()
    model.train()
    level_l1(model(x, q1), x[:, 0], normalize=False).mean().backward()
    grads = [p.grad for p in model.film.parameters()]
    assert all(g is not None and torch.isfinite(g).all() and g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("downsample", ["avgpool", "conv"])
def test_other_options(downsample):
    model = _randomise_head(
        ResUNet("tiny", downsample=downsample, input_feature="linear", film_hidden=0, blocks_per_level=2)
    ).eval()
    with torch.inference_mode():
        y = model(torch.randn(1, 1, 8000) * 0.1, _query(1))
    assert y.shape == (1, 8000) and torch.isfinite(y).all() and y.abs().max() > 0
    assert ResUNet("tiny", bottleneck_blocks=0).eval()(torch.zeros(1, 1, 2000), _query(1)).shape == (1, 2000)


def test_bfloat16_autocast():
    torch.manual_seed(0)
    model = _randomise_head(ResUNet("tiny")).eval()
    x, q = torch.randn(1, 1, SR // 2) * 0.1, _query(1)
    with torch.inference_mode():
        y32 = model(x, q)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            y16 = model(x, q)
    assert y16.dtype == torch.float32 and torch.isfinite(y16).all()
    assert si_sdr(y16, y32).item() > 15
    model.train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = model(x, q)
    level_l1(y, x[:, 0], normalize=False).mean().backward()
    assert y.dtype == torch.float32
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_config_round_trip_and_validation():
    cfg = get_config("tiny", channels=[4, 8], downsample="conv")
    assert cfg.channels == (4, 8) and cfg.levels == 2 and cfg.name == "tiny" and cfg.n_channels == 1
    d = cfg.to_dict()
    assert d["channels"] == [4, 8]
    assert ResUNetConfig.from_dict(d) == cfg
    assert ResUNet(cfg).config == cfg
    assert ResUNet("tiny", hop=128).config == get_config("tiny").replace(hop=128)
    with pytest.raises(ValueError, match="unknown"):
        ResUNetConfig.from_dict({**d, "bogus": 1})
    with pytest.raises(KeyError):
        get_config("huge")
    with pytest.raises(ValueError, match="n_channels"):
        get_config("tiny", n_channels=4)
    with pytest.raises(ValueError, match="downsample"):
        get_config("tiny", downsample="max")
    with pytest.raises(ValueError, match="input_feature"):
        get_config("tiny", input_feature="db")
    with pytest.raises(ValueError, match="hop"):
        get_config("tiny", hop=1024)
    paper = PRESETS["paper"]
    assert (paper.sample_rate, paper.n_fft, paper.hop, paper.query_dim) == (32000, 1024, 320, 384)
    assert paper.channels == (32, 64, 128, 256, 384, 384) and paper.bottleneck == 384


def test_overfits_one_mixture():
    """Tiny ResUNet learns to pull a harmonic tone out of band-passed noise bursts (waveform L1, like AudioSep).

    Over seeds 0-9 (data and init) 150 steps reach 15-25 dB from a 0 dB mixture; the threshold is 10 dB. A
    model whose mask cannot vary over time and frequency stays at 0 dB."""
    tone, noise = _sources(seed=0, seconds=0.5)
    mixture, ref, query = (tone + noise)[None, None], tone[None], _query(1)
    before = si_sdr(mixture[:, 0], ref).item()
    assert abs(before) < 1.0

    torch.manual_seed(0)
    model = ResUNet("tiny")
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(150):
        loss = level_l1(model(mixture, query), ref, normalize=False).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        est = model.eval()(mixture, query)
    after = si_sdr(est, ref).item()
    print(f"overfit: SI-SDR {before:.1f} -> {after:.1f} dB")
    assert after - before > 10.0
    gain = float((est * ref).sum() / (ref * ref).sum())
    assert 0.8 < gain < 1.2  # the right level and sign
