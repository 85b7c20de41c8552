"""Disjoint splits of the banks: every split group, room and noise group belongs to exactly one split.

Assignment is deterministic and independent of file-system order: within a stratum, groups are ordered by
``sha256(split_seed, kind, bank, group)`` and dealt out by the split fractions (largest remainder, and at
least one group per split whenever the stratum has as many groups as there are splits). Source groups are
stratified by their dominant class, so every class appears in every split it can; rooms and noise groups
form one stratum per bank; meshes (each its own group) are stratified by their pool.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from foabench.synth.banks.format import Bank

GroupKey = tuple[str, str]  # (bank name, group)


def _order_key(seed: int, kind: str, bank: str, group: str) -> str:
    return hashlib.sha256(f"{seed}\x00{kind}\x00{bank}\x00{group}".encode()).hexdigest()


def split_counts(n: int, fractions: list[tuple[str, float]]) -> dict[str, int]:
    """How many of ``n`` groups each split gets (largest remainder; each split >= 1 when n allows)."""
    total = sum(f for _, f in fractions)
    exact = [(name, n * f / total) for name, f in fractions]
    counts = {name: math.floor(x) for name, x in exact}
    for name, _ in sorted(exact, key=lambda t: (-(t[1] - math.floor(t[1])), t[0]))[: n - sum(counts.values())]:
        counts[name] += 1
    if n >= len(fractions):
        for name in counts:
            while counts[name] == 0:
                donor = max(counts, key=lambda k: counts[k])
                counts[donor] -= 1
                counts[name] += 1
    return counts


def deal(groups: Iterable[str], fractions: list[tuple[str, float]], seed: int, kind: str, bank: str) -> dict[str, str]:
    """Assign each group of one stratum to a split."""
    ordered = sorted(set(groups), key=lambda g: _order_key(seed, kind, bank, g))
    out: dict[str, str] = {}
    i = 0
    for name, count in split_counts(len(ordered), fractions).items():
        for g in ordered[i : i + count]:
            out[g] = name
        i += count
    return out


@dataclass
class SplitPlan:
    """Which split every (bank, group) of each input kind belongs to."""

    fractions: list[tuple[str, float]]
    seed: int
    sources: dict[GroupKey, str] = field(default_factory=dict)
    rooms: dict[GroupKey, str] = field(default_factory=dict)
    noise: dict[GroupKey, str] = field(default_factory=dict)
    meshes: dict[GroupKey, str] = field(default_factory=dict)

    def names(self) -> list[str]:
        return [name for name, _ in self.fractions]


def plan_splits(banks: Iterable[Bank], fractions: list[tuple[str, float]], seed: int) -> SplitPlan:
    """Assign every group of every bank to a split (sources by dominant class, rooms, noise groups, meshes)."""
    plan = SplitPlan(list(fractions), seed)
    for bank in sorted(banks, key=lambda b: b.name):
        if bank.kind == "sources":
            labels: dict[str, Counter] = defaultdict(Counter)
            for rec in bank.records:
                labels[rec.split_group][rec.labels[0] if rec.labels else ""] += 1
            strata: dict[str, list[str]] = defaultdict(list)
            for group, counts in labels.items():
                top = max(counts.values())
                strata[min(c for c, k in counts.items() if k == top)].append(group)
            for label, groups in sorted(strata.items()):
                for g, s in deal(groups, fractions, seed, f"sources:{label}", bank.name).items():
                    plan.sources[(bank.name, g)] = s
        elif bank.kind == "rirs":
            rooms = [rec.room for rec in bank.records]
            plan.rooms.update({(bank.name, g): s for g, s in deal(rooms, fractions, seed, "rirs", bank.name).items()})
        elif bank.kind == "meshes":  # a mesh is its own group, stratified by pool (like clips by class)
            pools: dict[str, list[str]] = defaultdict(list)
            for rec in bank.records:
                pools[rec.pool].append(rec.split_group)
            for pool, groups in sorted(pools.items()):
                for g, s in deal(groups, fractions, seed, f"meshes:{pool}", bank.name).items():
                    plan.meshes[(bank.name, g)] = s
        else:
            groups = [rec.split_group for rec in bank.records]
            plan.noise.update({(bank.name, g): s for g, s in deal(groups, fractions, seed, "noise", bank.name).items()})
    return plan
