"""``foabench manifests check`` and ``export-dcase``: real tiny banks, hand-written manifests for two splits,
and every kind of planted problem (leaks, unsafe paths, changed inputs, future schema, edited rows)."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from foabench.benchmark.cli import main
from foabench.manifests.check import check_manifests, format_report
from foabench.manifests.dcase_export import export_dcase, import_dcase_metadata
from foabench.synth.banks.builder import BankBuilder, ClipSource
from foabench.synth.banks.clip_rules import ClipRules
from foabench.synth.banks.format import Bank, ClipRecord, NoiseRecord, RirRecord
from foabench.synth.foa import unit_vector
from foabench.synth.noise.bank import NoiseBankBuilder, NoiseSettings, NoiseSource
from foabench.synth.rooms.bank import build_room_bank
from foabench.synth.rooms.sampler import RoomSpec
from foabench.synth.scenes.manifest import ManifestError, manifest_paths, write_manifest
from tests.audio_fixtures import write_tone, write_wave

SR = 16000
CLASSES = ["bell", "bird", "cat", "dog"]  # sorted by path: record i has class CLASSES[i] and group g-<class>


def _build_sources(root: Path, audio: Path) -> Bank:
    builder = BankBuilder(root, "clips", ClipRules(sample_rate=SR))
    for i, label in enumerate(CLASSES):
        path = write_tone(audio / f"{label}.wav", SR, 0.5, seed=i)
        builder.add(ClipSource(f"{label}", label, [label], "", "CC0-1.0", "", f"g-{label}", path=str(path)))
    builder.build(workers=1, progress=False)
    return Bank.open(root)


def _build_noise(root: Path, audio: Path) -> Bank:
    builder = NoiseBankBuilder(root, "noise", NoiseSettings(sample_rate=SR, min_duration_s=0.5))
    for i, label in enumerate(["hum", "rain"]):
        wave = 0.1 * np.random.default_rng(10 + i).standard_normal(SR)
        path = write_wave(audio / f"{label}.wav", wave.astype(np.float32), SR)
        builder.add(NoiseSource(label, str(path), label, [label], "", "CC0-1.0", "", f"n-{label}"))
    builder.build(workers=1, progress=False)
    return Bank.open(root)


@pytest.fixture(scope="module")
def bank_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of three banks: ``clips`` (4 sources), ``rooms`` (3 rooms x 2 RIRs), ``noise`` (2 clips)."""
    root = tmp_path_factory.mktemp("banks")
    audio = tmp_path_factory.mktemp("audio")
    _build_sources(root / "clips", audio / "clips")
    build_room_bank(root / "rooms", RoomSpec(rooms=3, rirs_per_room=2, max_length_s=0.2, sample_rate=SR), workers=1)
    _build_noise(root / "noise", audio / "noise")
    return root


@pytest.fixture
def banks(bank_dir: Path, tmp_path: Path) -> dict[str, Bank]:
    """A private copy of the banks (tests may tamper with it), opened by name."""
    root = tmp_path / "banks"
    shutil.copytree(bank_dir, root)
    return {d.name: Bank.open(d) for d in sorted(root.iterdir())}


def _ref(bank: Bank, record: ClipRecord | RirRecord | NoiseRecord) -> dict:
    return {"bank": bank.name, "path": record.path, "sha256": record.sha256, "group": record.split_group}


