"""The README's first command: ``foabench demo`` builds the starter banks, samples, checks and renders splits."""

import pytest

from benchmark.cli import main as cli
from synth.bank import Bank


@pytest.mark.slow
def test_demo_builds_source_room_and_noise_banks(tmp_path, capsys):
    assert cli(["demo", "--workdir", str(tmp_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    banks = tmp_path / "banks"
    sources = Bank.open(banks / "starter", kind="sources")
    rooms = Bank.open(banks / "rooms", kind="rirs")
    noise = Bank.open(banks / "noise", kind="noise")
    assert len(sources.classes()) == 18
    assert len(rooms.records) == 72 and len({r.room for r in rooms.records}) == 12
    assert all(r.rt60_measured == pytest.approx(r.rt60_spec, rel=0.2) for r in rooms.records)
    assert len(noise.records) >= 6 and {r.method for r in noise.records} == {"diffuse"}
    for bank in (sources, rooms, noise):
        assert bank.verify() == []
        assert bank.fingerprint in out
    assert "OK: 3 manifests, 48 rows, no violations" in out
    for split, n in (("train", 32), ("val", 8), ("test", 8)):
        assert (tmp_path / "manifests" / f"{split}.header.json").is_file()
        assert len(list((tmp_path / "render" / split).glob("*/meta.json"))) == n
