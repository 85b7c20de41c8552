"""``foabench manifests check``: prove that manifests are well formed, name their inputs safely, match their
banks, and that their splits are disjoint.

Every problem is gathered (not only the first): per manifest, the schema version, the header against the rows
file (``num_rows``, ``rows_sha256``), each row's structure (:func:`foabench.synth.scenes.manifest.validate_row`), every
input path (absolute or leaving its bank root), unique row ids and each row's split against the header's. With banks,
also each header bank's fingerprint, every input file's presence and sha256, and the recorded split group of
every input against its bank's record. Across manifests, :mod:`foabench.manifests.leakage` finds inputs shared by two
splits.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from foabench.manifests.check_report import CheckReport, ManifestResult, Violation, format_report
from foabench.manifests.leakage import LeakageIndex
from foabench.manifests.refs import BANK_KIND, RowRef, iter_refs, open_bank_set, records_by_path, ref_key
from foabench.synth.audio_io import sha256_file
from foabench.synth.banks.bank_set import BankSet, InputError
from foabench.synth.banks.format import AnyRecord, Bank, BankError, check_relative_path
from foabench.synth.pointclouds.scene import MeshCache
from foabench.synth.scenes.manifest import (
    Manifest,
    ManifestError,
    manifest_paths,
    read_manifest,
    rows_problem,
    validate_row,
)
from foabench.synth.scenes.pointcloud_query import check_pointcloud_capture, scene_capture

__all__ = ["CheckReport", "Violation", "check_manifests", "format_report"]

REF_KEYS = ("bank", "path", "sha256", "group")
_SAFE_PLACEHOLDER = "unsafe-path-reported-separately"


def _path_problem(ref: dict) -> str | None:
    """Why the reference's path is unsafe (absolute, leaving the bank root, malformed), or None."""
    if "path" not in ref:
        return None  # validate_row reports the missing key
    try:
        check_relative_path(str(ref["path"]))
    except BankError as exc:
        return str(exc)
    return None


def _structure_problem(row: dict, where: str) -> str | None:
    """The first structural problem :func:`validate_row` finds, ignoring unsafe paths (reported on their own)."""
    probe = row
    if any(_path_problem(r.ref) for r in iter_refs(row)):
        probe = copy.deepcopy(row)
        for r in iter_refs(probe):
            if _path_problem(r.ref):
                r.ref["path"] = _SAFE_PLACEHOLDER
    try:
        validate_row(probe, where)
    except ManifestError as exc:
        return str(exc).removeprefix(f"{where}: ")
    except (TypeError, KeyError, AttributeError) as exc:  # a part of the wrong JSON type
        return f"malformed row ({type(exc).__name__}: {exc})"
    return None


def _row_label(manifest: Manifest, number: int, row: dict) -> str:
    return f"{manifest.rows_path.name} row {number} ({row.get('id', 'no id')})"


def _check_header(manifest: Manifest, result: ManifestResult) -> None:
    """The header's row count and rows hash against the rows file, and its bank list."""
    header, where = manifest.header, manifest.rows_path.name
    if header.get("num_rows") != len(manifest.rows):
        result.add(
            "header", where, f"header says num_rows {header.get('num_rows')!r}, the file has {len(manifest.rows)}"
        )
    if header.get("rows_sha256") != sha256_file(manifest.rows_path):
        result.add("header", where, f"the header's rows_sha256 does not match the rows: {rows_problem(manifest)}; "
                   "the rows were edited after the manifest was written")  # fmt: skip
    if not isinstance(header.get("banks"), dict):
        result.add("header", where, "header 'banks' must map bank names to {'fingerprint': ...}")


def _check_rows(manifest: Manifest, result: ManifestResult) -> None:
    """Structure, input paths, bank names, split and unique ids of every row."""
    header_banks = manifest.header.get("banks")
    listed = set(header_banks) if isinstance(header_banks, dict) else set()
    for number, row in enumerate(manifest.rows, 1):
        label = _row_label(manifest, number, row)
        problem = _structure_problem(row, label)
        if problem is not None:
            result.add("row", label, problem)
        for r in iter_refs(row):
            unsafe = _path_problem(r.ref)
            if unsafe is not None:
                result.add("path", f"{label} {r.where}", unsafe)
            if "bank" in r.ref and str(r.ref["bank"]) not in listed:
                result.add("header", f"{label} {r.where}", f"bank {r.ref['bank']!r} is not listed in the header")
        if "split" in row and row["split"] != manifest.split:
            result.add("split", label, f"row split {row['split']!r}, header split {manifest.split!r}")
    ids = Counter(str(row.get("id")) for row in manifest.rows if "id" in row)
    for row_id, n in sorted(ids.items()):
        if n > 1:
            result.add("id", manifest.rows_path.name, f"row id {row_id!r} is used by {n} rows")