def _row(banks: dict[str, Bank], split: str, index: int, clip: int, rir: int, noise: int | None) -> dict:
    """A valid row: a target from clip ``clip`` through RIR ``rir``, an interferer from the next clip."""
    clips, rooms = banks["clips"], banks["rooms"]
    rirs = rooms.records
    events = []
    for role, c, r in (("target", clip, rir), ("interference", (clip + 1) % 4, rir ^ 1)):
        src, ir = clips.records[c], rirs[r]
        assert isinstance(ir, RirRecord)
        events.append(
            {
                "role": role,
                "label": src.labels[0],
                "source": _ref(clips, src),
                "source_offset": 160 * index,
                "onset": 800 + 400 * c,
                "length": 4000,
                "snr_db": 6.0 - 3 * c,
                "rir": _ref(rooms, ir),
                "azimuth": ir.azimuth,
                "elevation": ir.elevation,
                "distance": ir.distance if role == "target" else None,
            }
        )
    row = {
        "id": f"{split}-{index:06d}",
        "split": split,
        "index": index,
        "seed": 1000 + index,
        "sample_rate": SR,
        "num_frames": 2 * SR,
        "room": {"bank": "rooms", "room": rirs[rir].split_group},
        "events": events,
        "noise": None,
    }
    if noise is not None:
        rec = banks["noise"].records[noise]
        row["noise"] = {**_ref(banks["noise"], rec), "offset": 320 * index, "level_dbfs": -40.0 + index}
    return row


# clips 0, 1 / rooms 0 (RIRs 0, 1) / noise 0 for train; clips 2, 3 / room 1 (RIRs 2, 3) / noise 1 for test
TRAIN = [(0, 0, 0), (0, 1, 0), (0, 0, None)]
TEST = [(2, 2, 1), (2, 3, None)]


def _write(banks: dict[str, Bank], folder: Path, split: str, specs: list[tuple], edit=None) -> Path:
    rows = [_row(banks, split, i, *spec) for i, spec in enumerate(specs)]
    if edit is not None:
        edit(rows)
    header = {
        "split": split,
        "generator": "tests",
        "banks": {name: {"fingerprint": b.fingerprint, "kind": b.kind} for name, b in banks.items()},
    }
    return write_manifest(folder / split, header, rows)[0]


@pytest.fixture
def manifests(banks: dict[str, Bank], tmp_path: Path) -> list[Path]:
    return [_write(banks, tmp_path / "m", "train", TRAIN), _write(banks, tmp_path / "m", "test", TEST)]


def _bank_paths(banks: dict[str, Bank]) -> list[Path]:
    return [b.root for b in banks.values()]


def _messages(report, category: str) -> list[str]:
    return [f"{v.where}: {v.message}" for v in report.violations if v.category == category]


# --- clean manifests ---------------------------------------------------------------------------------------


def test_clean_manifests_pass_with_and_without_banks(banks, manifests) -> None:
    for given in (None, _bank_paths(banks), [next(iter(banks.values())).root.parent]):
        report = check_manifests(manifests, banks=given)
        assert report.ok, format_report(report)
        assert report.num_rows == len(TRAIN) + len(TEST)
    text = format_report(report)
    assert text.splitlines()[-1] == f"OK: 2 manifests, {len(TRAIN) + len(TEST)} rows, no violations"
    assert "disjoint" in text


def test_same_split_twice_is_not_a_leak(banks, tmp_path) -> None:
    a = _write(banks, tmp_path / "a", "train", TRAIN)
    b = _write(banks, tmp_path / "b", "train", TRAIN[:1])
    assert check_manifests([a, b], banks=_bank_paths(banks)).ok


# --- leakage -----------------------------------------------------------------------------------------------


def test_source_group_shared_by_two_splits_is_a_leak(banks, tmp_path) -> None:
    train = _write(banks, tmp_path, "train", TRAIN)
    test = _write(banks, tmp_path, "test", [*TEST, (1, 2, None)])  # clip 1 is a train clip
    report = check_manifests([train, test], banks=_bank_paths(banks))
    leaks = _messages(report, "leak")
    assert len(leaks) == 1, leaks
    assert "source group clips:g-bird" in leaks[0]
    assert "test (row test-000002)" in leaks[0] and "train (row train-000000)" in leaks[0]
    assert report.counts == {"leak": 1}


