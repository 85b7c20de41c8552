"""Human-readable summaries of a bank: per-class clip counts and durations, licences, size on disk."""

from __future__ import annotations

from collections import Counter, defaultdict

from foabench.synth.banks.format import Bank


def class_table(bank: Bank) -> list[dict]:
    """One row per class: clips, split groups, total and mean duration (a multi-label clip counts for each)."""
    clips: dict[str, list[float]] = defaultdict(list)
    groups: dict[str, set[str]] = defaultdict(set)
    for rec in bank.records:
        for label in rec.labels:
            clips[label].append(rec.duration)
            groups[label].add(rec.split_group)
    return [
        {
            "class": label,
            "clips": len(d),
            "groups": len(groups[label]),
            "total_s": sum(d),
            "mean_s": sum(d) / len(d),
        }
        for label, d in sorted(clips.items())
    ]


def bank_size_bytes(bank: Bank) -> int:
    return sum(bank.resolve(r.path).stat().st_size for r in bank.records)


def format_summary(bank: Bank) -> str:
    """The per-class summary printed by ``foabench bank summary`` and the demo."""
    rows = class_table(bank)
    width = max([len("class")] + [len(r["class"]) for r in rows])
    lines = [
        f"bank {bank.name!r} at {bank.root} ({bank.kind}, {bank.sample_rate} Hz)",
        f"{'class':<{width}}  {'clips':>5}  {'groups':>6}  {'total s':>8}  {'mean s':>6}",
    ]
    lines += [
        f"{r['class']:<{width}}  {r['clips']:>5}  {r['groups']:>6}  {r['total_s']:>8.1f}  {r['mean_s']:>6.2f}"
        for r in rows
    ]
    total = sum(r.duration for r in bank.records)
    lines.append(
        f"{len(rows)} classes, {len(bank.records)} clips, {total / 60:.1f} min of audio, "
        f"{bank_size_bytes(bank) / 1e6:.1f} MB on disk"
    )
    licences = Counter(r.license for r in bank.records)
    lines.append("licences: " + ", ".join(f"{k} ({v})" for k, v in sorted(licences.items())))
    skipped = bank.header.get("skipped") or {}
    if skipped:
        lines.append(
            "skipped at import: " + ", ".join(f"{k} ({v})" for k, v in skipped.items()) + " — see skipped.jsonl"
        )
    lines.append(f"fingerprint {bank.fingerprint}")
    return "\n".join(lines)
