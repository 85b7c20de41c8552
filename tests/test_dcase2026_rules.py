"""DCASE 2026 scene rules: same-class duplicates and zero-target mixtures, through every stage that reads rows."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from foabench.benchmark.evaluate import ROWS, EvalSettings, evaluate_separator
from foabench.benchmark.train_data import NO_TARGET_STRIDE, trained_target
from foabench.manifests.check import check_manifests
from foabench.manifests.check_report import format_report
from foabench.manifests.dcase_export import export_dcase
from foabench.manifests.hf_export import export_hf
from foabench.manifests.hf_reader import decode_row, iter_rows
from foabench.synth.banks.bank_set import BankSet
from foabench.synth.foa import angular_distance
from foabench.synth.rooms.bank import build_room_bank
from foabench.synth.rooms.sampler import RoomSpec
from foabench.synth.scenes.manifest import write_manifest
from foabench.synth.scenes.render import Renderer
from foabench.synth.scenes.render_split import render_manifest
from foabench.synth.scenes.sampler import SceneStream, sample_manifest
from foabench.synth.scenes.spec import SpecError, load_spec, parse_spec
from tests.scene_fixtures import SR, TEST_SPEC, build_scene_banks

RULES = {
    **TEST_SPEC,
    "targets": {
        "count": {"dist": "choose", "values": [0, 1, 2, 3]},
        "duplicates": {"rate": 1.0, "max": 2, "min_angle_deg": 60.0},
        "snr_db": {"dist": "uniform", "low": 5, "high": 15},
    },
    "min_separation_deg": 0.0,
}


@pytest.fixture(scope="module")
def banks(tmp_path_factory):
    """The scene fixtures' clips and noise, with rooms of 10 positions (room for 60 degrees between duplicates)."""
    root = tmp_path_factory.mktemp("rules")
    build_scene_banks(root / "scene", root / "audio")
    build_room_bank(root / "rooms", RoomSpec(rooms=3, rirs_per_room=10, max_length_s=0.25, sample_rate=SR), workers=1)
    return [root / "scene" / "clips", root / "scene" / "noise", root / "rooms"]


def _rows(banks, spec: dict, n: int, seed: int = 3, split: str = "test"):
    return sample_manifest(parse_spec(spec), list(BankSet.open(banks).banks.values()), split, n, seed)


def test_duplicates_follow_the_rules(banks):
    _, rows = _rows(banks, RULES, 60, split="train")
    counts = Counter()
    for row in rows:
        targets = [e for e in row["events"] if e["role"] == "target"]
        labels = Counter(e["label"] for e in targets)
        counts[len(targets)] += 1
        if len(targets) >= 2:  # rate 1: every mixture of two or more targets has 1 .. min(n - 1, 2) duplicates
            assert 1 <= len(targets) - len(labels) <= min(len(targets) - 1, 2)
        for label in labels:
            same = [e for e in targets if e["label"] == label]
            assert len({e["source"]["path"] for e in same}) == len(same)  # other recordings
            for i, a in enumerate(same):
                for b in same[i + 1 :]:
                    assert angular_distance(a["azimuth"], a["elevation"], b["azimuth"], b["elevation"]) >= 60.0
        assert not {e["label"] for e in row["events"] if e["role"] == "interference"} & set(labels)
    assert counts[0] > 0 and counts[2] > 0 and counts[3] > 0
    # the same spec, banks and seed give the same rows; a spec without duplicates never repeats a class
    assert _rows(banks, RULES, 60, split="train")[1] == rows
    spec = {**RULES, "targets": {k: v for k, v in RULES["targets"].items() if k != "duplicates"}}
    for row in _rows(banks, spec, 30, split="train")[1]:
        labels = [e["label"] for e in row["events"] if e["role"] == "target"]
        assert len(set(labels)) == len(labels)


