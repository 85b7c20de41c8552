"""The FSD50K, ESC-50 and DCASE 2025 Task 4 importers on tiny fake trees in the datasets' real layouts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from foabench.benchmark.cli import main
from foabench.synth.banks.format import Bank
from foabench.synth.banks.importers.dcase2025 import import_dcase2025
from foabench.synth.banks.importers.esc50 import import_esc50
from foabench.synth.banks.importers.fsd50k import import_fsd50k
from tests.audio_fixtures import write_noise_burst, write_tone

GUITAR = "Electric_guitar,Guitar,Plucked_string_instrument,Musical_instrument,Music"
GUITAR_MIDS = "/m/02sgy,/m/0342h,/m/0fx80y,/m/04szw,/m/04rlf"
VOCABULARY = [
    ("Electric_guitar", "/m/02sgy"),
    ("Guitar", "/m/0342h"),
    ("Plucked_string_instrument", "/m/0fx80y"),
    ("Musical_instrument", "/m/04szw"),
    ("Music", "/m/04rlf"),
    ("Bark", "/m/05tny_"),
    ("Dog", "/m/0bt9lr"),
    ("Domestic_animals_and_pets", "/m/068hy"),
    ("Animal", "/m/0jbk"),
]
CC_BY = "http://creativecommons.org/licenses/by/3.0/"
CC0 = "http://creativecommons.org/publicdomain/zero/1.0/"


def _by_key(result, key: str) -> dict:
    return {r.extra[key]: r for r in result.records}


def _skips(result) -> dict[str, str]:
    """file name -> skip reason."""
    return {Path(s["origin"]).name: s["reason"] for s in result.skipped}


# --- FSD50K ---------------------------------------------------------------------------------------------


@pytest.fixture
def fsd50k_root(tmp_path: Path) -> Path:
    root = tmp_path / "FSD50K"
    gt = root / "FSD50K.ground_truth"
    gt.mkdir(parents=True)
    (gt / "vocabulary.csv").write_text("".join(f"{i},{lab},{mid}\n" for i, (lab, mid) in enumerate(VOCABULARY)))
    (gt / "dev.csv").write_text(
        "fname,labels,mids,split\n"
        f'64760,"{GUITAR}","{GUITAR_MIDS}",train\n'
        '1001,"Bark,Dog,Domestic_animals_and_pets,Animal","/m/05tny_,/m/0bt9lr,/m/068hy,/m/0jbk",val\n'
        '2002,"Dog,Animal","/m/0bt9lr,/m/0jbk",train\n'  # no audio file
        '3003,"Not_a_class,Animal","/m/000,/m/0jbk",train\n'  # label outside the vocabulary
    )
    (gt / "eval.csv").write_text('fname,labels,mids\n5005,"Dog,Animal","/m/0bt9lr,/m/0jbk"\n')
    meta = root / "FSD50K.metadata"
    meta.mkdir()
    dev_info = {
        "64760": {
            "title": "guitarras_63",
            "description": "electric guitar riff",
            "tags": ["guitar"],
            "license": CC_BY,
            "uploader": "casualsamples",
        },
        "1001": {
            "title": "dog bark.wav",
            "description": "",
            "tags": [],
            "license": CC0,
            "uploader": "woofer",
        },
    }
    (meta / "dev_clips_info_FSD50K.json").write_text(json.dumps(dev_info))
    (meta / "eval_clips_info_FSD50K.json").write_text("{}")  # 5005 has no metadata
    for seed, rel in enumerate(
        ["dev_audio/64760", "dev_audio/1001", "dev_audio/3003", "dev_audio/9999", "eval_audio/5005"]
    ):
        write_tone(root / f"FSD50K.{rel}.wav", 44100, 0.6, seed=seed)
    return root


def test_fsd50k_records(fsd50k_root: Path, tmp_path: Path) -> None:
    result = import_fsd50k(fsd50k_root, tmp_path / "bank", workers=1, progress=False)
    recs = _by_key(result, "fname")
    assert sorted(recs) == ["1001", "5005", "64760"]
    guitar = recs["64760"]
    assert guitar.path == "fsd50k/dev/64760.flac"
    assert guitar.labels == GUITAR.split(",")
    assert guitar.caption == "electric guitar: guitarras_63"
    assert guitar.license == "CC-BY-3.0"
    assert guitar.attribution == '"guitarras_63" by casualsamples (Freesound 64760)'
    assert guitar.split_group == "fsd50k-uploader:casualsamples"
    assert guitar.extra == {
        "dataset": "FSD50K",
        "subset": "dev",
        "fsd50k_split": "train",
        "fname": "64760",
        "mids": GUITAR_MIDS.split(","),
    }
    assert (guitar.sample_rate, guitar.original_sample_rate, guitar.channels) == (32000, 44100, 1)
    assert guitar.duration == pytest.approx(0.6, abs=0.02)
    assert guitar.duration == pytest.approx(guitar.trim_end_s - guitar.trim_start_s, abs=1e-3)
    bark = recs["1001"]
    assert bark.caption == "bark: dog bark"
    assert bark.license == "CC0-1.0"
    assert bark.extra["fsd50k_split"] == "val"
    unknown = recs["5005"]
    assert (unknown.license, unknown.split_group) == ("unknown", "fsd50k:5005")
    assert unknown.extra["subset"] == unknown.extra["fsd50k_split"] == "eval"
    assert unknown.path == "fsd50k/eval/5005.flac"
    assert _skips(result) == {
        "2002.wav": "missing_file",
        "9999.wav": "missing_label",
        "3003.wav": "unknown_label",
    }
    bank = Bank.open(tmp_path / "bank")
    assert bank.name == "fsd50k"
    assert bank.header["skipped"] == {"missing_file": 1, "missing_label": 1, "unknown_label": 1}
    assert bank.verify() == []


def test_fsd50k_subset_and_missing_ground_truth(fsd50k_root: Path, tmp_path: Path) -> None:
    result = import_fsd50k(fsd50k_root, tmp_path / "eval", subset="eval", workers=1, progress=False)
    assert [r.path for r in result.records] == ["fsd50k/eval/5005.flac"]
    assert result.skipped == []
    (fsd50k_root / "FSD50K.ground_truth" / "vocabulary.csv").unlink()
    with pytest.raises(FileNotFoundError, match=r"vocabulary\.csv"):
        import_fsd50k(fsd50k_root, tmp_path / "none", workers=1, progress=False)


# --- ESC-50 ---------------------------------------------------------------------------------------------


@pytest.fixture
def esc50_root(tmp_path: Path) -> Path:
    root = tmp_path / "ESC-50-master"
    (root / "meta").mkdir(parents=True)
    (root / "meta" / "esc50.csv").write_text(
        "filename,fold,target,category,esc10,src_file,take\n"
        "1-100032-A-0.wav,1,0,dog,True,100032,A\n"
        "1-100032-B-0.wav,1,0,dog,True,100032,B\n"
        "2-200000-A-10.wav,2,10,rain,False,200000,A\n"
        "3-300000-A-1.wav,3,1,rooster,False,300000,A\n"  # no audio file
    )
    for seed, name in enumerate(["1-100032-A-0", "1-100032-B-0", "2-200000-A-10", "4-999999-A-5"]):
        write_noise_burst(root / "audio" / f"{name}.wav", 44100, 0.5, seed=seed)
    return root


def test_esc50_records(esc50_root: Path, tmp_path: Path) -> None:
    result = import_esc50(esc50_root, tmp_path / "bank", workers=1, progress=False)
    recs = {r.path: r for r in result.records}
    assert sorted(recs) == ["esc50/1-100032-A-0.flac", "esc50/1-100032-B-0.flac", "esc50/2-200000-A-10.flac"]
    dog_a, dog_b = recs["esc50/1-100032-A-0.flac"], recs["esc50/1-100032-B-0.flac"]
    assert dog_a.labels == ["dog"]
    assert dog_a.caption == "the sound of a dog"
    assert dog_a.license == "CC-BY-NC-3.0"
    assert dog_a.attribution == "ESC-50 (K. J. Piczak), from Freesound clip 100032"
    assert dog_a.split_group == dog_b.split_group == "esc50:freesound:100032"
    assert dog_a.extra == {"dataset": "ESC-50", "fold": 1, "esc10": True, "take": "A"}
    assert dog_b.extra["take"] == "B"
    rain = recs["esc50/2-200000-A-10.flac"]
    assert (rain.caption, rain.split_group) == ("the sound of rain", "esc50:freesound:200000")
    assert rain.extra == {"dataset": "ESC-50", "fold": 2, "esc10": False, "take": "A"}
    assert (rain.sample_rate, rain.original_sample_rate) == (32000, 44100)
    # The decaying burst loses its quiet tail to trimming; the stored length matches the trimmed span.
    assert rain.duration == pytest.approx(rain.trim_end_s - rain.trim_start_s, abs=1e-3)
    assert 0.1 < rain.duration <= 0.5
    assert _skips(result) == {"3-300000-A-1.wav": "missing_file", "4-999999-A-5.wav": "missing_label"}


def test_esc50_cli(esc50_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli-bank"
    assert main(["bank", "esc50", str(esc50_root), "--out", str(out), "--workers", "1", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "dog" in printed and "rain" in printed
    assert "2 classes, 3 clips" in printed
    assert len(Bank.open(out).records) == 3


# --- DCASE 2025 Task 4 ----------------------------------------------------------------------------------


@pytest.fixture
def dcase_root(tmp_path: Path) -> Path:
    root = tmp_path / "dev_set"
    clips = [
        "sound_event/train/AlarmClock/alarm_01.wav",
        "sound_event/train/AlarmClock/alarm_02.wav",
        "sound_event/train/Speech/speech_01.wav",
        "sound_event/valid/FootSteps/steps_01.wav",
        "sound_event/train/AlarmClock/extra/deep.wav",  # below the label folder
        "sound_event/train/stray.wav",  # not in a label folder
        "sound_event/train/Banjo/banjo_01.wav",  # not a target class
        "interference/train/Crumpling, crinkling/crumple_01.wav",
        "interference/valid/Siren/siren_01.wav",
    ]
    for seed, rel in enumerate(clips):
        write_tone(root / rel, 32000, 0.5, seed=seed)
    write_noise_burst(root / "noise/train/noise_01.wav", 32000, 0.5, channels=4, seed=100)
    write_noise_burst(root / "noise/valid/noise_02.wav", 32000, 0.5, channels=4, seed=101)
    for rel in ["room_ir/train/room_a.sofa", "room_ir/valid/room_b.sofa"]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"\x89HDF\r\n\x1a\n not a real SOFA file")
    return root


def test_dcase2025_records(dcase_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = import_dcase2025(dcase_root, tmp_path / "bank", workers=1, progress=False)
    recs = {r.path: r for r in result.records}
    assert sorted(recs) == [
        "dcase2025/interference/train/Crumpling, crinkling/crumple_01.flac",
        "dcase2025/interference/valid/Siren/siren_01.flac",
        "dcase2025/target/train/AlarmClock/alarm_01.flac",
        "dcase2025/target/train/AlarmClock/alarm_02.flac",
        "dcase2025/target/train/Speech/speech_01.flac",
        "dcase2025/target/valid/FootSteps/steps_01.flac",
    ]
    alarm = recs["dcase2025/target/train/AlarmClock/alarm_01.flac"]
    assert alarm.labels == ["AlarmClock"]
    assert alarm.caption == "the sound of alarm clock"
    assert alarm.license == "DCASE2025-Task4-dev (per-clip licences in the dataset's LICENSE file)"
    assert alarm.attribution == "DCASE 2025 Challenge Task 4 development set"
    assert alarm.split_group == "dcase2025:train:AlarmClock/alarm_01"
    assert alarm.extra == {"dataset": "DCASE2025T4", "split": "train", "role": "target"}
    assert (alarm.sample_rate, alarm.original_sample_rate) == (32000, 32000)
    assert alarm.duration == pytest.approx(0.5, abs=0.02)
    steps = recs["dcase2025/target/valid/FootSteps/steps_01.flac"]
    assert (steps.caption, steps.extra["split"]) == ("the sound of foot steps", "valid")
    crumple = recs["dcase2025/interference/train/Crumpling, crinkling/crumple_01.flac"]
    assert crumple.labels == ["Crumpling, crinkling"]
    assert crumple.extra == {"dataset": "DCASE2025T4", "split": "train", "role": "interference"}
    assert crumple.split_group == "dcase2025:train:Crumpling, crinkling/crumple_01"
    assert _skips(result) == {
        "deep.wav": "unexpected_location",
        "stray.wav": "unexpected_location",
        "banjo_01.wav": "unknown_label",
    }
    err = capsys.readouterr().err
    assert "2 noise file(s) and 2 room_ir SOFA file(s)" in err
    assert Bank.open(tmp_path / "bank").verify() == []


def test_dcase2025_split_and_missing_folder(
    dcase_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = import_dcase2025(dcase_root, tmp_path / "valid", split="valid", workers=1, progress=False)
    assert sorted(r.path for r in result.records) == [
        "dcase2025/interference/valid/Siren/siren_01.flac",
        "dcase2025/target/valid/FootSteps/steps_01.flac",
    ]
    assert result.skipped == []
    assert "1 noise file(s) and 1 room_ir SOFA file(s)" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="sound_event"):
        import_dcase2025(tmp_path / "nothing", tmp_path / "none", workers=1, progress=False)
