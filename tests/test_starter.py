"""The starter bank: real packaged sounds, licences recorded, deterministic, non-silent, groups that split."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import soundfile as sf

from foabench.benchmark.cli import main
from foabench.synth.banks.clip_rules import frame_rms_db
from foabench.synth.banks.format import Bank
from foabench.synth.banks.starter.build import STARTER_CLASSES, build_starter_bank, starter_sources
from foabench.synth.banks.starter.debian_copyright import licence_for
from foabench.synth.banks.starter.drumkits import drum_class
from foabench.synth.banks.starter.gm_instruments import FLUID_R3
from foabench.synth.banks.starter.soundfont import SoundFont
from foabench.synth.banks.summary import class_table


def test_soundfont_key_cells_partition_a_range_by_sample_set():
    sf2 = SoundFont(FLUID_R3)
    assert sf2.presets[(0, 40)][0] == "Violin"
    cells = sf2.key_cells(40, 100, 55, 100)
    assert len(cells) > 5
    for lo, hi, names in cells:
        assert names, "every cell plays at least one sample"
        for key in (lo, hi):
            assert sf2.sample_names(40, key, 100) == names
    # neighbouring cells differ, and cells never overlap
    for (_, hi1, n1), (lo2, _, n2) in itertools.pairwise(cells):
        assert hi1 < lo2 and (n1 != n2 or hi1 + 1 != lo2)


def test_debian_copyright_gives_per_file_licences():
    stanza = licence_for("sonic-pi-samples", "etc/samples/tabla_dhec.flac")
    assert stanza is not None and stanza.license == "CC0" and "freesound.org" in stanza.source
    kit = licence_for("hydrogen-drumkits", "drumkits/Audiophob.h2drumkit")
    assert kit is not None and kit.license == "CC0"


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("Pearl Kick", "kick drum"),
        ("Snare Rock", "snare drum"),
        ("Snare Roll", ""),
        ('Hi-Hat Open (Paiste Alpha Metal edge 14")', "hi-hat"),
        ("Closed HH", "hi-hat"),
        ("Crash Left", "cymbal"),
        ("Ride Bell", ""),
        ("Floor Tom", "tom drum"),
        ("Hand Clap", "hand clap"),
    ],
)
def test_drum_instrument_names_map_to_classes(name, label):
    assert drum_class(name) == label


def test_unknown_class_is_refused():
    with pytest.raises(ValueError, match="unknown starter classes"):
        starter_sources(["theremin"])


def _index_bytes(root):
    return (root / "index.jsonl").read_bytes(), (root / "bank.json").read_bytes()


@pytest.mark.slow
def test_starter_subset_is_deterministic_across_builds_and_workers(tmp_path):
    classes = ["violin", "tabla", "male speech", "hi-hat"]
    a = build_starter_bank(tmp_path / "a", classes=classes, max_per_class=4, workers=1, progress=False)
    b = build_starter_bank(tmp_path / "b", classes=classes, max_per_class=4, workers=2, progress=False)
    assert _index_bytes(tmp_path / "a") == _index_bytes(tmp_path / "b")
    assert len(a.records) == len(b.records) == 16
    # rebuilding in place gives the same bank again
    build_starter_bank(tmp_path / "a", classes=classes, max_per_class=4, workers=2, progress=False)
    assert _index_bytes(tmp_path / "a") == _index_bytes(tmp_path / "b")


@pytest.fixture(scope="module")
def full_starter(tmp_path_factory):
    root = tmp_path_factory.mktemp("starter") / "bank"
    build_starter_bank(root, workers=2, progress=False)
    return Bank.open(root)


@pytest.mark.slow
def test_full_starter_bank_meets_the_class_and_clip_floor(full_starter):
    table = {row["class"]: row for row in class_table(full_starter)}
    assert set(table) == set(STARTER_CLASSES)
    assert len(table) >= 15
    for label, row in table.items():
        assert row["clips"] >= 20, f"{label}: only {row['clips']} clips"
        assert row["groups"] >= 4, f"{label}: only {row['groups']} split groups; splits could not cover it"
    assert full_starter.verify() == []


@pytest.mark.slow
def test_full_starter_bank_is_real_licensed_and_non_silent(full_starter):
    for rec in full_starter.records:
        assert rec.license and rec.license != "unknown", rec.path
        assert rec.attribution and rec.caption and rec.split_group, rec.path
        assert rec.sample_rate == 32000 and rec.channels == 1
        wave, sr = sf.read(full_starter.resolve(rec.path), dtype="float64")
        assert sr == 32000 and wave.shape == (rec.num_frames,)
        loudest = frame_rms_db(wave, 320).max()  # loudest 10 ms frame
        assert loudest > -50, f"{rec.path}: loudest 10 ms frame at {loudest:.1f} dBFS"
        assert np.abs(wave).max() <= 0.99 + 1e-6
        assert rec.duration >= 0.1
    # no two clips share content
    assert len({r.sha256 for r in full_starter.records}) == len(full_starter.records)


@pytest.mark.slow
def test_cli_builds_a_small_starter_bank_and_prints_a_summary(tmp_path, capsys):
    out = tmp_path / "bank"
    args = ["bank", "starter", "--out", str(out), "--classes", "piano", "female speech"]
    assert main([*args, "--max-per-class", "3", "--workers", "1", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "piano" in printed and "female speech" in printed and "2 classes, 6 clips" in printed
    assert main(["bank", "verify", str(out)]) == 0
