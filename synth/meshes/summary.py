"""The summary of a mesh bank: its pools, meshes, sizes, licences, and the classes each pool stands for."""

from __future__ import annotations

from collections import Counter, defaultdict

from foabench.synth.banks.format import Bank


def format_mesh_summary(bank: Bank) -> str:
    """One line per pool (meshes, classes and how they match), then licences and what has no shape."""
    pools: dict[str, list] = defaultdict(list)
    for rec in bank.records:
        pools[rec.pool].append(rec)
    lines = [f"bank {bank.name!r} at {bank.root} (meshes)"]
    for pool, recs in sorted(pools.items()):
        by_match: dict[str, list[str]] = defaultdict(list)
        for label, match in sorted(recs[0].classes.items()):
            by_match[match].append(label)
        shown = "; ".join(f"{m}: {', '.join(labels)}" for m, labels in sorted(by_match.items()))
        heights = ", ".join(f"{r.name} {r.size_m[2]:.2f} m" for r in sorted(recs, key=lambda r: r.path))
        lines.append(f"{pool} ({len(recs)} meshes; {shown}): {heights}")
    licences = Counter(r.license for r in bank.records)
    lines.append("licences: " + ", ".join(f"{k} ({v})" for k, v in sorted(licences.items())))
    lines.append("classes without a shape: " + (", ".join(bank.header.get("classes_without_shape", [])) or "none"))
    lines.append(f"fingerprint {bank.fingerprint}")
    return "\n".join(lines)
