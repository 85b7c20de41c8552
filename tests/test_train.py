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


def _stream(setup) -> tuple[SceneStream, object]:
    """The training stream (seed 3) of the test spec and the query table of the setup's encoder."""
    root, banks, encoder, _, _ = setup
    bankset = BankSet.open([banks])
    table = build_query_table(encoder, bankset, root / "cache")
    return SceneStream(parse_spec(TEST_SPEC), list(bankset.banks.values()), "train", seed=3), table


def test_dynamic_mixing_is_the_same_for_any_worker_count(setup):
    banks = setup[1]
    stream, table = _stream(setup)
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


def test_validation_swap_test_uses_another_class(setup):
    from foabench.benchmark.train_data import ManifestDataset, swap_partner
    from foabench.synth.scenes.manifest import read_manifest

    root, banks, encoder, _, val = setup
    rows = read_manifest(val).rows
    data = ManifestDataset(rows, [str(banks)], build_query_table(encoder, BankSet.open([banks]), root / "cache"), 4)
    labels = [row["events"][k]["label"] for row, k in data.items]
    assert len(set(labels)) > 1
    for i, j in enumerate(data.swap):
        assert labels[j] != labels[i] and j == swap_partner(data.items, i)
    item = data[0]
    partner = data[data.swap[0]]
    assert torch.equal(item["swap_query"], partner["audio_query"])
    assert not torch.equal(item["swap_query"], item["audio_query"])
    same = [(rows[0], 0), (rows[0], 0)]  # every target of one class: the swap falls back to itself
    assert swap_partner(same, 1) == 1


def test_recipe_override_changes_the_query_only(setup):
    from foabench.synth.queries.pseudo import apply_recipe

    root, banks, encoder, _, _ = setup
    bankset = BankSet.open([banks])
    table = build_query_table(encoder, bankset, root / "cache")
    stream = SceneStream(parse_spec(TEST_SPEC), list(bankset.banks.values()), "train", seed=3)
    plain = DynamicMixDataset(stream, [str(banks)], table, 4)
    clean = DynamicMixDataset(stream, [str(banks)], table, 4, recipe_override={"sigma": 0.0})
    (m1, t1, q1, _), (m2, t2, q2, _) = plain[1], clean[1]
    assert torch.equal(m1, m2) and torch.equal(t1, t2) and not torch.allclose(q1, q2)
    row = stream.row(1)
    targets = [e for e in row["events"] if e["role"] == "target"]
    ev = targets[row["seed"] % len(targets)]
    expected = apply_recipe({"name": "gaussian", "sigma": 0.0, "seed": 0}, table.audio_of(ev["source"]))
    assert np.allclose(q2.numpy(), expected, atol=1e-6)


def test_train_recipe_file_sets_what_the_command_line_leaves(setup, tmp_path):
    root, banks, _, spec_path, val = setup
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"description: a test recipe\nmodel: bsast\nconfig: tiny\nmodel_overrides: {json.dumps(MODEL)}\n"
                      "steps: 2\nbatch_size: 2\nwarmup: 1\nlr: 0.002\nquery_recipe: {sigma: 0.05}\n")  # fmt: skip
    args = ["train", "--recipe", str(recipe), "--banks", str(banks), "--val", str(val), "--spec", str(spec_path)]
    args += ["--out", str(tmp_path / "run"), "--workers", "0", "--encoder", str(root / "encoder"), "--lr", "0.001"]
    assert cli([*args, "--cache", str(root / "cache"), "--no-progress", "--warmup=50", "--batch", "2"]) == 0
    settings = json.loads((tmp_path / "run" / "config.json").read_text())["settings"]
    assert settings["steps"] == 2 and settings["query_recipe"] == {"sigma": 0.05} and settings["lr"] == 0.001
    assert settings["warmup"] == 50  # given on the command line: wins over the recipe, though it is the default
    assert settings["model_overrides"]["dim"] == 16
    bad = tmp_path / "bad.yaml"
    bad.write_text("stepz: 3\n")
    assert cli([*args[:2], str(bad), *args[3:]]) == 2  # an unknown field is refused before any work


