"""SIGKILL at random moments, then resume: render, export-hf, eval and train end exactly as uninterrupted runs."""

import json

import pytest

from foabench.benchmark.fault_injection import COMMANDS, Setup, format_outcomes, run_fault_injection
from foabench.synth.banks.bank_set import BankSet
from foabench.synth.queries.train_encoder import TrainConfig, train_builtin_encoder
from foabench.synth.scenes.manifest import write_manifest
from foabench.synth.scenes.sampler import sample_manifest
from foabench.synth.scenes.spec import parse_spec
from tests.scene_fixtures import TEST_SPEC, build_scene_banks


@pytest.mark.slow
def test_killed_commands_resume_to_the_uninterrupted_result(tmp_path):
    banks = build_scene_banks(tmp_path / "banks", tmp_path / "audio")
    train_builtin_encoder(banks / "clips", tmp_path / "encoder", TrainConfig(steps=2, batch_size=8), progress=False)
    header, rows = sample_manifest(parse_spec(TEST_SPEC), list(BankSet.open([banks]).banks.values()), "test", 6, 3)
    manifest = write_manifest(tmp_path / "test.jsonl", header, rows)[0]
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(TEST_SPEC))
    setup = Setup(banks=[str(banks)], manifest=str(manifest), encoder=str(tmp_path / "encoder"),
                  cache=str(tmp_path / "cache"), spec=str(spec), train_steps=6)  # fmt: skip
    outcomes = run_fault_injection(setup, tmp_path / "work", kills=2, seed=1, progress=lambda _: None)
    assert [o.command for o in outcomes] == list(COMMANDS)
    assert all(o.kills == 2 for o in outcomes)
    assert not any(o.differences for o in outcomes), format_outcomes(outcomes)
