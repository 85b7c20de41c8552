"""The bank format of ``foabench.synth.banks.format``: relative paths, the root fence, header checks, fingerprint,
verify."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path, PurePosixPath

import pytest

from foabench.synth.banks.builder import BankBuilder, ClipSource
from foabench.synth.banks.clip_rules import ClipRules
from foabench.synth.banks.format import (
    BANK_SCHEMA_VERSION,
    HEADER_NAME,
    INDEX_NAME,
    Bank,
    BankError,
    check_relative_path,
    fingerprint,
)
from tests.audio_fixtures import write_noise_burst, write_tone


@pytest.fixture
def bank_root(tmp_path: Path) -> Path:
    """A three-clip bank built from real files."""
    src = tmp_path / "src"
    builder = BankBuilder(tmp_path / "bank", "tiny", ClipRules(), description="test bank")
    for i, (name, label) in enumerate([("a", "dog"), ("b", "cat"), ("c", "dog")]):
        path = write_tone(src / f"{name}.wav", 32000, 0.4, seed=i)
        builder.add(
            ClipSource(
                key=name,
                rel_path=f"audio/{name}",
                labels=[label],
                caption=f"the sound of a {label}",
                license="CC0-1.0",
                attribution="",
                split_group=name,
                path=str(path),
            )
        )
    builder.build(workers=1, progress=False)
    return tmp_path / "bank"


def _index_rows(root: Path) -> list[dict]:
    return [json.loads(line) for line in (root / INDEX_NAME).read_text().splitlines() if line.strip()]


def _write_index_rows(root: Path, rows: list[dict]) -> None:
    (root / INDEX_NAME).write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))


# --- paths ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rel",
    ["/abs", "/abs/x.flac", "../x", "a/../../b", "a/..", "a\\b", "", "~/x.flac", "a//b", "a/"],
)
def test_check_relative_path_rejects(rel: str) -> None:
    with pytest.raises(BankError):
        check_relative_path(rel)


@pytest.mark.parametrize("rel", ["audio/x.flac", "x.flac", "dcase2025/target/Crumpling, crinkling/c 01.flac"])
def test_check_relative_path_accepts(rel: str) -> None:
    assert check_relative_path(rel) == PurePosixPath(rel)


def test_resolve_refuses_a_symlink_that_leaves_the_bank(bank_root: Path, tmp_path: Path) -> None:
    bank = Bank.open(bank_root)
    outside = write_noise_burst(tmp_path / "outside.wav", 32000, 0.2)
    (bank_root / "audio" / "escape.flac").symlink_to(outside)
    (bank_root / "audio" / "inside.flac").symlink_to(bank_root / "audio" / "a.flac")
    with pytest.raises(BankError, match="outside bank root"):
        bank.resolve("audio/escape.flac")
    assert bank.resolve("audio/inside.flac") == (bank_root / "audio" / "a.flac").resolve()
    assert bank.resolve("audio/a.flac") == (bank_root / "audio" / "a.flac").resolve()
    with pytest.raises(BankError):
        bank.resolve("../outside.wav")
    # A directory symlink that leaves the root is refused too.
    (bank_root / "elsewhere").symlink_to(tmp_path / "src", target_is_directory=True)
    with pytest.raises(BankError, match="outside bank root"):
        bank.resolve("elsewhere/a.wav")


# --- opening --------------------------------------------------------------------------------------------


def test_open_good_bank(bank_root: Path) -> None:
    bank = Bank.open(bank_root)
    assert (bank.name, bank.kind, bank.sample_rate) == ("tiny", "sources", 32000)
    assert bank.header["schema_version"] == BANK_SCHEMA_VERSION
    assert bank.header["num_clips"] == 3
    assert [r.path for r in bank.records] == ["audio/a.flac", "audio/b.flac", "audio/c.flac"]
    assert bank.classes() == ["cat", "dog"]
    assert bank.fingerprint == fingerprint(bank.records)
    assert bank.verify() == []


def test_open_refuses_a_newer_schema(bank_root: Path) -> None:
    header_path = bank_root / HEADER_NAME
    header = json.loads(header_path.read_text())
    header["schema_version"] = 999
    header_path.write_text(json.dumps(header))
    with pytest.raises(BankError, match="newer") as info:
        Bank.open(bank_root)
    assert "999" in str(info.value)


def test_open_refuses_a_missing_or_broken_header(bank_root: Path, tmp_path: Path) -> None:
    with pytest.raises(BankError, match="not a foabench bank"):
        Bank.open(tmp_path / "src")
    with pytest.raises(BankError, match="not a foabench bank"):
        Bank.open(tmp_path / "does-not-exist")
    header_path = bank_root / HEADER_NAME
    header = json.loads(header_path.read_text())
    header_path.write_text("{not json")
    with pytest.raises(BankError, match="malformed JSON"):
        Bank.open(bank_root)
    del header["schema_version"]
    header_path.write_text(json.dumps(header))
    with pytest.raises(BankError, match="schema_version"):
        Bank.open(bank_root)


def test_open_refuses_an_edited_index(bank_root: Path) -> None:
    rows = _index_rows(bank_root)
    original = list(rows)
    rows[1] = {**rows[1], "sha256": "0" * 64}
    _write_index_rows(bank_root, rows)
    with pytest.raises(BankError, match="fingerprint"):
        Bank.open(bank_root)
    _write_index_rows(bank_root, original[:2])  # a row removed
    with pytest.raises(BankError, match="fingerprint"):
        Bank.open(bank_root)
    _write_index_rows(bank_root, [*original, {**original[0], "path": "audio/z.flac"}])  # a row added
    with pytest.raises(BankError, match="fingerprint"):
        Bank.open(bank_root)
    _write_index_rows(bank_root, list(reversed(original)))  # reordering alone is not an edit
    assert len(Bank.open(bank_root).records) == 3


def test_open_refuses_an_index_path_that_leaves_the_root(bank_root: Path) -> None:
    rows = _index_rows(bank_root)
    rows[0] = {**rows[0], "path": "../a.flac"}
    _write_index_rows(bank_root, rows)
    with pytest.raises(BankError, match="leaves its bank root"):
        Bank.open(bank_root)


def test_open_refuses_a_malformed_row(bank_root: Path) -> None:
    rows = _index_rows(bank_root)
    del rows[0]["sha256"]
    _write_index_rows(bank_root, rows)
    with pytest.raises(BankError, match="lacks"):
        Bank.open(bank_root)
    (bank_root / INDEX_NAME).write_text("{broken\n")
    with pytest.raises(BankError, match=f"{INDEX_NAME}:1"):
        Bank.open(bank_root)


# --- verify and fingerprint -----------------------------------------------------------------------------


def test_verify_reports_changed_and_missing_files(bank_root: Path) -> None:
    bank = Bank.open(bank_root)
    write_noise_burst(bank_root / "audio" / "a.flac", 32000, 0.4, seed=9, subtype="PCM_24")
    (bank_root / "audio" / "c.flac").unlink()
    problems = bank.verify()
    assert len(problems) == 2
    assert problems[0].startswith("audio/a.flac") and "content changed" in problems[0]
    assert problems[1].startswith("audio/c.flac") and "missing" in problems[1]
    # A fresh open still succeeds (the index is intact); verify is what catches changed audio.
    assert len(Bank.open(bank_root).verify()) == 2


def test_fingerprint_is_order_independent_and_content_sensitive(bank_root: Path) -> None:
    records = Bank.open(bank_root).records
    fp = fingerprint(records)
    assert len(fp) == 64
    assert fingerprint(reversed(records)) == fp
    assert fingerprint([records[1], records[2], records[0]]) == fp
    changed = [dataclasses.replace(records[0], sha256="f" * 64), *records[1:]]
    assert fingerprint(changed) != fp
    renamed = [dataclasses.replace(records[0], path="audio/z.flac"), *records[1:]]
    assert fingerprint(renamed) != fp
    assert fingerprint(records[:2]) != fp
    # Metadata other than (path, sha256) is outside the fingerprint by design.
    relabelled = [dataclasses.replace(records[0], labels=["bird"]), *records[1:]]
    assert fingerprint(relabelled) == fp