class _InputCheck:
    """Checks manifests against opened banks: fingerprints, files and hashes, and recorded split groups."""

    def __init__(self, banks: BankSet):
        self.banks = banks
        self._index: dict[str, dict[str, AnyRecord]] = {}
        self._meshes = MeshCache()

    def _records(self, bank: Bank) -> dict[str, AnyRecord]:
        if bank.name not in self._index:
            self._index[bank.name] = records_by_path(bank)
        return self._index[bank.name]

    def check(self, manifest: Manifest, result: ManifestResult) -> None:
        header_banks = manifest.header.get("banks")
        where = manifest.rows_path.name
        missing = set()
        for name, info in sorted(header_banks.items() if isinstance(header_banks, dict) else []):
            try:
                self.banks.check_fingerprints({name: info if isinstance(info, dict) else {}}, where)
            except InputError as exc:
                result.add("bank", where, str(exc))
                if name not in self.banks.banks:
                    missing.add(name)
        for number, row in enumerate(manifest.rows, 1):
            label = _row_label(manifest, number, row)
            for r in iter_refs(row):
                bank_name = str(r.ref.get("bank"))
                if not all(k in r.ref for k in REF_KEYS) or _path_problem(r.ref) or bank_name in missing:
                    continue  # reported already (row, path or bank)
                if bank_name not in self.banks.banks:
                    missing.add(bank_name)
                    result.add("bank", f"{label} {r.where}", f"bank {bank_name!r} not found; pass it with --banks")
                    continue
                problem = self._ref_problem(r)
                if problem is not None:
                    result.add(problem[0], f"{label} {r.where}", problem[1])
            if "capture" in row and not missing:
                self._check_capture(row, label, result)

    def _check_capture(self, row: dict, label: str, result: ManifestResult) -> None:
        """Re-capture a row's scene and compare its targets' point-cloud queries with the recorded ones."""
        try:
            cap = scene_capture(row, self.banks, self._meshes)
        except (InputError, ValueError, KeyError, TypeError) as exc:
            result.add("pointcloud", label, f"cannot re-capture the scene: {exc}")
            return
        problem = check_pointcloud_capture(row, cap, label)
        if problem:
            result.add("pointcloud", label, problem)

    def _ref_problem(self, r: RowRef) -> tuple[str, str] | None:
        """(category, message) of a problem with one reference of a known bank (kind, file, hash, index entry,
        group), or None."""
        bank_name, path = ref_key(r.ref)
        bank = self.banks.bank(bank_name)
        if bank.kind != BANK_KIND[r.kind]:
            return ("input", f"bank {bank_name!r} is a {bank.kind!r} bank, not {BANK_KIND[r.kind]!r}")
        try:
            self.banks.resolve(r.ref)
        except InputError as exc:
            return ("input", str(exc))
        record = self._records(bank).get(path)
        if record is None:
            return ("input", f"{path} is not in the index of bank {bank_name!r}")
        if record.sha256 != r.ref["sha256"]:  # resolve() verifies each file once; later refs meet the index here
            return ("input", f"{path}: sha256 {str(r.ref['sha256'])[:12]}… differs from the bank index")
        if str(record.split_group) != str(r.ref["group"]):
            return (
                "group",
                f"{path}: recorded group {r.ref['group']!r}, bank {bank_name!r} says {record.split_group!r}",
            )
        return None


def _open_manifest(path: str | Path, result: ManifestResult) -> Manifest | None:
    """Read a manifest (missing files raise FileNotFoundError); an unreadable one is a schema violation."""
    rows_path, header_path = manifest_paths(path)
    for f in (header_path, rows_path):
        if not f.is_file():
            raise FileNotFoundError(f"{f}: no such manifest file")
    try:
        manifest = read_manifest(path, validate=False, verify=False)
    except ManifestError as exc:
        result.add("schema", header_path.name, str(exc))
        return None
    result.split, result.num_rows = str(manifest.split), len(manifest.rows)
    return manifest


def check_manifests(paths: Sequence[str | Path], banks: Sequence[str | Path] | BankSet | None = None) -> CheckReport:
    """Check every manifest of ``paths`` (and, given ``banks`` — bank folders or an opened :class:`BankSet` —
    their inputs), then the leakage between their splits. Raises FileNotFoundError for a missing manifest."""
    bank_set = open_bank_set(banks)
    inputs = _InputCheck(bank_set) if bank_set is not None else None
    leakage = LeakageIndex()
    report = CheckReport()
    for path in paths:
        result = ManifestResult(str(manifest_paths(path)[0]), None, 0)
        report.manifests.append(result)
        manifest = _open_manifest(path, result)
        if manifest is None:
            continue
        _check_header(manifest, result)
        _check_rows(manifest, result)
        if inputs is not None:
            inputs.check(manifest, result)
        for row in manifest.rows:
            leakage.add_row(str(manifest.split), row)
    report.leakage = [Violation("leak", leak.subject, leak.describe()) for leak in leakage.leaks()]
    return report
