"""Folders written by foabench 0.1.0 (top-level module names, before the foabench namespace) still load."""

import json
from pathlib import Path

import numpy as np
import torch

from foabench.benchmark.leaderboard import build_leaderboard, load_results
from foabench.benchmark.separator import QueryBatch
from foabench.benchmark.separator_spec import load_separator
from foabench.synth.banks.bank_set import BankSet
from foabench.synth.banks.format import Bank
from foabench.synth.queries.registry import open_encoder
from foabench.synth.scenes.manifest import read_manifest, row_sha256

OLD = Path(__file__).parent / "fixtures" / "foabench-0.1.0"
PROVENANCE = json.loads((OLD / "results" / "provenance.json").read_text())


def test_a_bank_and_a_manifest_of_0_1_0_load_and_verify():
    bank = Bank.open(OLD / "bank", kind="sources")
    assert bank.verify() == [] and len(bank.records) == 24
    assert bank.fingerprint == PROVENANCE["banks"]["clips"]
    manifest = read_manifest(OLD / "manifest" / "test.jsonl")
    assert len(manifest.rows) == 2
    assert manifest.header["rows_sha256"] == PROVENANCE["manifest"]["rows_sha256"]
    banks = BankSet.open([OLD / "bank"])
    sources = [e["source"] for r in manifest.rows for e in r["events"] if e["source"]["bank"] == "clips"]
    assert sources and all(banks.resolve(ref).is_file() for ref in sources)
    lines = (OLD / "manifest" / "test.jsonl").read_text().splitlines()
    assert [row_sha256(r) for r in manifest.rows] == [row_sha256(json.loads(line)) for line in lines]


def test_an_encoder_of_0_1_0_loads_with_the_hash_its_results_recorded():
    encoder = open_encoder(str(OLD / "encoder"))
    assert encoder.hash == PROVENANCE["encoder"]["hash"] and encoder.dim == 384
    e = encoder.embed_audio([np.sin(np.linspace(0, 200, 16000)).astype(np.float32)], 16000)
    assert e.shape == (1, 384) and abs(float(np.linalg.norm(e)) - 1) < 1e-5


def test_a_run_of_0_1_0_loads_as_a_separator_and_separates():
    sep = load_separator(f"run:{OLD / 'run'}")
    assert sep.name == "bsast-tiny" and sep.n_channels == 4
    assert sep.info["checkpoint_sha256"] == PROVENANCE["separator"]["checkpoint_sha256"]
    assert sep.info["step"] == 2 and sep.info["parameters"] == PROVENANCE["separator"]["parameters"]
    mixture = torch.from_numpy(np.random.default_rng(0).standard_normal((1, 4, 8000)).astype(np.float32))
    query = torch.nn.functional.normalize(torch.ones(1, 384), dim=1)
    est = sep.separate(mixture, QueryBatch(kind="audio", sample_rate=16000, embedding=query))
    assert est.shape == (1, 8000) and torch.isfinite(est).all()


def test_results_of_0_1_0_are_ranked_on_the_leaderboard():
    board = build_leaderboard(load_results([OLD / "results"]))
    (entry,) = board.entries
    summary = json.loads((OLD / "results" / "summary.json").read_text())
    assert entry.name == "bsast-tiny" and entry.rank == 1 and entry.parameters == PROVENANCE["separator"]["parameters"]
    for kind in ("audio", "text"):
        assert entry.value(kind, "si_sdri") == summary["by_query"][kind]["si_sdri"]
        assert entry.value(kind, "n") == summary["by_query"][kind]["n"] == 3
