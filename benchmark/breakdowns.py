"""Result summaries: means with bootstrap confidence intervals, and breakdowns by scene property.

Rows are those of ``rows.jsonl`` (:mod:`foabench.benchmark.evaluate`). Rows with a silent reference are left out.

Confidence intervals are percentile bootstraps of the mean that resample **mixtures**, not rows: the targets
and query types of one mixture share its room, noise and interferers, so resampling rows would pretend they
are independent and give intervals that are too narrow. The resampling is seeded, so a summary is
reproducible.

DCASE's class-aware scores of separators that label their output are summarised in
:mod:`foabench.benchmark.labelled_eval`.

Breakdowns (:data:`BREAKDOWNS`) put every row in one bin per property: its class, number of sources, number
of interferers, RT60 and DRR of its RIR, its SNR, and its query type.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np

CI_LEVEL = 0.95
BOOTSTRAP = 1000
SUMMARY_METRICS = ("si_sdr", "sdr", "si_sdri", "sdri")


def _bin(value: float | None, edges: tuple[float, ...], unit: str) -> str:
    """``"<a unit"``, ``"a-b unit"`` or ``">=b unit"`` for ``value``; ``"unknown"`` for ``None``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "unknown"
    if value < edges[0]:
        return f"<{edges[0]:g} {unit}"
    for lo, hi in itertools.pairwise(edges):
        if value < hi:
            return f"{lo:g}-{hi:g} {unit}"
    return f">={edges[-1]:g} {unit}"


RT60_EDGES = (0.3, 0.6, 0.9)
DRR_EDGES = (0.0, 5.0, 10.0)
SNR_EDGES = (5.0, 10.0, 15.0, 20.0)

#: property name -> the bin of a result row
BREAKDOWNS: dict[str, Callable[[dict], str]] = {
    "class": lambda r: str(r["label"]),
    "sources": lambda r: str(r["n_sources"]),
    "interferers": lambda r: str(r["n_interferers"]),
    "rt60": lambda r: _bin(r.get("rt60"), RT60_EDGES, "s"),
    "drr": lambda r: _bin(r.get("drr_db"), DRR_EDGES, "dB"),
    "snr": lambda r: _bin(r.get("snr_db"), SNR_EDGES, "dB"),
    "query": lambda r: str(r["query"]),
}


def scored_rows(rows: list[dict], metric: str) -> list[dict]:
    """The rows with a score for ``metric`` and a non-silent reference."""
    return [r for r in rows if not r.get("silent_reference") and r.get(metric) is not None]


def bootstrap_ci(rows: list[dict], metric: str, n_boot: int = BOOTSTRAP, level: float = CI_LEVEL,
                 seed: int = 0) -> tuple[float, float] | None:  # fmt: skip
    """Percentile bootstrap interval of the mean of ``metric``, resampling mixtures; ``None`` for < 2 mixtures."""
    rows = scored_rows(rows, metric)
    groups: dict[str, list[float]] = {}
    for r in rows:
        groups.setdefault(r["mixture"], []).append(float(r[metric]))
    if len(groups) < 2:
        return None
    sums = np.array([sum(v) for v in groups.values()])
    counts = np.array([len(v) for v in groups.values()])
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(groups), size=(n_boot, len(groups)))
    means = sums[picks].sum(1) / counts[picks].sum(1)
    alpha = (1 - level) / 2
    lo, hi = np.quantile(means, [alpha, 1 - alpha])
    return round(float(lo), 3), round(float(hi), 3)


def mean_with_ci(rows: list[dict], metric: str) -> dict:
    """``{"mean", "ci", "n"}`` of ``metric`` over the rows with a non-silent reference."""
    vals = [float(r[metric]) for r in scored_rows(rows, metric)]
    mean = round(float(np.mean(vals)), 3) if vals else None
    return {"mean": mean, "ci": bootstrap_ci(rows, metric), "n": len(vals)}


def breakdown(rows: list[dict], by: str, metric: str = "si_sdri") -> dict[str, dict]:
    """``{bin: {"mean", "ci", "n"}}`` of ``metric`` per bin of property ``by`` (:data:`BREAKDOWNS`)."""
    if by not in BREAKDOWNS:
        raise ValueError(f"unknown breakdown {by!r}; known: {', '.join(BREAKDOWNS)}")
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(BREAKDOWNS[by](r), []).append(r)
    return {k: mean_with_ci(v, metric) for k, v in sorted(groups.items(), key=lambda kv: bin_sort_key(kv[0]))}


def bin_sort_key(label: str) -> tuple:
    """Numeric bins in numeric order ("<5 dB" < "5-10 dB" < ">=20 dB"), then text labels alphabetically."""
    head = label.lstrip("<>=").split("-")[0].split(" ")[0]
    try:
        number = float(head)
    except ValueError:
        return (1, label)
    return (0, number - (0.5 if label.startswith("<") else 0.0) + (0.5 if label.startswith(">=") else 0.0), label)


def summarize_rows(rows: list[dict]) -> dict:
    """Per query type: counts, every metric's mean with its interval, and every breakdown of SI-SDRi."""
    out: dict = {"rows": len(rows), "by_query": {}}
    for kind in sorted({r["query"] for r in rows}):
        sel = [r for r in rows if r["query"] == kind]
        ok = [r for r in sel if not r.get("silent_reference")]
        entry: dict = {"n": len(ok), "silent_references": len(sel) - len(ok)}
        for m in (*SUMMARY_METRICS, "mixture_si_sdr", "mixture_sdr"):
            stats = mean_with_ci(sel, m)
            entry[m] = stats["mean"]
            if m in SUMMARY_METRICS:
                entry[f"{m}_ci"] = stats["ci"]
        entry["breakdowns"] = {by: breakdown(sel, by) for by in BREAKDOWNS if by != "query"}
        out["by_query"][kind] = entry
    return out
