"""Outputs are never replaced without --overwrite nor left stale with it; every reader checks its manifest;
errors name the row and the input."""

import json

import pytest

from foabench.benchmark.cli import main as cli
from foabench.benchmark.evaluate import EvalSettings, evaluate_separator
from foabench.benchmark.train import TrainSettings, train
from foabench.manifests.check import check_manifests
from foabench.manifests.hf_export import ExportError, export_hf
from foabench.synth.banks.bank_set import BankSet, InputError
from foabench.synth.queries.train_encoder import TrainConfig, train_builtin_encoder
from foabench.synth.scenes.manifest import ManifestError, read_manifest, write_manifest
from foabench.synth.scenes.render_split import RENDER_INDEX, render_manifest
from foabench.synth.scenes.sampler import sample_manifest
from foabench.synth.scenes.spec import parse_spec
from tests.scene_fixtures import TEST_SPEC, build_scene_banks


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("guarded")
    banks = build_scene_banks(root / "banks", root / "audio")
    train_builtin_encoder(banks / "clips", root / "encoder", TrainConfig(steps=2, batch_size=8), progress=False)
    spec = root / "spec.json"
    spec.write_text(json.dumps(TEST_SPEC))
    return root, banks, spec


def _sample(ws, path, n, split="val", seed=0):
    _, banks, _ = ws
    header, rows = sample_manifest(parse_spec(TEST_SPEC), list(BankSet.open([banks]).banks.values()), split, n, seed)
    return write_manifest(path, header, rows)[0]


def _edit_one_snr(manifest):
    lines = manifest.read_text().splitlines()
    row = json.loads(lines[1])
    row["events"][0]["snr_db"] += 3.0
    lines[1] = json.dumps(row, sort_keys=True)
    manifest.write_text("\n".join(lines) + "\n")
    return row["id"]


def test_scenes_refuses_to_replace_a_different_manifest(ws, tmp_path, capsys):
    _, banks, spec = ws
    out = tmp_path / "m" / "val.jsonl"
    args = ["scenes", "--spec", str(spec), "--banks", str(banks), "--split", "val", "--out", str(out)]
    assert cli([*args, "--n", "6"]) == 0
    before = out.read_bytes()
    assert cli([*args, "--n", "6"]) == 0 and out.read_bytes() == before  # the same manifest: left as it is
    assert cli([*args, "--n", "3"]) == 2
    assert "a different manifest is already there (6 rows of split 'val')" in capsys.readouterr().err
    assert out.read_bytes() == before and read_manifest(out).header["num_rows"] == 6
    assert cli([*args, "--n", "3", "--overwrite"]) == 0
    assert len(read_manifest(out).rows) == 3


def test_render_refuses_a_folder_of_another_manifest_and_overwrite_leaves_nothing_stale(ws, tmp_path):
    _, banks, _ = ws
    big = _sample(ws, tmp_path / "a" / "val.jsonl", 6)
    other = _sample(ws, tmp_path / "b" / "val.jsonl", 3, seed=9)
    out = tmp_path / "render"
    assert render_manifest(big, out, [banks], workers=1, progress=False).counts == {"rendered": 6}
    with pytest.raises(ValueError, match=r"not rows of .*b/val\.jsonl \(6 folders, e\.g\. val-000000\)"):
        render_manifest(other, out, [banks], workers=1, progress=False)
    assert len([p for p in out.iterdir() if p.is_dir()]) == 6  # refused: nothing touched
    assert render_manifest(other, out, [banks], workers=1, progress=False, overwrite=True).counts == {"rendered": 3}
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [RENDER_INDEX] + [r["id"] for r in read_manifest(other).rows]
    )
    # a superset of the same rows (same seed, more rows) extends the folder: nothing of it is stale
    bigger = _sample(ws, tmp_path / "c" / "val.jsonl", 5, seed=9)
    assert render_manifest(bigger, out, [banks], workers=1, progress=False).counts == {"skipped": 3, "rendered": 2}
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not a render folder"):
        render_manifest(big, out, [banks], workers=1, progress=False, overwrite=True)
    assert (out / "notes.txt").read_text() == "mine"


def test_every_reader_refuses_an_edited_manifest_naming_the_row(ws, tmp_path):
    root, banks, spec = ws
    manifest = _sample(ws, tmp_path / "val.jsonl", 4)
    row_id = _edit_one_snr(manifest)
    expected = rf"row 2 \('{row_id}'\) differs.*foabench manifests check"
    with pytest.raises(ManifestError, match=expected):
        render_manifest(manifest, tmp_path / "r", [banks], workers=1, progress=False)
    assert not (tmp_path / "r").exists()
    with pytest.raises(ManifestError, match=expected):
        evaluate_separator(EvalSettings(separator="mixture", split=str(manifest), out=str(tmp_path / "e"),
                                        banks=[str(banks)]), progress=False)  # fmt: skip
    assert not (tmp_path / "e").exists()
    with pytest.raises(ManifestError, match=expected):
        train(TrainSettings(out=str(tmp_path / "t"), banks=[str(banks)], val=str(manifest), spec=str(spec), steps=1,
                            batch_size=1, workers=0, encoder=str(root / "encoder"), cache=str(root / "cache"),
                            model_overrides={"sample_rate": 16000}), progress=False)  # fmt: skip
    with pytest.raises(ManifestError, match=expected):
        export_hf([manifest], tmp_path / "hf", [banks], encoder=None, progress=False)
    report = check_manifests([manifest])
    assert any(f"row 2 ('{row_id}') differs" in v.message for v in report.violations)
    assert len(read_manifest(manifest, verify=False).rows) == 4  # readable for inspection


def test_export_hf_refuses_to_replace_a_split_of_another_manifest(ws, tmp_path):
    _, banks, _ = ws
    first = _sample(ws, tmp_path / "a" / "val.jsonl", 3)
    second = _sample(ws, tmp_path / "b" / "val.jsonl", 2, seed=4)
    out = tmp_path / "hf"
    export_hf([first], out, [banks], encoder=None, progress=False)
    shards = sorted((out / "data").iterdir())
    with pytest.raises(ExportError, match=r"split 'val' was exported from val\.jsonl \(other rows\).*--overwrite"):
        export_hf([second], out, [banks], encoder=None, progress=False)
    assert sorted((out / "data").iterdir()) == shards
    report = export_hf([second], out, [banks], encoder=None, progress=False, overwrite=True)
    assert report.index["splits"]["val"]["num_rows"] == 2 and len(list((out / "data").iterdir())) == 1
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "thesis.tex").write_text("x")
    with pytest.raises(ExportError, match="not a foabench export"):
        export_hf([second], tmp_path / "busy", [banks], encoder=None, progress=False, overwrite=True)


def test_a_render_error_names_the_row_the_event_and_the_input(ws, tmp_path):
    _, banks, _ = ws
    manifest = _sample(ws, tmp_path / "val.jsonl", 2)
    row = read_manifest(manifest).rows[1]
    ref = dict(row["events"][0]["source"], sha256="0" * 64)
    row["events"][0]["source"] = ref
    header = json.loads(manifest.with_name("val.header.json").read_text())
    bad = write_manifest(tmp_path / "bad" / "val.jsonl", header, [read_manifest(manifest).rows[0], row])[0]
    with pytest.raises(InputError) as info:
        render_manifest(bad, tmp_path / "r", [banks], workers=1, progress=False)
    message = str(info.value)
    assert message.startswith(f"{row['id']}: event 0 (")
    assert ref["path"] in message and "changed" in message
    assert (tmp_path / "r" / read_manifest(bad).rows[0]["id"] / "meta.json").is_file()  # the row before it is kept
