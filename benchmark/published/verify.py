"""``foabench benchmark verify``: prove a benchmark folder holds exactly the published data.

Everything is derived again from the banks and the definition ``benchmark.json`` records, and every hash is
compared. Each difference is reported under what it is about:

- ``bank``: a bank whose fingerprint differs from the record, or a file whose bytes differ from its bank's
  index (a clip replaced by another of the same length is found: files are hashed, not sized);
- ``definition``: a record whose definition no longer hashes to its ``definition_sha256``;
- ``splits``: the group assignment derived again differs from ``splits.json`` or its recorded hash;
- ``manifest``: a manifest whose rows differ from the rows sampled again (the first differing row is named),
  or whose rows hash differs from the record;
- ``rendered``: a rendered file missing, extra, or whose sha256 differs from the record, or (unless
  ``rerender`` is off) a mixture whose re-render does not give the recorded bytes;
- ``hf``: shards whose sha256 differs from their index, an index of other rows, or a copy of the record that
  is not the record.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from foabench.benchmark.published.build import (
    BENCHMARK_FILE,
    HF_DIR,
    SPLITS_FILE,
    group_leaks,
    read_record,
    rendered_hashes,
    sample_fixed_splits,
    split_groups,
)
from foabench.benchmark.published.definition import definition_sha256, parse_definition
from foabench.synth.audio_io import sha256_file
from foabench.synth.banks.format import Bank, BankError
from foabench.synth.scenes.manifest import read_manifest, row_sha256, rows_problem

KINDS = ("definition", "bank", "splits", "manifest", "rendered", "hf")


@dataclass
class VerifyReport:
    folder: Path
    problems: list[tuple[str, str]] = field(default_factory=list)  # (kind, message)
    checked: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, kind: str, message: str) -> None:
        self.problems.append((kind, message))

    def format(self) -> str:
        lines = [f"{self.folder}: " + ", ".join(f"{n} {k}" for k, n in self.checked.items()) + " checked"]
        for kind in KINDS:
            found = [m for k, m in self.problems if k == kind]
            if found:
                lines.append(f"== {kind}: {len(found)} difference{'s' if len(found) > 1 else ''} ==")
                lines += [f"  {m}" for m in found[:50]] + ([f"  ... and {len(found) - 50} more"] if len(found) > 50
                                                            else [])  # fmt: skip
        lines.append("OK: the folder holds the published benchmark" if self.ok else
                     f"DIFFERS: {len(self.problems)} difference(s)")  # fmt: skip
        return "\n".join(lines)


def _banks(folder: Path, record: dict, report: VerifyReport, progress: bool) -> list[Bank] | None:
    opened = []
    for key, info in sorted(record["banks"].items()):
        try:
            bank = Bank.open(folder / "banks" / key)
        except (BankError, OSError) as exc:
            report.add("bank", f"bank {key}: cannot be opened ({exc})")
            continue
        if bank.fingerprint != info["fingerprint"]:
            report.add("bank", f"bank {key}: fingerprint {bank.fingerprint[:12]}… differs from the recorded "
                               f"{info['fingerprint'][:12]}… (its index changed)")  # fmt: skip
        for problem in bank.verify():
            report.add("bank", f"bank {key}: {problem}")
        report.checked["bank files"] = report.checked.get("bank files", 0) + len(bank.records)
        opened.append(bank)
    if progress:
        print(f"[verify] {len(opened)} banks hashed")
    return opened if len(opened) == len(record["banks"]) else None


def _first_difference(stored: list[dict], derived: list[dict]) -> str:
    for a, b in zip(stored, derived, strict=False):
        if row_sha256(a) != row_sha256(b):
            return f"row {a.get('id')} differs from the row sampled again"
    return f"{len(stored)} rows, {len(derived)} sampled again"


def _manifests(folder: Path, record: dict, sampled: dict, report: VerifyReport) -> dict[str, list[dict]]:
    rows_by_split = {}
    for split, info in sorted(record["manifests"].items()):
        path = folder / info["path"]
        derived = sampled[split][1]
        rows_by_split[split] = derived
        try:
            manifest = read_manifest(path, verify=False)
        except (OSError, ValueError) as exc:
            report.add("manifest", f"{info['path']}: cannot be read ({exc})")
            continue
        stored = manifest.rows
        if [row_sha256(r) for r in stored] != [row_sha256(r) for r in derived]:
            report.add("manifest", f"{info['path']}: {_first_difference(stored, derived)}")
        problem = rows_problem(manifest)  # rows edited after their header was written
        if problem is not None:
            report.add("manifest", f"{info['path']}: {problem}")
        if manifest.header.get("rows_sha256") != info["rows_sha256"]:
            report.add("manifest", f"{info['path']}: header rows hash differs from the record")
        if sha256_file(manifest.rows_path) != info["rows_sha256"]:
            report.add("manifest", f"{info['path']}: the rows file hashes otherwise than the record")
        report.checked["manifest rows"] = report.checked.get("manifest rows", 0) + len(stored)
    return rows_by_split


def _rendered(folder: Path, record: dict, rows_by_split: dict, report: VerifyReport, rerender: bool,
              workers: int | None, progress: bool) -> None:  # fmt: skip
    from foabench.synth.scenes.render_split import render_manifest

    for split, info in sorted(record["rendered"].items()):
        render_dir = folder / info["path"]
        found = rendered_hashes(render_dir, rows_by_split.get(split, []))
        expected = info["files"]
        for name in sorted(set(expected) | set(found)):
            if name not in found:
                report.add("rendered", f"{info['path']}/{name}: missing")
            elif name not in expected:
                report.add("rendered", f"{info['path']}/{name}: not part of the benchmark")
            elif found[name] != expected[name]:
                report.add("rendered", f"{info['path']}/{name}: sha256 differs from the record")
        report.checked["rendered files"] = report.checked.get("rendered files", 0) + len(expected)
        manifest = folder / record["manifests"][split]["path"]
        if rerender and not any(
            k == "manifest" and m.startswith(record["manifests"][split]["path"]) for k, m in report.problems
        ):  # an edited manifest is reported, not rendered
            refs = tuple(info.get("references", ())) or None
            result = render_manifest(manifest, render_dir, [folder / "banks"], workers=workers, verify=True,
                                     progress=progress, references=refs)  # fmt: skip
            for problem in result.problems:
                report.add("rendered", problem.replace(f"{folder}/", ""))


def _shards(folder: Path, record: dict, report: VerifyReport) -> None:
    """The shards: their copy of the record, their index (rows hash of every split) and every shard's sha256."""
    from foabench.manifests.hf_reader import read_index

    hf = folder / HF_DIR
    copy = hf / BENCHMARK_FILE
    if not copy.is_file() or copy.read_bytes() != (folder / BENCHMARK_FILE).read_bytes():
        report.add("hf", f"{HF_DIR}/{BENCHMARK_FILE}: missing or not the benchmark's record")
    try:
        index = read_index(hf)
    except ValueError as exc:
        report.add("hf", f"{HF_DIR}: {exc}")
        return
    for split, entry in sorted(index["splits"].items()):
        if record["manifests"].get(split, {}).get("rows_sha256") != entry.get("rows_sha256"):
            report.add("hf", f"{HF_DIR}: split {split} holds other rows than the benchmark's manifest")
        for shard in entry["shards"]:
            path = hf / shard["file"]
            if not path.is_file() or sha256_file(path) != shard["sha256"]:
                report.add("hf", f"{HF_DIR}/{shard['file']}: {'missing' if not path.is_file() else 'sha256 differs'}")
            report.checked["shards"] = report.checked.get("shards", 0) + 1


