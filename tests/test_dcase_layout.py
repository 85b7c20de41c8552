"""The DCASE Task 4 test-folder layout: names, export of a split with its audio, and ``foabench eval --dcase``
on exported folders and on hand-written trees of real WAV files in the 2025 and 2026 layouts."""

import json
from pathlib import Path

import numpy as np
import pytest

from foabench.benchmark.cli import main as cli
from foabench.benchmark.dcase_inputs import DcaseInputs
from foabench.benchmark.eval_inputs import InputsError, RenderedInputs
from foabench.benchmark.evaluate import evaluate_separator
from foabench.manifests.dcase_audio_export import export_dcase_layout
from foabench.manifests.dcase_layout import (
    LayoutError,
    find_test_folder,
    guess_layout,
    parse_target_files,
    target_file_names,
)
from foabench.synth.audio_io import read_audio
from foabench.synth.scenes.manifest import read_manifest
from foabench.synth.scenes.query_plan import class_phrase
from foabench.synth.scenes.render import Renderer
from tests.audio_fixtures import write_wave
from tests.test_evaluate import QueryGain, _rows, _settings, setup  # noqa: F401  (setup is a fixture)

SR = 16000


def _touch(folder: Path, names: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        (folder / n).write_bytes(b"")


# ---- names ----------------------------------------------------------------------------------------------------


def test_target_names_by_layout():
    assert target_file_names("mix_7", ["dog", "bell"], "2025") == ["mix_7_dog.wav", "mix_7_bell.wav"]
    assert target_file_names("mix_7", ["dog", "dog"], "2026") == ["mix_7_0_dog.wav", "mix_7_1_dog.wav"]
    with pytest.raises(LayoutError, match="2025 layout"):
        target_file_names("mix_7", ["dog", "dog"], "2025")
    for bad in ("a/b", "", "3_dog", ".."):
        with pytest.raises(LayoutError, match="cannot name"):
            target_file_names("m", [bad], "2026")
    with pytest.raises(LayoutError, match="unknown DCASE layout"):
        target_file_names("m", ["dog"], "2024")


def test_target_files_belong_to_the_longest_mixture_name(tmp_path):
    _touch(tmp_path, ["mix_1_dog.wav", "mix_10_cat.wav", "mix_10_Alarm_Clock.wav", "mix_2_1_dog.wav",
                      "mix_2_0_dog.wav"])  # fmt: skip
    got = parse_target_files(tmp_path, ["mix_1", "mix_10", "mix_2", "mix_3"])
    assert [f.label for f in got["mix_1"]] == ["dog"]
    assert sorted(f.label for f in got["mix_10"]) == ["Alarm_Clock", "cat"]
    assert [(f.index, f.label) for f in got["mix_2"]] == [(0, "dog"), (1, "dog")]  # numbered: by number
    assert got["mix_3"] == []  # a mixture without targets (2026: zero-target mixtures)
    assert guess_layout(tmp_path, {"mix_1": got["mix_1"]}) == "2025"
    assert guess_layout(tmp_path, got) == "2026"

    _touch(tmp_path / "stray", ["other_dog.wav"])
    with pytest.raises(LayoutError, match="for any mixture"):
        parse_target_files(tmp_path / "stray", ["mix_1"])
    _touch(tmp_path / "mixed", ["m_dog.wav", "m_0_cat.wav"])
    with pytest.raises(LayoutError, match="numbered and unnumbered"):
        parse_target_files(tmp_path / "mixed", ["m"])
    _touch(tmp_path / "twice", ["m_0_dog.wav", "m_0_cat.wav"])
    with pytest.raises(LayoutError, match="repeats a target number"):
        parse_target_files(tmp_path / "twice", ["m"])


def test_find_test_folder_in_a_dev_set(tmp_path):
    (tmp_path / "a" / "dev_set" / "test" / "soundscape").mkdir(parents=True)
    (tmp_path / "b" / "dev_set" / "synthesized" / "test" / "soundscape").mkdir(parents=True)
    assert find_test_folder(tmp_path / "a") == tmp_path / "a" / "dev_set" / "test"
    assert find_test_folder(tmp_path / "b" / "dev_set") == tmp_path / "b" / "dev_set" / "synthesized" / "test"
    assert find_test_folder(tmp_path / "a" / "dev_set" / "test") == tmp_path / "a" / "dev_set" / "test"
    assert guess_layout(tmp_path / "b" / "dev_set" / "synthesized" / "test", {}) == "2026"
    with pytest.raises(LayoutError, match="no soundscape/"):
        find_test_folder(tmp_path)


# ---- export ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exported(setup, tmp_path_factory):  # noqa: F811
    """The test manifest of ``setup`` exported in both layouts."""
    _, banks, test, _ = setup
    out = tmp_path_factory.mktemp("dcase")
    counts = {layout: export_dcase_layout(test, [banks], out / layout, layout, progress=False)
              for layout in ("2025", "2026")}  # fmt: skip
    return out, counts


def test_export_writes_the_rendered_audio_exactly(setup, exported):  # noqa: F811
    _, banks, test, n_targets = setup
    out, counts = exported
    manifest = read_manifest(test)
    assert counts["2025"] == {"written": len(manifest.rows), "skipped": 0, "targets": n_targets}
    renderer = Renderer(RenderedInputs.open(test, [str(banks)]).bank_set)
    for row in manifest.rows:
        rendered = renderer.render(row)
        mixture, sr = read_audio(out / "2025" / "soundscape" / f"{row['id']}.wav")
        assert sr == row["sample_rate"] and np.array_equal(mixture, rendered.mixture)
        labels = [e["label"] for e in row["events"] if e["role"] == "target"]
        for layout in ("2025", "2026"):
            names = target_file_names(row["id"], labels, layout)
            for name, refs in zip(names, rendered.references, strict=True):
                wave, _ = read_audio(out / layout / "oracle_target" / name)
                assert np.array_equal(wave[:, 0], refs["direct"])
        meta = json.loads((out / "2026" / "metadata" / f"{row['id']}.json").read_text())
        assert meta["foabench_row"] == row and len(meta["fg_events"]) == len(labels)
    record = json.loads((out / "2026" / "foabench_dcase.json").read_text())
    assert record["layout"] == "2026" and record["reference"] == "direct" and record["split"] == "test"


def test_export_resumes_and_refuses_another_layout(setup, exported, tmp_path):  # noqa: F811
    _, banks, test, _ = setup
    out, _ = exported
    again = export_dcase_layout(test, [banks], out / "2025", "2025", progress=False)
    assert again["written"] == 0 and again["skipped"] == len(read_manifest(test).rows)
    with pytest.raises(LayoutError, match=r"another computation.*layout"):
        export_dcase_layout(test, [banks], out / "2025", "2026", progress=False)
    # an interrupted export: one mixture's metadata missing, its audio torn; the rerun redoes that one only
    folder = tmp_path / "partial"
    export_dcase_layout(test, [banks], folder, "2026", progress=False)
    first = sorted((folder / "metadata").glob("*.json"))[0]
    first.unlink()
    (folder / "soundscape" / f"{first.stem}.wav").write_bytes(b"torn")
    again = export_dcase_layout(test, [banks], folder, "2026", progress=False)
    assert again["written"] == 1
    assert read_audio(folder / "soundscape" / f"{first.stem}.wav")[0].shape[1] == 4


def test_export_cli_needs_banks_and_writes_the_layout(setup, tmp_path, capsys):  # noqa: F811
    _, banks, test, n_targets = setup
    with pytest.raises(SystemExit):
        cli(["manifests", "export-dcase", "--manifest", str(test), "--out", str(tmp_path / "x"), "--layout", "2030"])
    assert cli(["manifests", "export-dcase", "--manifest", str(test), "--out", str(tmp_path / "d"), "--layout",
                "2026", "--banks", str(banks), "--no-progress"]) == 0  # fmt: skip
    assert f"{n_targets} oracle target(s)" in capsys.readouterr().out
    assert len(list((tmp_path / "d" / "oracle_target").glob("*_*_*.wav"))) == n_targets


# ---- eval --dcase on an exported split: the manifest's figures ---------------------------------------------------


@pytest.mark.parametrize("layout", ["2025", "2026"])
def test_eval_on_an_exported_folder_equals_the_manifest(setup, exported, tmp_path, layout):  # noqa: F811
    _, banks, _, n_targets = setup
    out, _ = exported
    for spec in ("tests.test_evaluate:QueryGain", "cardioid:oracle"):
        tag = spec.split(":")[-1]
        from_manifest = evaluate_separator(_settings(setup, tmp_path / f"m-{tag}", spec), progress=False)
        from_dcase = evaluate_separator(_settings(setup, tmp_path / f"d-{tag}", spec, split=None,
                                                  dcase=str(out / layout), query_bank=[str(banks)]),
                                        progress=False)  # fmt: skip
        a = {r["key"]: r for r in _rows(tmp_path / f"m-{tag}")}
        b = {r["key"]: r for r in _rows(tmp_path / f"d-{tag}")}
        assert len(a) == 2 * n_targets and a.keys() == b.keys()
        for key, row in a.items():
            for m in ("si_sdr", "sdr", "si_sdri", "sdri", "mixture_si_sdr"):
                assert b[key][m] == row[m], (key, m)
        assert from_dcase["by_query"]["audio"]["si_sdri"] == from_manifest["by_query"]["audio"]["si_sdri"]
        prov = json.loads((tmp_path / f"d-{tag}" / "provenance.json").read_text())
        assert prov["inputs"] == f"dcase {layout} folder" and prov["manifest"]["layout"] == layout


def test_eval_on_an_exported_folder_needs_its_query_bank(setup, exported, tmp_path):  # noqa: F811
    out, _ = exported
    with pytest.raises(InputsError, match="--query-bank"):
        evaluate_separator(_settings(setup, tmp_path / "r", "tests.test_evaluate:QueryGain", split=None,
                                     dcase=str(out / "2026")), progress=False)  # fmt: skip
    # text queries need no bank: the recorded texts are used
    evaluate_separator(_settings(setup, tmp_path / "t", "tests.test_evaluate:QueryGain", split=None, query="text",
                                 dcase=str(out / "2026")), progress=False)  # fmt: skip
    texts = {e["query"]["text"] for r in read_manifest(setup[2]).rows for e in r["events"] if e["role"] == "target"}
    assert {r["query_text"] for r in _rows(tmp_path / "t")} == texts


# ---- eval --dcase on hand-written DCASE trees -------------------------------------------------------------------


def _dcase_tree(root: Path, targets: dict[str, list[str]], numbered: bool, frames: int = SR) -> Path:
    """``root/soundscape/NAME.wav`` (4 ch) and ``root/oracle_target/NAME[_N]_LABEL.wav`` (mono), 16-bit PCM."""
    rng = np.random.default_rng(0)
    for name, labels in targets.items():
        sources = [0.1 * rng.standard_normal(frames).astype(np.float32) for _ in labels]
        mixture = 0.01 * rng.standard_normal((frames, 4)).astype(np.float32)
        for k, (label, s) in enumerate(zip(labels, sources, strict=True)):
            mixture += s[:, None] * np.array([1.0, 0.3 * k, 0.1, -0.2], dtype=np.float32)
            file = f"{name}_{k}_{label}.wav" if numbered else f"{name}_{label}.wav"
            write_wave(root / "oracle_target" / file, s, SR)
        write_wave(root / "soundscape" / f"{name}.wav", mixture, SR)
    return root


def test_eval_on_a_dcase_2025_tree(setup, tmp_path):  # noqa: F811
    _, banks, _, _ = setup
    tree = _dcase_tree(tmp_path / "dev_set" / "test", {"soundscape_01": ["bell", "dog"], "soundscape_02": ["bird"]},
                       numbered=False)  # fmt: skip
    inputs = DcaseInputs(tmp_path, query_bank=[str(banks)])
    assert inputs.layout == "2025" and inputs.class_rule == "ca_sdri" and inputs.sample_rate == SR
    row = inputs.rows[0]
    assert [e["label"] for e in row["events"]] == ["bell", "dog"]
    assert row["events"][0]["query"]["text"] == class_phrase("bell", 0)
    assert "bell" in inputs.rows[0]["events"][0]["query"]["audio"]["path"]
    mixture, refs = inputs.mixture(row, "direct")
    assert mixture.shape == (SR, 4) and len(refs) == 2
    assert np.array_equal(refs[1], read_audio(tree / "oracle_target" / "soundscape_01_dog.wav")[0][:, 0])
    again = DcaseInputs(tmp_path, query_bank=[str(banks)])
    assert again.rows == inputs.rows  # the audio query clips are the same on every run

    out = tmp_path / "res"
    summary = evaluate_separator(_settings(setup, out, "tests.test_evaluate:QueryGain", split=None,
                                           dcase=str(tmp_path), query_bank=[str(banks)]), progress=False)  # fmt: skip
    assert summary["by_query"]["text"]["n"] == 3 and summary["by_query"]["audio"]["n"] == 3
    assert {r["query_text"] for r in _rows(out) if r["label"] == "dog"} == {class_phrase("dog", 0)}

    with pytest.raises(InputsError, match="--query-bank"):
        DcaseInputs(tmp_path)
    DcaseInputs(tmp_path, audio_queries=False)  # text queries only: no bank needed
    with pytest.raises(InputsError, match="direct"):
        inputs.mixture(row, "dry")
    with pytest.raises(ValueError, match="true direction"):
        evaluate_separator(_settings(setup, tmp_path / "c", "cardioid:oracle", split=None, dcase=str(tmp_path),
                                     query="text"), progress=False)  # fmt: skip


def test_eval_on_a_dcase_2026_tree_with_duplicates_and_no_target(setup, tmp_path, capsys):  # noqa: F811
    tree = _dcase_tree(tmp_path / "synthesized" / "test", {"mix_0": ["dog", "dog", "bell"], "mix_1": []},
                       numbered=True)  # fmt: skip
    inputs = DcaseInputs(tmp_path, audio_queries=False)
    assert inputs.layout == "2026" and inputs.class_rule == "capi_sdri"
    assert [len(r["events"]) for r in inputs.rows] == [3, 0]
    assert DcaseInputs(tree, layout="2025", audio_queries=False).class_rule == "ca_sdri"  # forced
    root = setup[0]
    assert cli(["eval", "--dcase", str(tmp_path), "--separator", "tests.test_evaluate:QueryGain", "--query", "text",
                "--out", str(tmp_path / "res"), "--encoder", str(root / "encoder"), "--cache", str(root / "cache"),
                "--no-progress"]) == 0  # fmt: skip
    assert "3 targets" in capsys.readouterr().out
    assert cli(["eval", "--manifest", str(setup[2]), "--separator", "mixture", "--out", str(tmp_path / "x"),
                "--query-bank", str(setup[1])]) != 0  # fmt: skip
    assert "go with --dcase" in capsys.readouterr().err


def test_bad_dcase_trees_are_named(tmp_path):
    _dcase_tree(tmp_path / "a", {"m": ["dog"]}, numbered=False)
    write_wave(tmp_path / "a" / "soundscape" / "m.wav", np.zeros((SR, 2), np.float32), SR)  # stereo
    inputs = DcaseInputs(tmp_path / "a", audio_queries=False)
    with pytest.raises(InputsError, match=r"2 channel.*4-channel"):
        inputs.mixture(inputs.rows[0], "direct")
    _dcase_tree(tmp_path / "b", {"m": ["dog"]}, numbered=False)
    write_wave(tmp_path / "b" / "oracle_target" / "m_dog.wav", np.zeros(SR // 2, np.float32), SR)  # short
    inputs = DcaseInputs(tmp_path / "b", audio_queries=False)
    with pytest.raises(InputsError, match="oracle target is mono"):
        inputs.mixture(inputs.rows[0], "direct")
    (tmp_path / "c" / "soundscape").mkdir(parents=True)
    with pytest.raises(InputsError, match="no mixtures"):
        DcaseInputs(tmp_path / "c", audio_queries=False)
    _dcase_tree(tmp_path / "d", {"m": ["dog"]}, numbered=False)
    write_wave(tmp_path / "d" / "oracle_target" / "n_dog.wav", np.zeros(SR, np.float32), SR)
    with pytest.raises(InputsError, match="for any mixture"):
        DcaseInputs(tmp_path / "d", audio_queries=False)
