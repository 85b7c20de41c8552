"""DCASE class-aware scoring in the harness: separators that ``segment`` or ``detect``, their per-mixture records,
summaries with intervals, resume, estimates written in DCASE naming, and the leaderboard's class-aware table."""

import json

import numpy as np
import pytest
import torch

from foabench.benchmark.class_aware import ca_sdri, capi_sdri
from foabench.benchmark.eval_inputs import RenderedInputs
from foabench.benchmark.evaluate import LABELLED, EvaluationError, evaluate_separator
from foabench.benchmark.labelled_eval import class_rule, label_text, labelling_mode
from foabench.benchmark.leaderboard import build_leaderboard, format_csv, format_markdown, load_results
from foabench.synth.audio_io import read_audio
from foabench.synth.scenes.manifest import read_manifest
from tests.test_dcase_layout import _dcase_tree
from tests.test_evaluate import QueryGain, _rows, _settings, setup  # noqa: F401  (setup is a fixture)

FIXED = ["bell", "dog"]


class FixedSegmenter:
    """A toy S5 system: answers every mixture with W/2 labelled ``bell`` and ``dog``, plus a ``silence`` slot."""

    name = "fixed-segmenter"
    uses = ("query_text",)

    def __init__(self, labels=None, length_error=False):
        self.labels = list(FIXED if labels is None else labels)
        self.length_error = length_error

    def separate(self, mixture, query):
        return mixture[:, 0] * 0.5

    def segment(self, mixture, sample_rate):
        w = mixture[0, 0] * 0.5
        if self.length_error:
            w = w[:-1]
        return [[*((label, w) for label in self.labels), ("silence", torch.zeros_like(w))]]


class Tagger:
    """A tagger in front of a text-queried separator: detects ``labels[i]`` in the i-th mixture it hears."""

    name = "tagger"
    uses = ("query_text",)
    seen: list[list[str]] = []  # noqa: RUF012  (what the last instance was asked, read by the test)

    def __init__(self, labels):
        self.labels, self.calls = labels, 0
        Tagger.seen = []

    def detect(self, mixture, sample_rate):
        found = self.labels[self.calls % len(self.labels)]
        self.calls += 1
        return [list(found)]

    def separate(self, mixture, query):
        Tagger.seen.append(list(query.text))
        return mixture[:, 0] * torch.linspace(0.2, 0.8, mixture.shape[0])[:, None]


def _truth(setup):  # noqa: F811
    rows = read_manifest(setup[2]).rows
    return rows, [[e["label"] for e in r["events"] if e["role"] == "target"] for r in rows]


def _records(out) -> list[dict]:
    return [json.loads(line) for line in (out / LABELLED).read_text().splitlines()]


def test_labelling_modes_and_rules():
    assert labelling_mode(FixedSegmenter()) == "segment" and labelling_mode(Tagger([[]])) == "detect"
    assert labelling_mode(QueryGain()) is None

    class OracleTagger(Tagger):
        uses = ("query_text", "oracle_direction")

    assert labelling_mode(OracleTagger([[]])) is None  # cannot be queried for a label that is not there
    row = lambda *labels: {"events": [{"role": "target", "label": x} for x in labels]}  # noqa: E731
    assert class_rule([row("dog", "bell"), row("cat")]) == "ca_sdri"
    assert class_rule([row("dog", "dog")]) == "capi_sdri" and class_rule([row("dog"), row()]) == "capi_sdri"


