"""``foabench bank index``: any folder of clips plus a label CSV, with every bad file reported."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from foabench.benchmark.cli import main
from foabench.synth.banks.clip_rules import ClipRules
from foabench.synth.banks.format import HEADER_NAME, INDEX_NAME, REPORT_NAME, Bank
from foabench.synth.banks.importers.generic import import_folder
from tests.audio_fixtures import (
    tone,
    write_garbage,
    write_noise_burst,
    write_nonfinite_wav,
    write_tone,
    write_truncated_wav,
    write_wave,
)

GOOD = {
    "clips/dog/dog_01.wav": "audio/clips/dog/dog_01.flac",
    "clips/dog/dog_02.wav": "audio/clips/dog/dog_02.flac",
    "clips/cat_01.wav": "audio/clips/cat_01.flac",
    "clips/bird_48k.wav": "audio/clips/bird_48k.flac",
}
# file (relative to the folder) -> (skip reason, text the detail must hold)
BAD = {
    "stereo.wav": ("multichannel", "2 channels"),
    "garbage.wav": ("bad_audio", "unreadable"),
    "truncated.wav": ("bad_audio", "truncated"),
    "nan.wav": ("bad_audio", "NaN/Inf"),
    "silent.wav": ("silent", "dBFS"),
    "short.wav": ("too_short", "after trimming"),
    "unlabelled.wav": ("missing_label", "unlabelled.wav"),
    "ghost.wav": ("missing_file", "not found"),
    "copy_of_dog_01.wav": ("duplicate", "clips/dog/dog_01.wav"),
}
LABELS_CSV = """path,labels,caption,license,group
clips/dog/dog_01.wav,dog;animal,,,
clips/dog/dog_02.wav, dog ; barking ,a dog barks twice,CC-BY-4.0,
clips/cat_01.wav,cat; animal,,,cat-session
clips/bird_48k.wav,bird,,,
stereo.wav,piano,,,
garbage.wav,noise,,,
truncated.wav,noise,,,
nan.wav,noise,,,
silent.wav,noise,,,
short.wav,click,,,
ghost.wav,ghost,,,
copy_of_dog_01.wav,dog,,,
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    src = tmp_path / "clips_src"
    write_tone(src / "clips/dog/dog_01.wav", 44100, 0.5, seed=1)
    write_noise_burst(src / "clips/dog/dog_02.wav", 44100, 0.5, seed=2)
    write_tone(src / "clips/cat_01.wav", 32000, 0.4, seed=3)
    write_tone(src / "clips/bird_48k.wav", 48000, 0.5, seed=4)
    write_tone(src / "stereo.wav", 32000, 0.5, channels=2, seed=5)
    write_garbage(src / "garbage.wav")
    write_truncated_wav(src / "truncated.wav", seed=6)
    write_nonfinite_wav(src / "nan.wav", seed=7)
    write_wave(src / "silent.wav", tone(32000, 0.5)[:, :1] * 0, 32000)
    write_tone(src / "short.wav", 32000, 0.03, seed=8)
    write_tone(src / "unlabelled.wav", 32000, 0.5, seed=9)
    shutil.copyfile(src / "clips/dog/dog_01.wav", src / "copy_of_dog_01.wav")
    return src


@pytest.fixture
def labels(tmp_path: Path) -> Path:
    path = tmp_path / "labels.csv"
    path.write_text(LABELS_CSV)
    return path


def _import(folder: Path, labels: Path, out: Path, **kwargs):
    return import_folder(folder, labels, out, workers=kwargs.pop("workers", 1), progress=False, **kwargs)


def test_import_folder_records_and_skips(folder: Path, labels: Path, tmp_path: Path) -> None:
    out = tmp_path / "bank"
    result = _import(folder, labels, out)
    # Every bad file is reported once, with its reason, under an origin naming the file.
    skipped = {Path(s["origin"]).relative_to(folder).as_posix(): s for s in result.skipped}
    assert len(result.skipped) == len(BAD)
    assert {k: v["reason"] for k, v in skipped.items()} == {k: v[0] for k, v in BAD.items()}
    for rel, (_, needle) in BAD.items():
        assert skipped[rel]["origin"] == str(folder / rel)
        assert needle in skipped[rel]["detail"], (rel, skipped[rel]["detail"])
    assert skipped["copy_of_dog_01.wav"]["detail"].endswith(str(folder / "clips/dog/dog_01.wav"))
    report = [json.loads(line) for line in (out / REPORT_NAME).read_text().splitlines()]
    assert report == result.skipped

    recs = {r.origin: r for r in result.records}
    assert sorted(recs) == sorted(str(folder / rel) for rel in GOOD)
    for rel, stored in GOOD.items():
        assert recs[str(folder / rel)].path == stored
    dog1, dog2 = recs[str(folder / "clips/dog/dog_01.wav")], recs[str(folder / "clips/dog/dog_02.wav")]
    cat, bird = recs[str(folder / "clips/cat_01.wav")], recs[str(folder / "clips/bird_48k.wav")]
    assert dog1.labels == ["dog", "animal"]
    assert dog1.caption == "the sound of dog and animal"
    assert dog1.license == "unknown"
    assert dog1.split_group == "clips/dog/dog_01.wav"
    assert dog2.labels == ["dog", "barking"]
    assert (dog2.caption, dog2.license) == ("a dog barks twice", "CC-BY-4.0")
    assert cat.labels == ["cat", "animal"]
    assert cat.split_group == "cat-session"
    assert (cat.sample_rate, cat.original_sample_rate) == (32000, 32000)
    assert (bird.sample_rate, bird.original_sample_rate, bird.channels) == (32000, 48000, 1)
    assert bird.num_frames == pytest.approx(0.5 * 32000, abs=2)
    assert bird.duration == pytest.approx(0.5, abs=0.01)

    bank = Bank.open(out)
    assert bank.verify() == []
    assert bank.classes() == ["animal", "barking", "bird", "cat", "dog"]
    assert bank.header["skipped"] == {
        "bad_audio": 3,
        "duplicate": 1,
        "missing_file": 1,
        "missing_label": 1,
        "multichannel": 1,
        "silent": 1,
        "too_short": 1,
    }
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.flac")) == sorted(GOOD.values())