def test_duplicates_draw_other_recordings_until_none_is_left(banks):
    bell = parse_spec(RULES).targets
    spec = {**RULES, "targets": {**RULES["targets"], "classes": ["bell"], "count": 2}}
    stream = SceneStream(parse_spec(spec), list(BankSet.open(banks).banks.values()), "val", 0)
    clips = stream.pools.clips["bell"]
    groups = {rec.split_group for _, rec in clips}
    for i in range(5):  # two bells from two recordings, of two groups where the split has two
        same = [e for e in stream.row(i)["events"] if e["role"] == "target"]
        assert len(same) == 2 and same[0]["source"]["path"] != same[1]["source"]["path"]
        assert len({e["source"]["group"] for e in same}) == min(2, len(groups))
    too_many = {**spec, "targets": {**spec["targets"], "count": len(clips) + 1,
                                    "duplicates": {**RULES["targets"]["duplicates"], "max": len(clips)}}}  # fmt: skip
    stream = SceneStream(parse_spec(too_many), list(BankSet.open(banks).banks.values()), "val", 0)
    messages = set()
    for i in range(10):  # one class and one event more than its clips: every row is refused, with the reason
        with pytest.raises(SpecError) as refused:
            stream.row(i)
        messages.add("no clip left" if "no clip left" in str(refused.value) else "distinct classes")
    assert messages == {"no clip left", "distinct classes"}
    assert bell.duplicates.rate == 1.0 and load_spec("dcase2026").targets.duplicates.min_angle_deg == 60.0


def test_zero_target_and_duplicate_rows_render_check_export_and_evaluate(banks, tmp_path):
    header, rows = _rows(banks, RULES, 12)
    empty = {**rows[0], "id": "test-empty", "index": 99, "events": [], "noise": rows[0]["noise"]}
    rows = [*rows, empty]
    assert any(not any(e["role"] == "target" for e in r["events"]) and r["events"] for r in rows)
    assert any(len({e["label"] for e in r["events"] if e["role"] == "target"}) < sum(
        e["role"] == "target" for e in r["events"]) for r in rows)  # fmt: skip
    manifest = write_manifest(tmp_path / "test.jsonl", header, rows)[0]
    report = check_manifests([manifest], banks)
    assert report.ok, format_report(report)

    rendered = Renderer(BankSet.open(banks)).render(empty)
    assert rendered.references == [] and np.isfinite(rendered.mixture).all() and np.abs(rendered.mixture).max() > 0
    render_manifest(manifest, tmp_path / "render", banks, workers=1, progress=False)
    report = render_manifest(manifest, tmp_path / "render", banks, verify=True, workers=1, progress=False)
    assert report.counts["verified"] == len(rows) and not report.problems

    export_hf([manifest], tmp_path / "hf", banks, encoder=None, workers=1, progress=False)
    decoded = {r["id"]: decode_row(r) for r in iter_rows(tmp_path / "hf", "test", decode=False)}
    assert decoded.keys() == {r["id"] for r in rows} and decoded["test-empty"]["targets"] == []

    meta = json.loads(export_dcase(manifest, tmp_path / "dcase", banks)[-1].read_text())
    assert meta["fg_events"] == [] and meta["int_events"] == []

    settings = EvalSettings(separator="mixture", split=str(manifest), out=str(tmp_path / "eval"),
                            banks=[str(b) for b in banks], encoder=None, batch_size=2)  # fmt: skip
    summary = evaluate_separator(settings, progress=False)
    scored = [json.loads(line) for line in (tmp_path / "eval" / ROWS).read_text().splitlines()]
    n_targets = sum(e["role"] == "target" for r in rows for e in r["events"])
    assert len(scored) == 2 * n_targets and summary  # audio and text query per target; no row for no target


def test_training_replaces_scenes_without_a_target(banks):
    stream = SceneStream(parse_spec(RULES), list(BankSet.open(banks).banks.values()), "train", 4)
    replaced = 0
    for i in range(40):
        row, k = trained_target(stream, i)
        targets = [e for e in row["events"] if e["role"] == "target"]
        assert targets and k == row["seed"] % len(targets)
        if row["index"] != i:  # scene i had no target: the first with one among i + n * stride stands in
            assert not any(e["role"] == "target" for e in stream.row(i)["events"])
            assert (row["index"] - i) % NO_TARGET_STRIDE == 0
            replaced += 1
        assert trained_target(stream, i) == (row, k)
    assert replaced > 0
    never = {**RULES, "targets": {**RULES["targets"], "count": 0}}
    with pytest.raises(ValueError, match="nothing to learn"):
        trained_target(SceneStream(parse_spec(never), list(BankSet.open(banks).banks.values()), "train", 4), 0)
