"""BSAST conditioned on the direction query: the spherical-harmonic encoding against the addition theorem, the
model's inputs and outputs, and a model trained and evaluated end to end on scenes with direction queries."""

import json
import math

import numpy as np
import pytest
import torch
from scipy.special import eval_legendre

from foabench.benchmark.evaluate import evaluate_separator
from foabench.benchmark.separator_spec import load_separator
from foabench.benchmark.train import TrainSettings, train
from foabench.model.bsast import BSAST
from foabench.model.layers import direction_features
from foabench.synth.banks.bank_set import BankSet
from foabench.synth.foa import unit_vector
from foabench.synth.scenes.manifest import write_manifest
from foabench.synth.scenes.sampler import sample_manifest
from foabench.synth.scenes.spec import parse_spec
from tests.scene_fixtures import TEST_SPEC
from tests.test_evaluate import _rows, _settings, setup  # noqa: F401  (setup is a fixture)

TINY = {"sample_rate": 16000, "n_fft": 256, "hop": 128, "band_edges_hz": [100 * (k + 1) for k in range(24)],
        "dim": 16, "depth": 1, "heads": 2, "output": "mask", "condition": "direction"}  # fmt: skip


def test_direction_features_obey_the_addition_theorem():
    rng = np.random.default_rng(0)
    dirs = np.c_[rng.uniform(-180, 180, 40), np.degrees(np.arcsin(rng.uniform(-1, 1, 40)))]
    feats = direction_features(torch.tensor(dirs), 3).numpy()
    assert feats.shape == (40, 16)
    u = np.stack([unit_vector(a, e) for a, e in dirs])
    cos = np.clip(u @ u.T, -1, 1)
    for order in range(4):
        block = feats[:, order**2 : (order + 1) ** 2]
        expected = (2 * order + 1) / (4 * math.pi) * eval_legendre(order, cos)
        np.testing.assert_allclose(block @ block.T, expected, atol=1e-12)
    with pytest.raises(ValueError, match="order"):
        direction_features(torch.zeros(1, 2), 4)


def test_a_direction_conditioned_bsast_reads_azimuth_and_elevation():
    torch.manual_seed(0)
    model = BSAST("tiny", **{**TINY, "n_channels": 4})
    assert model.film[0].mlp[0].in_features == 16
    mixture = torch.randn(2, 4, 4000)
    out = model(mixture, torch.tensor([[30.0, 0.0], [-90.0, 20.0]]))
    assert out.shape == (2, 4000)
    with torch.no_grad():  # away from the initialisation (the mask starts at W): the direction must matter
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    a = model(mixture[:1], torch.tensor([[30.0, 0.0]]))
    b = model(mixture[:1], torch.tensor([[150.0, 0.0]]))
    assert not torch.allclose(a, b)
    with pytest.raises(ValueError, match=r"direction query \(azimuth, elevation\) must be \(2, 2\)"):
        model(mixture, torch.zeros(2, 384))
    with pytest.raises(ValueError, match="condition"):
        BSAST("tiny", condition="point cloud")


def test_region_and_combined_conditions_read_what_they_say():
    torch.manual_seed(0)
    mixture = torch.randn(2, 4, 4000)
    region = BSAST("tiny", **{**TINY, "n_channels": 4, "condition": "region"})
    both = BSAST("tiny", **{**TINY, "n_channels": 4, "condition": "embedding+direction", "query_dim": 8})
    assert region.film[0].mlp[0].in_features == 18 and both.film[0].mlp[0].in_features == 8 + 16
    with torch.no_grad():
        for p in [*region.parameters(), *both.parameters()]:
            p.add_(0.1 * torch.randn_like(p))
    cone, wider, box = (torch.tensor([[30.0, 0.0, s, b]]) for s, b in ((20.0, 0.0), (60.0, 0.0), (20.0, 1.0)))
    outs = [region(mixture[:1], q) for q in (cone, wider, box)]
    assert not torch.allclose(outs[0], outs[1]) and not torch.allclose(outs[0], outs[2])  # size and shape matter
    emb = torch.randn(1, 8)
    a = both(mixture[:1], torch.cat([emb, torch.tensor([[30.0, 0.0]])], dim=-1))
    b = both(mixture[:1], torch.cat([emb, torch.tensor([[-90.0, 0.0]])], dim=-1))
    c = both(mixture[:1], torch.cat([torch.randn(1, 8), torch.tensor([[30.0, 0.0]])], dim=-1))
    assert not torch.allclose(a, b) and not torch.allclose(a, c)  # both the direction and the embedding matter
    with pytest.raises(ValueError, match=r"region query \(azimuth, elevation, size, box\) must be \(2, 4\)"):
        region(mixture, torch.zeros(2, 2))


USES = {"direction": ("query_direction",), "region": ("query_region",),
        "embedding+direction": ("query_embedding", "query_direction")}  # fmt: skip


@pytest.mark.parametrize("condition", sorted(USES))
def test_trained_on_spatial_queries_and_evaluated_with_them(setup, tmp_path, condition):  # noqa: F811
    root, banks, _, _ = setup
    queries = {"direction": {"model": "vmf", "spread_deg": {"dist": "uniform", "low": 0, "high": 10}},
               "region": {"shape": "box", "size_deg": 40.0}}  # fmt: skip
    spec = {**TEST_SPEC, "queries": queries}
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(spec))
    header, rows = sample_manifest(parse_spec(spec), list(BankSet.open([banks]).banks.values()), "test", 3, 2)
    test = write_manifest(tmp_path / "test.jsonl", header, rows)[0]
    run = tmp_path / "run"
    overrides = {**TINY, "condition": condition}
    train(TrainSettings(out=str(run), banks=[str(banks)], model="bsast", config="tiny", model_overrides=overrides,
                        spec=str(spec_path), val=str(test), steps=2, batch_size=2, warmup=1, workers=0,
                        ckpt_every=2, val_every=2, encoder=str(root / "encoder"), cache=str(root / "cache")),
          progress=False)  # fmt: skip
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert any("swap_query_si_sdri" in m.get("val", {}) for m in metrics)  # validated with spatial queries
    sep = load_separator(f"bsast:{run}")
    assert sep.uses == USES[condition]
    summary = evaluate_separator(_settings(setup, tmp_path / "res", f"bsast:{run}", split=str(test), query="text"),
                                 progress=False)  # fmt: skip
    assert summary["by_query"]["text"]["n"] == sum(e["role"] == "target" for r in rows for e in r["events"])
    # a model conditioned on a spatial query alone needs no query encoder; one that also reads the embedding does
    assert (summary["provenance"]["encoder"] is None) == (condition != "embedding+direction")
    assert all(np.isfinite(r["si_sdr"]) for r in _rows(tmp_path / "res"))
    if condition != "direction":
        return
    plain = tmp_path / "plain.json"  # scenes without direction queries: a clear error, before any step
    plain.write_text(json.dumps(TEST_SPEC))
    with pytest.raises(ValueError, match="no direction query"):
        train(TrainSettings(out=str(tmp_path / "run2"), banks=[str(banks)], model="bsast", config="tiny",
                            model_overrides=TINY, spec=str(plain), steps=1, batch_size=2, warmup=1, workers=0,
                            encoder=str(root / "encoder"), cache=str(root / "cache")), progress=False)  # fmt: skip