def test_a_segmenting_separator_is_scored_by_dcase_rules(setup, tmp_path):  # noqa: F811
    _, banks, test, _ = setup
    settings = _settings(setup, tmp_path, "tests.test_labelled_eval:FixedSegmenter", query="text")
    summary = evaluate_separator(settings, progress=False)
    records = {r["mixture"]: r for r in _records(tmp_path)}
    rows, truth = _truth(setup)
    inputs = RenderedInputs.open(test, [str(banks)])
    assert set(records) == {r["id"] for r in rows}
    for row, labels in zip(rows, truth, strict=True):
        mixture, refs = inputs.mixture(row, "direct")
        est = [mixture[:, 0] * np.float32(0.5)] * 2
        rec = records[row["id"]]
        assert rec["est_labels"] == FIXED and rec["ref_labels"] == labels and rec["mode"] == "segment"
        assert rec["ca_sdri"] == pytest.approx(ca_sdri(FIXED, est, labels, refs, mixture.T), abs=1e-4)
        assert rec["capi_sdri"] == pytest.approx(capi_sdri(FIXED, est, labels, refs, mixture.T), abs=1e-4)
        assert rec["label_accuracy"] == (100.0 if sorted(labels) == FIXED else 0.0)
    ca = summary["class_aware"]
    assert ca["rule"] == "ca_sdri" and ca["mode"] == "segment" and ca["n_mixtures"] == len(rows)
    assert ca["ca_sdri"]["mean"] == pytest.approx(np.mean([r["ca_sdri"] for r in records.values()]), abs=1e-3)
    assert ca["ca_sdri"]["ci"][0] <= ca["ca_sdri"]["mean"] <= ca["ca_sdri"]["ci"][1]
    assert "detected_labels" not in _rows(tmp_path)[0]

    board = build_leaderboard(load_results([tmp_path]))
    md = format_markdown(board)
    assert "Class-aware scores" in md and "CA-SDRi [95 % CI]" in md and f"{ca['ca_sdri']['mean']:+.2f}" in md
    csv_lines = format_csv(board).splitlines()
    header, first = csv_lines[0].split(","), csv_lines[1].split(",")
    assert first[header.index("class_rule")] == "ca_sdri"
    assert float(first[header.index("class_sdri")]) == ca["ca_sdri"]["mean"]


def test_a_tagger_queries_each_detected_label_with_its_text(setup, tmp_path):  # noqa: F811
    rows, truth = _truth(setup)
    detections = [["dog", "dog", "bell"], [], *truth[2:]]
    settings = _settings(setup, tmp_path, "tests.test_labelled_eval:Tagger", separator_args={"labels": detections},
                         query="audio")  # fmt: skip
    summary = evaluate_separator(settings, progress=False)
    assert Tagger.seen[0] == [label_text("dog"), label_text("dog"), label_text("bell")]  # one query per label
    records = {r["mixture"]: r for r in _records(tmp_path)}
    first, second = records[rows[0]["id"]], records[rows[1]["id"]]
    assert first["est_labels"] == ["dog", "dog", "bell"] and first["ca_sdri"] is None  # 2025 rule undefined
    assert first["capi_sdri"] is not None and first["label_accuracy"] == 0.0
    assert second["est_labels"] == [] and second["capi_sdri"] == 0.0 and second["ca_sdri"] == 0.0  # all missed
    assert all(records[r["id"]]["label_accuracy"] == 100.0 for r in rows[2:])
    accuracy = summary["class_aware"]["label_accuracy"]["mean"]
    assert accuracy == pytest.approx(100.0 * (len(rows) - 2) / len(rows), abs=1e-3)


def test_labelled_records_resume_without_repeats(setup, tmp_path):  # noqa: F811
    whole, part = tmp_path / "whole", tmp_path / "part"
    evaluate_separator(_settings(setup, whole, "tests.test_labelled_eval:FixedSegmenter"), progress=False)
    assert evaluate_separator(_settings(setup, part, "tests.test_labelled_eval:FixedSegmenter"), progress=False,
                              stop_after=1) == {}  # fmt: skip
    assert 0 < len(_records(part)) < len(_records(whole))
    evaluate_separator(_settings(setup, part, "tests.test_labelled_eval:FixedSegmenter"), progress=False)
    strip = lambda recs: sorted(json.dumps({k: v for k, v in r.items() if k != "run"}) for r in recs)  # noqa: E731
    assert strip(_records(part)) == strip(_records(whole))
    summary = evaluate_separator(_settings(setup, whole, "tests.test_evaluate:QueryGain", overwrite=True),
                                 progress=False)  # fmt: skip
    assert summary["class_aware"] is None and not (whole / LABELLED).exists()


