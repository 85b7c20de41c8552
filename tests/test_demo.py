"""The README's first command: ``foabench demo`` builds the starter banks, samples, checks and renders splits,
trains the tiny separators, evaluates every separator and bound, and writes the leaderboard and report."""

import json

import pytest

from foabench.benchmark.cli import main as cli
from foabench.benchmark.demo import DEMO_SPLITS
from foabench.benchmark.references import ENCODER, shipped
from foabench.synth.banks.format import Bank
from foabench.synth.queries.builtin import BuiltinEncoder
from foabench.synth.queries.export import load_query_file


@pytest.mark.slow
def test_demo_builds_source_room_and_noise_banks(tmp_path, capsys):
    assert cli(["demo", "--workdir", str(tmp_path), "--no-progress", "--quick"]) == 0  # every stage, 5 % of the steps
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
    assert "OK: 3 manifests, 88 rows, no violations" in out
    for split, n in DEMO_SPLITS:
        assert (tmp_path / "manifests" / f"{split}.header.json").is_file()
        assert len(list((tmp_path / "render" / split).glob("*/meta.json"))) == n
        queries = load_query_file(tmp_path / "queries" / f"{split}.npz")
        assert len(queries["keys"]) >= n and queries["pseudo_query"].shape[1] == 384
    encoder = BuiltinEncoder.load(tmp_path / "encoders" / "builtin")
    for key, figure in encoder.info["held_out_retrieval"].items():
        if isinstance(figure, dict):
            assert figure["value"] >= min(1.0, figure["chance"] + 0.3), (key, figure)
    for model in ("bsast", "bsast-w", "resunet"):  # trained, then evaluated with both query types
        (folder,) = (tmp_path / "results").glob(f"{model}-tiny-*")
        provenance = json.loads((folder / "provenance.json").read_text())
        assert provenance["separator"]["model"] == model and provenance["queries"] == ["audio", "text"]
    board = json.loads((tmp_path / "leaderboard" / "leaderboard.json").read_text())
    names = json.dumps(board)
    for name in ("bsast-tiny", "bsast-w-tiny", "resunet-tiny", "oracle-irm", "max-re (query DOA)", "mixture"):
        assert name in names and name in out, name
    uses_shipped = _shipped_encoder_fits(sources.fingerprint)
    if uses_shipped:  # the references' own encoder, copied: the references are scored beside the brief runs
        assert encoder.hash == BuiltinEncoder.load(ENCODER).hash
        assert "shipped with the reference checkpoints" in out
        for name in shipped():
            assert f"reference:{name}" in names and f"reference:{name}" in out, name
        assert "shipped reference, " in out  # the table's training column sets them apart from the brief runs
    assert (tmp_path / "leaderboard" / "report.html").is_file()
    assert len(list((tmp_path / "leaderboard" / "plots").glob("*.png"))) == 4
    assert cli(["demo", "--workdir", str(tmp_path), "--no-progress", "--quick"]) == 0  # a rerun reuses everything
    out = capsys.readouterr().out
    assert ("shipped with the reference checkpoints" if uses_shipped else "reused (same starter bank)") in out
    assert out.count("reusing the finished run") == 3


def _shipped_encoder_fits(fingerprint: str) -> bool:
    """True when an encoder ships with the references and was trained on a starter bank with this fingerprint."""
    if not (ENCODER / "encoder.json").is_file():
        return False
    return BuiltinEncoder.load(ENCODER).info["training"]["bank_fingerprint"] == fingerprint
