"""The result of ``foabench manifests check``: violations per manifest plus cross-split leakage, as text or JSON."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple

MAX_PRINTED_PER_CATEGORY = 20

# Violation categories, in the order a report lists them.
CATEGORIES = {
    "schema": "the manifest cannot be read (missing or newer schema version, malformed JSON)",
    "header": "the header does not describe the rows file (num_rows, rows_sha256, banks)",
    "row": "a row is malformed (validate_row)",
    "path": "an input path is absolute or leaves its bank root",
    "id": "a row id is used twice",
    "split": "a row's split differs from the header's split",
    "bank": "a bank named by the header is missing or its fingerprint differs",
    "input": "an input file is missing, changed (sha256) or not in its bank's index",
    "group": "an input's recorded split group differs from its bank's record",
    "leak": "an input group or file is used by two splits",
    "pointcloud": "a point-cloud query differs from a re-capture of its scene (edited, or other meshes)",
}


class Violation(NamedTuple):
    """One problem: its category (a key of :data:`CATEGORIES`), where it is, and what is wrong."""

    category: str
    where: str
    message: str


@dataclass
class ManifestResult:
    """What was found in one manifest."""

    path: str
    split: str | None
    num_rows: int
    violations: list[Violation] = field(default_factory=list)

    def add(self, category: str, where: str, message: str) -> None:
        self.violations.append(Violation(category, where, message))


@dataclass
class CheckReport:
    """All manifests checked together: per-manifest results and the cross-split leakage violations."""

    manifests: list[ManifestResult] = field(default_factory=list)
    leakage: list[Violation] = field(default_factory=list)

    @property
    def violations(self) -> list[Violation]:
        return [v for m in self.manifests for v in m.violations] + self.leakage

    @property
    def num_rows(self) -> int:
        return sum(m.num_rows for m in self.manifests)

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def counts(self) -> dict[str, int]:
        """Number of violations per category (categories with none left out)."""
        counts = Counter(v.category for v in self.violations)
        return {c: counts[c] for c in (*CATEGORIES, *sorted(set(counts) - set(CATEGORIES))) if counts[c]}

    def to_dict(self) -> dict:
        """Machine-readable form (every violation, uncapped)."""

        def listed(vs: list[Violation]) -> list[dict]:
            return [v._asdict() for v in vs]

        return {
            "ok": self.ok,
            "num_manifests": len(self.manifests),
            "num_rows": self.num_rows,
            "num_violations": len(self.violations),
            "counts": self.counts,
            "manifests": [
                {"path": m.path, "split": m.split, "num_rows": m.num_rows, "violations": listed(m.violations)}
                for m in self.manifests
            ],
            "leakage": listed(self.leakage),
        }


def _format_violations(violations: list[Violation], cap: int) -> list[str]:
    """Lines for ``violations`` grouped by category, at most ``cap`` per category plus a count of the rest."""
    by_category: dict[str, list[Violation]] = {}
    for v in violations:
        by_category.setdefault(v.category, []).append(v)
    order = [c for c in CATEGORIES if c in by_category] + sorted(set(by_category) - set(CATEGORIES))
    lines = []
    for category in order:
        items = by_category[category]
        lines.append(f"  {category}: {len(items)} violation(s) — {CATEGORIES.get(category, category)}")
        lines += [f"    {v.where}: {v.message}" for v in items[:cap]]
        if len(items) > cap:
            lines.append(f"    ... and {len(items) - cap} more {category} violation(s)")
    return lines


def format_report(report: CheckReport, cap: int = MAX_PRINTED_PER_CATEGORY) -> str:
    """Readable report: one section per manifest, a cross-split leakage section and a verdict line."""
    lines = []
    for m in report.manifests:
        split = m.split if m.split is not None else "?"
        lines.append(f"== {m.path} (split {split}, {m.num_rows} rows) ==")
        lines += _format_violations(m.violations, cap) or ["  ok"]
    splits = sorted({m.split for m in report.manifests if m.split is not None})
    lines.append(f"== cross-split leakage ({', '.join(splits) or 'no splits'}) ==")
    if report.leakage:
        lines += _format_violations(report.leakage, cap)
    elif len(splits) < 2:
        lines.append("  ok (fewer than two splits given: nothing to compare)")
    else:
        lines.append("  ok: the splits are disjoint in source groups, rooms, noise groups and meshes")
    if report.ok:
        lines.append(f"OK: {len(report.manifests)} manifests, {report.num_rows} rows, no violations")
    else:
        counts = ", ".join(f"{c} {n}" for c, n in report.counts.items())
        lines.append(f"FAILED: {len(report.violations)} violations ({counts})")
    return "\n".join(lines)
