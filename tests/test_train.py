"""The training harness: deterministic dynamic mixing, exact resume, run folder, validation, CLI."""

import json

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from foabench.benchmark.cli import main as cli
from foabench.benchmark.train import TrainSettings, lr_at, make_model, train
from foabench.benchmark.train_data import DynamicMixDataset, StreamSampler, build_query_table
from foabench.synth.banks.bank_set import BankSet
from foabench.synth.queries.train_encoder import TrainConfig, train_builtin_encoder
from foabench.synth.scenes.manifest import write_manifest
from foabench.synth.scenes.sampler import SceneStream, sample_manifest
from foabench.synth.scenes.spec import parse_spec
from tests.scene_fixtures import TEST_SPEC, build_scene_banks

MODEL = {"sample_rate": 16000, "n_fft": 512, "hop": 256, "band_edges_hz": [100 * (k + 1) for k in range(24)],
         "dim": 16, "depth": 1, "heads": 2, "film_hidden": 16}  # fmt: skip


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """Scene banks, a briefly trained encoder, a spec file and a validation manifest."""
    root = tmp_path_factory.mktemp("train")
    banks = build_scene_banks(root / "banks", root / "audio")
    encoder = train_builtin_encoder(
        banks / "clips", root / "encoder", TrainConfig(steps=3, batch_size=8), progress=False
    )
    spec_path = root / "spec.json"
    spec_path.write_text(json.dumps(TEST_SPEC))
    header, rows = sample_manifest(parse_spec(TEST_SPEC), list(BankSet.open([banks]).banks.values()), "val", 3, 1)
    val = write_manifest(root / "val.jsonl", header, rows)[0]
    return root, banks, encoder, spec_path, val


def _settings(setup, out, **kw) -> TrainSettings:
    root, banks, _, spec_path, val = setup
    base = dict(out=str(out), banks=[str(banks)], model_overrides=MODEL, val=str(val), spec=str(spec_path),
                steps=4, batch_size=2, warmup=2, workers=0, val_every=4, ckpt_every=2, log_every=1,
                encoder=str(root / "encoder"), cache=str(root / "cache"))  # fmt: skip
    return TrainSettings(**{**base, **kw})


def test_dynamic_mixing_is_the_same_for_any_worker_count(setup):
    root, banks, encoder, _, _ = setup
    bankset = BankSet.open([banks])
    table = build_query_table(encoder, bankset, root / "cache")
    stream = SceneStream(parse_spec(TEST_SPEC), list(bankset.banks.values()), "train", seed=3)
    data = DynamicMixDataset(stream, [str(banks)], table, n_channels=4)
    batches = []
    for workers in (0, 2):
        loader = DataLoader(data, batch_size=2, sampler=StreamSampler(1, 4), num_workers=workers)
        batches.append([tuple(t.clone() for t in b[:3]) for b in loader])
    for a, b in zip(*batches, strict=True):
        for x, y in zip(a, b, strict=True):
            assert torch.equal(x, y)
    mixture, target, query, _ = data[2]
    assert mixture.shape == (4, 24000) and target.shape == (24000,) and query.shape == (384,)
    assert abs(float(torch.linalg.norm(query)) - 1.0) < 1e-5
    assert list(StreamSampler(3, 2, rank=1, world=2)) == [7, 9]


def test_resume_continues_exactly(setup, tmp_path):
    train(_settings(setup, tmp_path / "a"), progress=False)
    train(_settings(setup, tmp_path / "b"), progress=False, stop_after=2)
    with pytest.raises(ValueError, match="already holds a run"):
        train(_settings(setup, tmp_path / "b"), progress=False)
    train(_settings(setup, tmp_path / "b"), resume=True, progress=False)
    a = torch.load(tmp_path / "a" / "checkpoints" / "last.pt", weights_only=False)
    b = torch.load(tmp_path / "b" / "checkpoints" / "last.pt", weights_only=False)
    assert a["step"] == b["step"] == 4
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    loss = {d: {r["step"]: r["loss"] for r in map(json.loads, (tmp_path / d / "metrics.jsonl").open()) if "loss" in r}
            for d in ("a", "b")}  # fmt: skip
    assert loss["a"] == loss["b"] and sorted(loss["a"]) == [1, 2, 3, 4]


def test_run_folder_records_everything(setup, tmp_path):
    metrics = train(_settings(setup, tmp_path / "run"), progress=False)
    info = json.loads((tmp_path / "run" / "config.json").read_text())
    assert info["encoder_hash"] == setup[2].hash and set(info["banks"]) == {"clips", "rooms", "noise"}
    assert info["model_config"]["dim"] == 16 and info["settings"]["seed"] == 0 and info["parameters"] > 0
    assert {"audio_query_si_sdri", "text_query_si_sdri", "mixture_si_sdr"} <= set(metrics)
    assert np.isfinite(metrics["audio_query_si_sdr"]) and metrics["targets"] >= 3
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir()) == [
        "last.pt", "step0000002.pt", "step0000004.pt"]  # fmt: skip
    assert lr_at(0, _settings(setup, "x")) == pytest.approx(1.5e-4) and lr_at(1, _settings(setup, "x")) == 3e-4


def test_train_cli(setup, tmp_path, capsys):
    root, banks, _, spec_path, val = setup
    args = ["train", "--config", "tiny", "--model-overrides", json.dumps(MODEL), "--banks", str(banks)]
    args += ["--val", str(val), "--out", str(tmp_path / "cli"), "--spec", str(spec_path), "--steps", "2"]
    args += ["--batch-size", "2", "--warmup", "1", "--workers", "0", "--encoder", str(root / "encoder")]
    args += ["--cache", str(root / "cache"), "--no-progress"]
    assert cli(args) == 0
    assert "audio_query_si_sdri" in capsys.readouterr().out
    assert cli(args) == 2  # the folder holds a run: --resume or another --out
    with pytest.raises(SystemExit) as exc:  # argparse refuses a model it does not know
        cli([*args[:-1], "--model", "conv-tasnet"])
    assert exc.value.code == 2
    with pytest.raises(ValueError, match="unknown trainable separator"):
        make_model("conv-tasnet", "tiny", {}, 384)
    assert make_model("bsast-w", "tiny", {}, 384).config.n_channels == 1