def test_shipped_reference_round_trip(setup, tmp_path, monkeypatch):
    """A shipped run loads as ``reference:NAME`` with its own encoder; a mismatched encoder is refused."""
    import foabench.benchmark.references as refs
    import foabench.benchmark.references.ship as ship
    from foabench.benchmark.evaluate import EvalSettings, evaluate_separator
    from foabench.benchmark.separator import SeparatorError
    from foabench.benchmark.separator_spec import load_separator

    root, banks, _, _, val = setup
    monkeypatch.setattr(refs, "ROOT", tmp_path / "refs")
    monkeypatch.setattr(refs, "ENCODER", tmp_path / "refs" / "encoder")
    monkeypatch.setattr(ship, "ROOT", tmp_path / "refs")
    monkeypatch.setattr(ship, "ENCODER", tmp_path / "refs" / "encoder")
    train(_settings(setup, tmp_path / "run"), progress=False)
    recipe = tmp_path / "r.yaml"
    recipe.write_text("steps: 4\n")
    folder = ship.ship_run(tmp_path / "run", "tiny-test", recipe)
    info = json.loads((folder / "reference.json").read_text())
    assert info["step"] == 4 and info["weights_dtype"] in ("float16", "float32") and info["val"]["targets"] >= 3
    assert (tmp_path / "refs" / "encoder" / "encoder.json").is_file()
    sep = load_separator("reference:tiny-test")
    trained = load_separator(f"run:{tmp_path / 'run'}")
    x = torch.randn(1, 4, 8000) * 0.1
    q = torch.nn.functional.normalize(torch.randn(1, 384), dim=-1)
    with torch.inference_mode():
        a, b = sep.model(x, q), trained.model(x, q)
    assert float(((a - b) ** 2).sum() / (b**2).sum()) < 1e-4  # float16 weights: the same estimates
    assert sep.encoder_folder == str(tmp_path / "refs" / "encoder")
    with pytest.raises(SeparatorError, match="no shipped reference 'nope'"):
        load_separator("reference:nope")
    with pytest.raises(SeparatorError, match="tiny-test"):
        load_separator("reference:list")
    with pytest.raises(refs.ReferenceError, match="exists"):
        ship.ship_run(tmp_path / "run", "tiny-test", recipe)
    # the demo scores the references with their own encoder, copied when it was trained on the demo's bank
    from foabench.benchmark.demo import demo_encoder
    from foabench.benchmark.demo_separators import matching_references

    copied, how = demo_encoder(tmp_path / "demo-enc", banks / "clips", retrain=False, progress=False)
    assert copied.hash == setup[2].hash and how == "shipped with the reference checkpoints"
    assert matching_references(copied.hash) == ["reference:tiny-test"]
    other = train_builtin_encoder(banks / "clips", tmp_path / "enc2", TrainConfig(steps=2, batch_size=8, seed=5),
                                  progress=False)  # fmt: skip
    settings = EvalSettings(separator=f"run:{tmp_path / 'run'}", split=str(val), out=str(tmp_path / "res"),
                            banks=[str(banks)], encoder=str(tmp_path / "enc2"), cache=str(root / "cache"))  # fmt: skip
    assert other.hash != setup[2].hash and matching_references(other.hash) == []
    with pytest.raises(SeparatorError, match="trained with query encoder"):
        evaluate_separator(settings, progress=False)


def test_mixing_on_the_device_gives_the_batches_the_workers_render(setup):
    from foabench.benchmark.train_data import gathered_batch, mix_gathered
    from foabench.synth.scenes.render_torch import DeviceMixer

    banks = setup[1]
    stream, table = _stream(setup)
    rendered = DynamicMixDataset(stream, [str(banks)], table, n_channels=4)
    gathered = DynamicMixDataset(stream, [str(banks)], table, n_channels=4, gather_only=True)
    mixer = DeviceMixer("cpu")
    loaded = [mix_gathered(mixer, scenes, targets, 4)[0] for scenes, targets, _, _ in DataLoader(
        gathered, batch_size=2, sampler=StreamSampler(0, 2), num_workers=2, collate_fn=gathered_batch)]  # fmt: skip
    assert torch.equal(loaded[0][1], mix_gathered(mixer, *gathered_batch([gathered[0], gathered[1]])[:2], 4)[0][1])
    for channels in (4, 1):
        rendered.n_channels = channels
        for indices in ([0, 1, 2], [5, 9]):
            scenes, targets, queries, _ = gathered_batch([gathered[i] for i in indices])
            mixtures, directs = mix_gathered(mixer, scenes, targets, channels)
            assert mixtures.shape == (len(indices), channels, 24000) and directs.shape == (len(indices), 24000)
            for j, i in enumerate(indices):
                mixture, target, query, _ = rendered[i]
                assert torch.equal(query, queries[j])
                assert float((mixtures[j] - mixture).abs().max()) < 2e-5 * float(mixture.abs().max())
                assert float((directs[j] - target).abs().max()) < 2e-5 * float(target.abs().max()) + 1e-9


def test_training_with_device_mixing_follows_the_worker_run(setup, tmp_path):
    train(_settings(setup, tmp_path / "workers"), progress=False)
    train(_settings(setup, tmp_path / "device", mix_on="device"), progress=False)
    loss = {d: [r["loss"] for r in map(json.loads, (tmp_path / d / "metrics.jsonl").open()) if "loss" in r]
            for d in ("workers", "device")}  # fmt: skip
    assert len(loss["device"]) == 4
    np.testing.assert_allclose(loss["device"], loss["workers"], rtol=1e-3, atol=1e-3)
    config = json.loads((tmp_path / "device" / "config.json").read_text())
    assert config["settings"]["mix_on"] == "device"
    with pytest.raises(ValueError, match="mix_on must be one of"):
        train(_settings(setup, tmp_path / "bad", mix_on="gpu"), progress=False)