def test_room_and_noise_shared_by_two_splits_are_leaks(banks, tmp_path) -> None:
    train = _write(banks, tmp_path, "train", TRAIN)
    test = _write(banks, tmp_path, "test", [*TEST, (2, 1, 0)])  # room of RIR 1 and noise 0 belong to train
    report = check_manifests([train, test])
    leaks = _messages(report, "leak")
    room = banks["rooms"].records[1].split_group
    assert any(f"rir group rooms:{room}" in m and "test (row test-000002)" in m for m in leaks), leaks
    assert any("noise group noise:n-hum" in m for m in leaks), leaks
    assert not any("source" in m for m in leaks)


def test_same_file_under_different_groups_is_a_path_leak(banks, tmp_path) -> None:
    def regroup(rows: list[dict]) -> None:
        rows[0]["events"][0]["source"] = copy.deepcopy(_row(banks, "x", 0, 0, 0, None)["events"][0]["source"])
        rows[0]["events"][0]["source"]["group"] = "renamed"

    train = _write(banks, tmp_path, "train", TRAIN)
    test = _write(banks, tmp_path, "test", TEST, edit=regroup)
    report = check_manifests([train, test], banks=_bank_paths(banks))
    path = banks["clips"].records[0].path
    assert any(f"source path clips:{path}" in m for m in _messages(report, "leak"))
    assert any("recorded group 'renamed'" in m and "g-bell" in m for m in _messages(report, "group"))


# --- paths, hashes, groups ---------------------------------------------------------------------------------


def test_unsafe_paths_are_each_reported(banks, tmp_path) -> None:
    def escape(rows: list[dict]) -> None:
        rows[0]["events"][0]["source"]["path"] = "../x.flac"
        rows[1]["events"][1]["rir"]["path"] = "/abs.flac"
        rows[1]["noise"]["path"] = "a/../../b.flac"
        rows[2]["num_frames"] = 0  # a structural problem in another row is reported too

    train = _write(banks, tmp_path, "train", TRAIN, edit=escape)
    report = check_manifests([train], banks=_bank_paths(banks))
    paths = _messages(report, "path")
    assert len(paths) == 3, paths
    assert "train.jsonl row 1 (train-000000) event 0 source" in paths[0] and "leaves its bank root" in paths[0]
    assert "event 1 rir" in paths[1] and "absolute" in paths[1]
    assert "noise" in paths[2]
    assert _messages(report, "row") == [
        "train.jsonl row 3 (train-000002): num_frames must be a positive integer, got 0"
    ]
    assert not _messages(report, "input")  # unsafe paths are not resolved


def test_malformed_rows_are_reported_not_raised(banks, tmp_path) -> None:
    def garble(rows: list[dict]) -> None:
        rows[0]["events"] = [5]
        rows[1]["events"][0]["source"] = "clips/bell.flac"
        rows[2]["noise"] = {"bank": "noise"}

    report = check_manifests([_write(banks, tmp_path, "train", TRAIN, edit=garble)], banks=_bank_paths(banks))
    rows = _messages(report, "row")
    assert len(rows) == 3 and "malformed row" in rows[0], rows
    assert "event 0 source: expected an object" in rows[1] and "missing" in rows[2]
    assert report.counts == {"row": 3}


def test_changed_bank_file_and_edited_hash_are_input_violations(banks, manifests) -> None:
    rec = banks["clips"].records[0]
    target = banks["clips"].root / rec.path
    target.write_bytes(target.read_bytes()[:-100] + bytes(100))  # content changes, the index does not
    report = check_manifests(manifests, banks=_bank_paths(banks))
    inputs = _messages(report, "input")
    assert inputs and all(rec.path in m for m in inputs)
    assert any("changed (sha256" in m for m in inputs)
    assert not check_manifests(manifests).violations  # without banks, nothing is hashed


def test_row_sha256_differing_from_file_is_caught_for_every_row(banks, tmp_path) -> None:
    other = "0" * 64

    def rehash(rows: list[dict]) -> None:
        for row in rows[1:]:  # row 0 verifies the file; later references must still be compared
            row["events"][0]["source"]["sha256"] = other

    train = _write(banks, tmp_path, "train", TRAIN, edit=rehash)
    inputs = _messages(check_manifests([train], banks=_bank_paths(banks)), "input")
    assert len(inputs) == 2 and all("changed" in m and "000000000000" in m for m in inputs), inputs