def test_downmix_imports_the_stereo_file(folder: Path, labels: Path, tmp_path: Path) -> None:
    result = _import(folder, labels, tmp_path / "bank", rules=ClipRules(downmix=True))
    assert "multichannel" not in {s["reason"] for s in result.skipped}
    stereo = next(r for r in result.records if r.origin == str(folder / "stereo.wav"))
    assert (stereo.path, stereo.labels, stereo.channels, stereo.original_channels) == (
        "audio/stereo.flac",
        ["piano"],
        1,
        2,
    )


def test_default_license_and_attribution(folder: Path, labels: Path, tmp_path: Path) -> None:
    result = _import(
        folder, labels, tmp_path / "bank", default_license="CC0-1.0", default_attribution="me", name="mine"
    )
    licences = {Path(r.origin).name: (r.license, r.attribution) for r in result.records}
    assert licences["dog_01.wav"] == ("CC0-1.0", "me")
    assert licences["dog_02.wav"] == ("CC-BY-4.0", "me")
    assert Bank.open(tmp_path / "bank").name == "mine"


def test_reimport_and_worker_count_give_identical_files(folder: Path, labels: Path, tmp_path: Path) -> None:
    out = tmp_path / "bank"
    _import(folder, labels, out)
    first = {name: (out / name).read_bytes() for name in (INDEX_NAME, HEADER_NAME, REPORT_NAME)}
    _import(folder, labels, out)
    second = {name: (out / name).read_bytes() for name in (INDEX_NAME, HEADER_NAME, REPORT_NAME)}
    assert second == first
    other = tmp_path / "bank-2-workers"
    _import(folder, labels, other, workers=2)
    assert (other / INDEX_NAME).read_bytes() == first[INDEX_NAME]
    assert (other / HEADER_NAME).read_bytes() == first[HEADER_NAME]


def test_reimport_removes_audio_no_longer_listed(folder: Path, labels: Path, tmp_path: Path) -> None:
    out = tmp_path / "bank"
    _import(folder, labels, out)
    (folder / "clips/cat_01.wav").unlink()
    result = _import(folder, labels, out)
    assert "audio/clips/cat_01.flac" not in {r.path for r in result.records}
    assert not (out / "audio/clips/cat_01.flac").exists()
    assert Bank.open(out).verify() == []


def test_refuses_a_non_empty_folder_that_is_not_a_bank(folder: Path, labels: Path, tmp_path: Path) -> None:
    out = tmp_path / "precious"
    out.mkdir()
    (out / "notes.txt").write_text("do not delete")
    with pytest.raises(ValueError, match="not empty"):
        _import(folder, labels, out)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_refuses_an_output_that_contains_the_input(folder: Path, labels: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="contains the input"):
        _import(folder, labels, tmp_path)


def test_refuses_an_output_inside_the_source_folder(folder: Path, labels: Path) -> None:
    with pytest.raises(ValueError):
        _import(folder, labels, folder / "bank")


def test_label_csv_errors(folder: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        _import(folder, tmp_path / "nope.csv", tmp_path / "bank")
    bad = tmp_path / "bad.csv"
    bad.write_text("file,label\na.wav,dog\n")
    with pytest.raises(ValueError, match="missing column"):
        _import(folder, bad, tmp_path / "bank")
    with pytest.raises(FileNotFoundError, match="not a directory"):
        _import(tmp_path / "no-folder", bad, tmp_path / "bank")


# --- CLI ------------------------------------------------------------------------------------------------


def test_cli_index_and_verify(folder: Path, labels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli-bank"
    argv = ["bank", "index", str(folder), "--labels", str(labels), "--out", str(out), "--workers", "1"]
    assert main([*argv, "--no-progress"]) == 0
    captured = capsys.readouterr()
    for name in ("dog", "cat", "bird", "animal", "barking"):
        assert name in captured.out
    assert "5 classes, 4 clips" in captured.out
    assert "garbage.wav" in captured.err  # skips are reported as they happen

    assert main(["bank", "verify", str(out)]) == 0
    assert "0 problem(s)" in capsys.readouterr().out

    write_noise_burst(out / "audio/clips/cat_01.flac", 32000, 0.4, seed=42, subtype="PCM_24")
    assert main(["bank", "verify", str(out)]) == 1
    captured = capsys.readouterr()
    assert "audio/clips/cat_01.flac" in captured.err and "content changed" in captured.err
    assert "1 problem(s)" in captured.out


def test_cli_missing_labels_file(folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.csv"
    argv = ["bank", "index", str(folder), "--labels", str(missing), "--out", str(tmp_path / "b"), "--no-progress"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "foabench: error" in err and str(missing) in err
    assert not (tmp_path / "b").exists()