def test_a_bad_answer_is_named(setup, tmp_path):  # noqa: F811
    with pytest.raises(EvaluationError, match=r"labelling .*shape"):
        evaluate_separator(_settings(setup, tmp_path, "tests.test_labelled_eval:FixedSegmenter",
                                     separator_args={"length_error": True}), progress=False)  # fmt: skip


def test_zero_target_mixtures_under_the_2026_rules(setup, tmp_path):  # noqa: F811
    _dcase_tree(tmp_path / "synthesized" / "test", {"mix_0": ["dog", "dog"], "mix_1": []}, numbered=True)
    for labels, expected in (([], None), (["bell"], 0.0)):  # nothing found in an empty mixture: left out
        out = tmp_path / f"res-{len(labels)}"
        summary = evaluate_separator(_settings(setup, out, "tests.test_labelled_eval:FixedSegmenter", split=None,
                                               dcase=str(tmp_path), query="text", separator_args={"labels": labels}),
                                     progress=False)  # fmt: skip
        records = {r["mixture"]: r for r in _records(out)}
        assert records["mix_1"]["capi_sdri"] == expected
        assert records["mix_1"]["label_accuracy"] == (100.0 if not labels else 0.0)
        assert records["mix_0"]["capi_sdri"] == 0.0  # both dogs missed
        assert summary["class_aware"]["rule"] == "capi_sdri"
        assert summary["class_aware"]["capi_sdri"]["n"] == (1 if expected is None else 2)


def test_estimates_are_written_in_dcase_naming(setup, tmp_path):  # noqa: F811
    est_dir = tmp_path / "est"
    evaluate_separator(_settings(setup, tmp_path / "res", "tests.test_labelled_eval:FixedSegmenter",
                                 save_estimates=str(est_dir)), progress=False)  # fmt: skip
    rows, _ = _truth(setup)
    for r in _rows(tmp_path / "res"):
        label = r["label"]
        wave, _ = read_audio(est_dir / r["query"] / f"{r['mixture']}_{label}.wav")  # 2025 rules: NAME_LABEL.wav
        mixture = read_audio(est_dir / "labelled" / f"{r['mixture']}_{label}.wav")[0] if label in FIXED else None
        assert wave.shape[1] == 1 and (mixture is None or np.array_equal(mixture, wave))
    names = sorted(p.name for p in (est_dir / "labelled").iterdir())
    assert names == sorted(f"{row['id']}_{label}.wav" for row in rows for label in FIXED)  # no silence file


def test_oracle_labels_query_a_separator_with_the_true_labels(setup, tmp_path):  # noqa: F811
    from foabench.benchmark.evaluate import ResultsMismatch

    rows, truth = _truth(setup)
    sep = QueryGain()
    summary = evaluate_separator(_settings(setup, tmp_path, "tests.test_evaluate:QueryGain", labels="oracle",
                                           query="text"), progress=False, separator=sep)  # fmt: skip
    records = {r["mixture"]: r for r in _records(tmp_path)}
    for row, labels in zip(rows, truth, strict=True):
        assert records[row["id"]]["est_labels"] == labels and records[row["id"]]["mode"] == "oracle"
    assert {label_text(x) for labels in truth for x in labels} <= set(sep.seen)
    assert summary["class_aware"]["label_accuracy"]["mean"] == 100.0 and summary["class_aware"]["mode"] == "oracle"
    with pytest.raises(ResultsMismatch, match=r"separator\.labels"):  # the labels are part of the computation
        evaluate_separator(_settings(setup, tmp_path, "tests.test_evaluate:QueryGain", query="text"), progress=False)
    with pytest.raises(ValueError, match="oracle labels need"):
        evaluate_separator(_settings(setup, tmp_path / "c", "cardioid:oracle", labels="oracle"), progress=False)
    md = format_markdown(build_leaderboard(load_results([tmp_path])))
    assert "oracle labels + a text query per label" in md