def test_wrong_group_missing_bank_and_fingerprint(banks, manifests, tmp_path) -> None:
    def regroup(rows: list[dict]) -> None:
        rows[0]["events"][1]["rir"]["group"] = "room-elsewhere"

    train = _write(banks, tmp_path, "train", TRAIN, edit=regroup)
    report = check_manifests([train], banks=_bank_paths(banks))
    assert _messages(report, "group") == [
        f"train.jsonl row 1 (train-000000) event 1 rir: {banks['rooms'].records[1].path}: recorded group "
        f"'room-elsewhere', bank 'rooms' says '{banks['rooms'].records[1].split_group}'"
    ]
    no_noise = check_manifests(manifests, banks=[banks["clips"].root, banks["rooms"].root])
    assert [v.category for v in no_noise.violations] == ["bank", "bank"]  # once per manifest
    assert "'noise' not found" in no_noise.violations[0].message

    header_path = manifest_paths(manifests[0])[1]
    header = json.loads(header_path.read_text())
    header["banks"]["clips"]["fingerprint"] = "f" * 64
    header_path.write_text(json.dumps(header))
    bad = _messages(check_manifests(manifests, banks=_bank_paths(banks)), "bank")
    assert len(bad) == 1 and "fingerprint" in bad[0] and "'clips'" in bad[0]


# --- headers and schema ------------------------------------------------------------------------------------


def test_future_schema_is_a_violation_not_a_crash(manifests) -> None:
    header_path = manifest_paths(manifests[1])[1]
    header = json.loads(header_path.read_text())
    header["schema_version"] = 99
    header_path.write_text(json.dumps(header))
    report = check_manifests(manifests)
    (schema,) = _messages(report, "schema")
    assert "newer" in schema and "99" in schema
    assert report.num_rows == len(TRAIN)  # the readable manifest is still checked


def test_edited_rows_split_and_duplicate_ids_are_caught(banks, manifests) -> None:
    rows_path = manifests[0]
    lines = rows_path.read_text().splitlines()
    edited = json.loads(lines[0])
    edited["split"] = "test"
    lines[0] = json.dumps(edited)
    lines[1] = lines[2]  # a duplicate id
    rows_path.write_text("\n".join(lines) + "\n")
    report = check_manifests(manifests)
    assert any("rows_sha256" in m and "edited" in m for m in _messages(report, "header"))
    assert _messages(report, "split") == ["train.jsonl row 1 (train-000000): row split 'test', header split 'train'"]
    assert _messages(report, "id") == ["train.jsonl: row id 'train-000002' is used by 2 rows"]

    rows_path.write_text(lines[2] + "\n")
    assert any("num_rows 3" in m for m in _messages(check_manifests(manifests), "header"))


def test_report_caps_each_category(banks, tmp_path) -> None:
    def escape(rows: list[dict]) -> None:
        for row in rows:
            for ev in row["events"]:
                ev["source"]["path"] = ev["rir"]["path"] = "/abs.flac"

    train = _write(banks, tmp_path, "train", TRAIN * 5, edit=escape)
    report = check_manifests([train])
    assert report.counts["path"] == 2 * 2 * len(TRAIN) * 5
    text = format_report(report, cap=20)
    assert "... and 40 more path violation(s)" in text
    assert text.splitlines()[-1].startswith("FAILED: ")
    assert json.loads(json.dumps(report.to_dict()))["counts"]["path"] == 60


# --- command line ------------------------------------------------------------------------------------------