def verify_benchmark(folder: str | Path, *, rerender: bool = True, workers: int | None = None,
                     progress: bool = True) -> VerifyReport:  # fmt: skip
    """Compare a benchmark folder with everything derived again from its banks and definition."""
    folder = Path(folder)
    record = read_record(folder)
    report = VerifyReport(folder)
    if definition_sha256(record["definition"]) != record["definition_sha256"]:
        report.add("definition", "benchmark.json: the definition does not hash to its definition_sha256 (edited)")
    defn = parse_definition(record["definition"], f"{folder}/benchmark.json", base=folder)
    banks = _banks(folder, record, report, progress)
    if banks is None:
        return report
    groups = split_groups(defn, banks)
    splits_path = folder / SPLITS_FILE
    if not splits_path.is_file() or json.loads(splits_path.read_text()) != groups:
        report.add("splits", f"{SPLITS_FILE}: differs from the group assignment derived again from the banks")
    elif sha256_file(splits_path) != record["splits_sha256"]:
        report.add("splits", f"{SPLITS_FILE}: sha256 differs from the record")
    sampled = sample_fixed_splits(defn, banks)
    rows_by_split = _manifests(folder, record, sampled, report)
    for leak in group_leaks(rows_by_split, groups):
        report.add("manifest", leak)
    _rendered(folder, record, rows_by_split, report, rerender and not any(k == "bank" for k, _ in report.problems),
              workers, progress)  # fmt: skip
    if (folder / HF_DIR).is_dir():
        _shards(folder, record, report)
    return report
