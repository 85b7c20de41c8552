"""``foabench eval``: metrics, the separator interface and loader, provenance, resume, trained and baseline runs."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from foabench.benchmark.cli import main as cli
from foabench.benchmark.evaluate import (
    PROVENANCE,
    ROWS,
    EvalSettings,
    EvaluationError,
    ResultsMismatch,
    evaluate_separator,
)
from foabench.benchmark.metrics import MAX_DB, score, sdr, si_sdr
from foabench.benchmark.separator import SeparatorError
from foabench.benchmark.separator_spec import load_separator
from foabench.benchmark.train import TrainSettings, train
from foabench.synth.banks.bank_set import BankSet
from foabench.synth.queries.train_encoder import TrainConfig, train_builtin_encoder
from foabench.synth.scenes.manifest import write_manifest
from foabench.synth.scenes.sampler import sample_manifest
from foabench.synth.scenes.spec import parse_spec
from tests.scene_fixtures import TEST_SPEC, build_scene_banks


class CopyTarget:
    """A toy oracle separator defined in a test file: returns the reference it is scored against."""

    name = "copy-target"
    uses = ("oracle_target",)

    def separate(self, mixture, query):
        return query.target.clone()


class QueryGain:
    """A toy query-based separator: W scaled by a gain derived from the query embedding (and a constructor arg)."""

    name = "query-gain"
    uses = ("query_embedding", "query_text")

    def __init__(self, gain: float = 0.5):
        self.gain = gain
        self.seen: list[str] = []

    def separate(self, mixture, query):
        assert query.embedding.shape[0] == mixture.shape[0] and query.direction is None and query.target is None
        self.seen += query.text
        return mixture[:, 0] * self.gain * (1 + query.embedding[:, :1].abs())


class NotASeparator:
    name = "not-a-separator"


class NoQuery:
    name = "no-query"
    uses = ()

    def separate(self, mixture, query):
        return mixture[:, 0]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """Scene banks, a briefly trained encoder and a test manifest with queries."""
    root = tmp_path_factory.mktemp("eval")
    banks = build_scene_banks(root / "banks", root / "audio")
    train_builtin_encoder(banks / "clips", root / "encoder", TrainConfig(steps=3, batch_size=8), progress=False)
    header, rows = sample_manifest(parse_spec(TEST_SPEC), list(BankSet.open([banks]).banks.values()), "test", 3, 2)
    test = write_manifest(root / "test.jsonl", header, rows)[0]
    n_targets = sum(e["role"] == "target" for r in rows for e in r["events"])
    return root, banks, test, n_targets


def _settings(setup, out, separator, **kw) -> EvalSettings:
    root, banks, test, _ = setup
    base = dict(separator=separator, split=str(test), out=str(out), banks=[str(banks)],
                encoder=str(root / "encoder"), cache=str(root / "cache"), batch_size=2)  # fmt: skip
    return EvalSettings(**{**base, **kw})


def _rows(out) -> list[dict]:
    return [json.loads(line) for line in (out / ROWS).read_text().splitlines()]


# ---- metrics ------------------------------------------------------------------------------------------------


def test_metrics_agree_with_a_least_squares_projection():
    rng = np.random.default_rng(0)
    ref = rng.standard_normal((3, 4000))
    est = 0.7 * ref + 0.3 * rng.standard_normal((3, 4000)) + 0.2
    for e, r, got in zip(est, ref, si_sdr(est, ref), strict=True):
        e0, r0 = e - e.mean(), r - r.mean()
        coef = np.linalg.lstsq(r0[:, None], e0, rcond=None)[0][0]
        proj = coef * r0
        assert got == pytest.approx(10 * np.log10(np.sum(proj**2) / np.sum((e0 - proj) ** 2)), abs=1e-9)
    assert sdr(est, ref) == pytest.approx(10 * np.log10((ref**2).sum(-1) / ((ref - est) ** 2).sum(-1)), abs=1e-9)


def test_metric_edge_cases():
    rng = np.random.default_rng(1)
    ref = rng.standard_normal(1000)
    assert si_sdr(ref, ref) == MAX_DB and sdr(ref, ref) == MAX_DB  # perfect: capped, not inf
    assert si_sdr(np.zeros(1000), ref) == -MAX_DB and sdr(np.zeros(1000), ref) == pytest.approx(0.0)
    assert si_sdr(-3 * ref, ref) == MAX_DB  # scale (and sign) invariant
    assert np.isnan(si_sdr(ref, np.zeros(1000))) and np.isnan(sdr(ref, 1e-7 * ref))  # silent reference
    m = score(ref + 0.1, ref, 2 * ref)
    assert m["si_sdri"] == pytest.approx(m["si_sdr"] - m["mixture_si_sdr"])
    with pytest.raises(ValueError, match="shape"):
        si_sdr(ref[:10], ref)
    with pytest.raises(ValueError, match="NaN"):
        sdr(np.full(1000, np.nan), ref)


# ---- separators ---------------------------------------------------------------------------------------------


def test_load_separator_refuses_bad_specs(tmp_path):
    with pytest.raises(SeparatorError, match="unknown separator"):
        load_separator("nonsense")
    with pytest.raises(SeparatorError, match="cannot import"):
        load_separator("no_such_pkg.mod:Sep")
    with pytest.raises(SeparatorError, match="has no 'Missing'"):
        load_separator("tests.test_evaluate:Missing")
    with pytest.raises(SeparatorError, match="names no query"):
        load_separator("tests.test_evaluate:NoQuery")
    with pytest.raises(SeparatorError, match="lacks"):
        load_separator("tests.test_evaluate:NotASeparator")
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_separator(f"bsast:{tmp_path}")
    user = tmp_path / "my_sep.py"
    user.write_text("class Sep:\n    name = 'mine'\n    uses = ('query_text',)\n"
                    "    def separate(self, mixture, query):\n        return mixture[:, 0]\n")  # fmt: skip
    assert load_separator(f"{user}:Sep").name == "mine"


def test_mixture_bound_scores_zero_improvement(setup, tmp_path):
    _, _, _, n_targets = setup
    summary = evaluate_separator(_settings(setup, tmp_path, "mixture"), progress=False)
    rows = _rows(tmp_path)
    assert len(rows) == 2 * n_targets and {r["query"] for r in rows} == {"audio", "text"}
    assert all(r["si_sdri"] == 0 and r["sdri"] == 0 and not r["oracle"] for r in rows)
    prov = json.loads((tmp_path / PROVENANCE).read_text())
    assert prov["separator"]["bound"] and prov["encoder"] is None  # needs no encoder
    assert prov["manifest"]["rows_sha256"] and set(prov["banks"]) == {"clips", "rooms", "noise"}
    assert summary["by_query"]["audio"]["n"] == n_targets
    for key in ("label", "n_sources", "rt60", "drr_db", "snr_db", "azimuth", "room", "query_text"):
        assert rows[0][key] is not None, key
    assert len(list((tmp_path / "examples").glob("*.flac"))) >= 2


def test_toy_separators_by_import_path(setup, tmp_path):
    summary = evaluate_separator(_settings(setup, tmp_path / "copy", "tests.test_evaluate:CopyTarget"), progress=False)
    assert summary["by_query"]["audio"]["si_sdr"] == MAX_DB
    assert all(r["oracle"] for r in _rows(tmp_path / "copy"))
    settings = _settings(setup, tmp_path / "gain", "tests.test_evaluate:QueryGain", separator_args={"gain": 2.0},
                         query="text")  # fmt: skip
    summary = evaluate_separator(settings, progress=False)
    prov = summary["provenance"]
    assert prov["encoder"]["hash"] and prov["queries"] == ["text"] and not prov["separator"]["oracle"]
    rows = _rows(tmp_path / "gain")
    assert {r["query"] for r in rows} == {"text"}
    assert all(abs(r["si_sdri"]) < 1e-6 and r["sdri"] != 0 for r in rows)  # a gain changes SDR, not SI-SDR


def test_resume_neither_duplicates_nor_loses_rows(setup, tmp_path):
    full = tmp_path / "full"
    evaluate_separator(_settings(setup, full, "hypercardioid:oracle"), progress=False)
    part = tmp_path / "part"
    assert evaluate_separator(_settings(setup, part, "hypercardioid:oracle"), progress=False, stop_after=2) == {}
    with open(part / ROWS, "a") as fh:
        fh.write('{"key": "torn')  # an interrupted write
    evaluate_separator(_settings(setup, part, "hypercardioid:oracle"), progress=False)
    a = sorted(_rows(full), key=lambda r: r["key"])
    b = sorted(_rows(part), key=lambda r: r["key"])
    assert [r["key"] for r in a] == [r["key"] for r in b] and len({r["key"] for r in b}) == len(b)
    assert a == b
    with pytest.raises(ValueError, match="another computation"):
        evaluate_separator(_settings(setup, part, "cardioid:oracle"), progress=False)
    evaluate_separator(_settings(setup, part, "cardioid:oracle", overwrite=True), progress=False)
    assert {r["separator"] for r in _rows(part)} == {"cardioid (oracle DOA)"}


@pytest.mark.parametrize("model", ["resunet", "bsast-w"])
def test_trained_models_evaluate_from_their_run(setup, tmp_path, model):
    root, banks, _, n_targets = setup
    spec_path = root / "spec.json"
    spec_path.write_text(json.dumps(TEST_SPEC))
    overrides = {"sample_rate": 16000, "n_fft": 256, "hop": 128}
    if model == "bsast-w":
        overrides.update({"band_edges_hz": [100 * (k + 1) for k in range(24)], "dim": 16, "depth": 1, "heads": 2})
    run = tmp_path / "run"
    train(TrainSettings(out=str(run), banks=[str(banks)], model=model, model_overrides=overrides,
                        spec=str(spec_path), steps=2, batch_size=2, warmup=1, workers=0, ckpt_every=2,
                        encoder=str(root / "encoder"), cache=str(root / "cache")), progress=False)  # fmt: skip
    sep = load_separator(f"{model}:{run}")
    assert sep.n_channels == 1 and sep.name == f"{model}-tiny"
    with pytest.raises(SeparatorError, match="not 'bsast'"):
        load_separator(f"bsast:{run}")
    summary = evaluate_separator(_settings(setup, tmp_path / "res", f"run:{run}/checkpoints/last.pt"), progress=False)
    prov = summary["provenance"]["separator"]
    assert prov["train_steps"] == 2 and len(prov["checkpoint_sha256"]) == 64 and prov["train_seconds"] > 0
    assert summary["rows"] == 2 * n_targets
    assert all(np.isfinite(r["si_sdr"]) for r in _rows(tmp_path / "res"))


def test_eval_cli_runs_a_query_steered_beamformer(setup, tmp_path, capsys):
    root, banks, test, n_targets = setup
    common = ["--split", str(test), "--banks", str(banks), "--encoder", str(root / "encoder"),
              "--cache", str(root / "cache"), "--no-progress"]  # fmt: skip
    assert cli(["eval", "--separator", "max-re:query", "--out", str(tmp_path), *common]) == 0
    out = capsys.readouterr().out
    assert "max-re (query DOA) [audio query]: SI-SDR" in out and "[text query]" in out
    assert len(_rows(tmp_path)) == 2 * n_targets
    assert cli(["eval", "--separator", "nonsense", "--split", str(test), "--out", str(tmp_path / "x")]) == 2
    assert (
        cli(["eval", "--separator", "mpdr:oracle", "--out", str(tmp_path / "mpdr"), "--query", "audio", *common]) == 0
    )
    assert len(_rows(tmp_path / "mpdr")) == n_targets


def test_tensor_contract_is_checked(setup, tmp_path):
    class Short:
        name, uses = "short", ("query_text",)

        def separate(self, mixture, query):
            return torch.zeros(mixture.shape[0], 10)

    with pytest.raises(ValueError, match="returned shape"):
        evaluate_separator(_settings(setup, tmp_path, "short"), progress=False, separator=Short())


# ---- independent implementation, class-aware SDRi ------------------------------------------------------------


def test_metrics_agree_with_torchmetrics():
    from torchmetrics.functional.audio import scale_invariant_signal_distortion_ratio, signal_noise_ratio

    rng = np.random.default_rng(3)
    ref = rng.standard_normal((6, 16000)) * np.array([[1e-3], [1e-2], [0.1], [1], [0.5], [2]])
    est = ref * rng.uniform(0.2, 2, (6, 1)) + rng.standard_normal((6, 16000)) * rng.uniform(0.01, 1, (6, 1))
    est += 0.05
    theirs_si = scale_invariant_signal_distortion_ratio(torch.from_numpy(est), torch.from_numpy(ref), zero_mean=True)
    theirs_snr = signal_noise_ratio(torch.from_numpy(est), torch.from_numpy(ref), zero_mean=False)
    np.testing.assert_allclose(si_sdr(est, ref), theirs_si.numpy(), atol=1e-6)
    np.testing.assert_allclose(sdr(est, ref), theirs_snr.numpy(), atol=1e-6)


def test_a_users_model_py_and_benchmark_folder_shadow_nothing(setup, tmp_path):
    """From a research folder with its own ``model.py`` (importing a sibling module) and ``benchmark/``:
    ``foabench eval --separator model:MySep`` scores the user's class, and foabench's own modules still import."""
    root, banks, test, n_targets = setup
    project = tmp_path / "project"
    (project / "benchmark").mkdir(parents=True)
    (project / "benchmark" / "__init__.py").write_text("WHOSE = 'the user'\n")
    (project / "helpers.py").write_text("def half(x):\n    return 0.5 * x\n")
    (project / "model.py").write_text(
        "from helpers import half\n\n\nclass MySep:\n    name = 'my-sep'\n    uses = ('query_text',)\n\n"
        "    def separate(self, mixture, query):\n        return half(mixture[:, 0])\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    foabench = Path(sys.executable).parent / "foabench"
    args = [str(foabench), "eval", "--separator", "model:MySep", "--split", str(test), "--banks", str(banks),
            "--encoder", str(root / "encoder"), "--cache", str(root / "cache"), "--out", "results",
            "--no-progress"]  # fmt: skip
    result = subprocess.run(args, cwd=project, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    rows = _rows(project / "results")
    assert len(rows) == 2 * n_targets and {r["separator"] for r in rows} == {"my-sep"}
    assert all(abs(r["si_sdr"] - r["mixture_si_sdr"]) < 1e-6 for r in rows)  # half of W: the same SI-SDR as W
    check = ("from foabench.model.bsast import BSAST; from foabench.benchmark.train import make_model; "
             "import benchmark, model; bsast = make_model('bsast', 'tiny', {}, 384); "
             "print(benchmark.WHOSE, model.MySep.name, type(bsast).__name__)")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", check], cwd=project, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["the", "user", "my-sep", "BSAST"]


# ---- results that cannot be silently wrong ------------------------------------------------------------------

HIGH_PASS = """
import torch