def test_cli_exit_codes(banks, manifests, tmp_path, capsys) -> None:
    bank_args = ["--banks", *map(str, _bank_paths(banks))]
    assert main(["manifests", "check", *map(str, manifests), *bank_args]) == 0
    assert "OK: 2 manifests" in capsys.readouterr().out

    leaky = _write(banks, tmp_path / "leak", "test", [(0, 0, 0)])
    assert main(["manifests", "check", str(manifests[0]), str(leaky), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert not report["ok"] and report["counts"]["leak"] == 4 and len(report["leakage"]) == 4

    assert main(["manifests", "check", str(tmp_path / "missing.jsonl")]) == 2
    assert "missing.header.json" in capsys.readouterr().err


# --- DCASE export ------------------------------------------------------------------------------------------


def test_dcase_export_round_trips_the_event_list(banks, manifests, tmp_path, capsys) -> None:
    out = tmp_path / "dcase"
    assert main(["manifests", "export-dcase", str(manifests[0]), "--out", str(out)]) == 0
    assert "wrote 3" in capsys.readouterr().out
    files = sorted(p.name for p in out.iterdir())
    assert files == [f"train-{i:06d}.json" for i in range(len(TRAIN))]

    meta = json.loads((out / "train-000000.json").read_text())
    assert meta["config"] == {
        "duration": 2.0,
        "sr": SR,
        "ref_db": -40.0,
        "foabench_manifest": "train.jsonl",
        "foabench_split": "train",
        "foabench_id": "train-000000",
    }
    assert meta["room"] == banks["rooms"].records[0].split_group
    assert [len(meta[k]) for k in ("fg_events", "int_events", "bg_events")] == [1, 1, 1]
    assert meta["fg_events"][0]["role"] == meta["int_events"][0]["role"] == "foreground"
    assert meta["bg_events"][0]["label"] == "background"  # no banks: noise labels unknown
    rir0 = banks["rooms"].records[0]
    expected_xyz = rir0.distance * unit_vector(rir0.azimuth, rir0.elevation)
    assert np.allclose(meta["fg_events"][0]["event_position"][0], expected_xyz)
    assert np.linalg.norm(meta["int_events"][0]["event_position"][0]) == pytest.approx(1.0)  # no distance

    rows = [json.loads(line) for line in manifests[0].read_text().splitlines()]
    got = import_dcase_metadata(out)
    expected = []
    for row in rows:
        for ev in sorted(row["events"], key=lambda e: e["role"] != "target"):
            expected.append(
                (
                    row["id"],
                    ev["role"],
                    ev["label"],
                    ev["source"]["bank"],
                    ev["source"]["path"],
                    ev["source_offset"] / SR,
                    ev["onset"] / SR,
                    ev["length"] / SR,
                    ev["snr_db"],
                )
            )
        if row["noise"] is not None:
            n = row["noise"]
            expected.append(
                (row["id"], "noise", "background", n["bank"], n["path"], n["offset"] / SR, 0.0, 2.0, n["level_dbfs"])
            )
    keys = ("id", "role", "label", "bank", "path", "source_offset_s", "onset_s", "duration_s", "snr_db")
    assert [tuple(e[k] for k in keys) for e in got] == expected
    directions = [(e["azimuth"], e["elevation"]) for e in got if e["role"] != "noise"]
    want = [(ev["azimuth"], ev["elevation"]) for row in rows for ev in row["events"]]
    assert np.allclose(directions, want, atol=1e-6, rtol=0)


def test_dcase_export_with_banks_verifies_inputs_and_names_noise(banks, manifests, tmp_path) -> None:
    written = export_dcase(manifests[0], tmp_path / "d", banks=_bank_paths(banks))
    assert json.loads(written[0].read_text())["bg_events"][0]["label"] == "hum"
    rec = banks["noise"].records[0]
    (banks["noise"].root / rec.path).write_bytes(b"tampered")
    with pytest.raises(ValueError, match="changed"):
        export_dcase(manifests[0], tmp_path / "e", banks=_bank_paths(banks))


def test_dcase_export_refuses_ids_that_are_not_file_names(banks, tmp_path) -> None:
    def rename(rows: list[dict]) -> None:
        rows[0]["id"] = "../evil"

    train = _write(banks, tmp_path, "train", TRAIN, edit=rename)
    with pytest.raises(ManifestError, match="cannot name a metadata file"):
        export_dcase(train, tmp_path / "d")
