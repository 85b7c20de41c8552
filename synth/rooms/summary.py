"""A human-readable summary of an RIR bank: rooms, direction coverage, RT60 and DRR ranges."""

from __future__ import annotations

import math
from collections import Counter

from foabench.synth.banks.format import Bank, RirRecord

AZIMUTH_SECTORS = 8  # 45-degree sectors
MAX_LISTED_ROOMS = 12


def _span(values: list[float | None], unit: str, digits: int = 1) -> str:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return "n/a"
    return f"{min(finite):.{digits}f} .. {max(finite):.{digits}f} {unit} ({len(finite)} of {len(values)})"


def azimuth_coverage(records: list[RirRecord], sectors: int = AZIMUTH_SECTORS) -> str:
    """Counts per azimuth sector, from the front counter-clockwise, e.g. ``'0:3 45:0 90:2 ...'``."""
    width = 360.0 / sectors
    counts = Counter(int(((r.azimuth + width / 2) % 360.0) // width) for r in records)
    return " ".join(
        f"{round(i * width) if i * width <= 180 else round(i * width - 360)}:{counts[i]}" for i in range(sectors)
    )


def format_rir_summary(bank: Bank) -> str:
    """The summary printed after an RIR import: counts, rooms, conventions, directions, RT60 and DRR."""
    records: list[RirRecord] = list(bank.records)  # type: ignore[arg-type]
    rooms = Counter(r.room for r in records)
    conventions = Counter(r.source_convention for r in records)
    simulated = sum(1 for r in records if r.simulated)
    listed = ", ".join(f"{k} ({v})" for k, v in sorted(rooms.items())[:MAX_LISTED_ROOMS])
    if len(rooms) > MAX_LISTED_ROOMS:
        listed += f", ... {len(rooms) - MAX_LISTED_ROOMS} more"
    lines = [
        f"bank {bank.name!r} at {bank.root} ({bank.kind}, {bank.sample_rate} Hz)",
        f"{len(records)} RIRs in {len(rooms)} rooms ({len(records) - simulated} measured, {simulated} simulated)",
        f"rooms: {listed}",
        "source conventions: " + ", ".join(f"{k} ({v})" for k, v in sorted(conventions.items())),
        f"azimuth: {_span([r.azimuth for r in records], 'deg')}; per 45-deg sector: {azimuth_coverage(records)}",
        f"elevation: {_span([r.elevation for r in records], 'deg')}",
        f"distance: {_span([r.distance for r in records], 'm', 2)}",
        f"RT60 (500 Hz-1 kHz): {_span([r.rt60_measured for r in records], 's', 2)}",
        f"DRR: {_span([r.drr_db for r in records], 'dB')}",
        f"length: {_span([r.duration for r in records], 's', 3)}",
    ]
    doa_checks = [r.extra["direct_doa_error_deg"] for r in records if "direct_doa_error_deg" in r.extra]
    if doa_checks:
        lines.append(f"recorded vs direct-path intensity direction: {_span(doa_checks, 'deg')}")
    skipped = bank.header.get("skipped") or {}
    if skipped:
        lines.append(
            "skipped at import: " + ", ".join(f"{k} ({v})" for k, v in skipped.items()) + " — see skipped.jsonl"
        )
    lines.append(f"fingerprint {bank.fingerprint}")
    return "\n".join(lines)