class HighPassW:
    name = "hp-w"
    uses = ("query_text",)

    def __init__(self, cutoff_hz=200):
        self.cutoff_hz = cutoff_hz

    def separate(self, mixture, query):
        spec = torch.fft.rfft(mixture[:, 0])
        freqs = torch.fft.rfftfreq(mixture.shape[-1], 1 / query.sample_rate)
        return torch.fft.irfft(spec * (freqs >= self.cutoff_hz), n=mixture.shape[-1])
"""


def test_resume_refuses_other_arguments_or_code_and_overwrite_starts_clean(setup, tmp_path):
    sep_file = tmp_path / "mysep" / "my_separator.py"
    sep_file.parent.mkdir()
    sep_file.write_text(HIGH_PASS)
    out = tmp_path / "res"
    spec = f"{sep_file}:HighPassW"
    first = evaluate_separator(_settings(setup, out, spec, separator_args={"cutoff_hz": 200}), progress=False)
    rows = _rows(out)
    assert {r["run"] for r in rows} == {first["provenance"]["run"]}
    code = first["provenance"]["separator"]["code"]
    assert code["kind"] == "user" and list(code["files"]) == ["my_separator.py"]
    with pytest.raises(ResultsMismatch, match=r'separator\.args: \{"cutoff_hz": 200\} -> \{"cutoff_hz": 500\}'):
        evaluate_separator(_settings(setup, out, spec, separator_args={"cutoff_hz": 500}), progress=False)
    sep_file.write_text(HIGH_PASS.replace("freqs >= self.cutoff_hz", "freqs > self.cutoff_hz"))
    with pytest.raises(ResultsMismatch, match=r"separator\.code\.sha256"):
        evaluate_separator(_settings(setup, out, spec, separator_args={"cutoff_hz": 200}), progress=False)
    assert _rows(out) == rows and (out / "examples").is_dir()  # refused: nothing touched
    (out / "examples" / "stale.flac").write_bytes(b"x")
    again = evaluate_separator(_settings(setup, out, spec, separator_args={"cutoff_hz": 500}, overwrite=True),
                               progress=False)  # fmt: skip
    assert not (out / "examples" / "stale.flac").exists()
    assert {r["run"] for r in _rows(out)} == {again["provenance"]["run"]} != {first["provenance"]["run"]}
    assert len(_rows(out)) == len(rows)


def test_builtin_separators_record_their_code(setup, tmp_path):
    prov = evaluate_separator(_settings(setup, tmp_path, "cardioid:oracle", query="audio"), progress=False)
    code = prov["provenance"]["separator"]["code"]
    assert code["kind"] == "builtin" and "benchmark/baseline_separators.py" in code["files"]
    assert "baselines/beams.py" in code["files"] and code["foabench"] == prov["provenance"]["foabench"]


def test_nan_from_a_separator_names_the_items_and_keeps_finished_rows(setup, tmp_path):
    class NanLater:
        name, uses = "nan-later", ("query_text",)
        calls = 0

        def separate(self, mixture, query):
            NanLater.calls += 1
            out = mixture[:, 0].clone()
            if NanLater.calls > 1:
                out[-1, 5] = float("nan")
            return out

    settings = _settings(setup, tmp_path, "nan-later", batch_size=1, query="text")
    with pytest.raises(EvaluationError) as info:
        evaluate_separator(settings, progress=False, separator=NanLater())
    message = str(info.value)
    kept = _rows(tmp_path)
    assert "nan-later on test-" in message and "target" in message and "(text query)" in message
    assert "NaN/Inf" in message and "kept" in message and "resume" in message
    assert kept and all(r["query"] == "text" for r in kept)
    NanLater.calls = -100  # fixed: the rerun resumes after the kept rows
    summary = evaluate_separator(settings, progress=False, separator=NanLater())
    assert summary["rows"] == setup[3] and _rows(tmp_path)[: len(kept)] == kept


def test_eval_cli_checks_its_arguments_before_work(setup, tmp_path, capsys):
    _, banks, test, _ = setup
    common = ["--separator", "mixture", "--banks", str(banks), "--out", str(tmp_path / "o")]
    for bad in (["--batch-size", "0"], ["--examples", "-1"], ["--batch-size", "two"]):
        with pytest.raises(SystemExit) as exc:
            cli(["eval", "--manifest", str(test), *common, *bad])
        assert exc.value.code == 2
    assert "not a positive integer" in capsys.readouterr().err
    if not torch.cuda.is_available():
        with pytest.raises(SystemExit):
            cli(["eval", "--manifest", str(test), *common, "--device", "cuda"])
        assert "no CUDA device" in capsys.readouterr().err
    assert cli(["eval", "--manifest", str(test), "--split", str(test), *common]) == 2  # given twice
    assert "give the manifest once" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # nothing was started
