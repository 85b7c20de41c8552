"""Paired comparisons on the same targets: ``foabench compare A B``.

A leaderboard puts each separator's mean beside the others' with its own interval; whether one separator beats
another is better asked target by target. :func:`paired_difference` takes the difference of a metric (SI-SDRi by
default) on every target both results scored, between two separators with one query type or between two query
types of one separator (``foabench compare R R --query audio --query-b text``), and gives its mean with a 95 %
percentile bootstrap interval that resamples mixtures, as every interval in foabench does
(:func:`~foabench.benchmark.breakdowns.bootstrap_ci`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from foabench.benchmark.breakdowns import bootstrap_ci, scored_rows
from foabench.benchmark.leaderboard import load_results

QUERY_CHOICES = ("audio", "text")


def paired_difference(rows_a: list[dict], rows_b: list[dict], metric: str = "si_sdri") -> dict:
    """Mean and bootstrap interval of ``metric(a) - metric(b)`` over the targets (mixture, event) that both row
    lists scored: ``{"mean", "ci", "n", "mixtures"}``. Give each list one query type."""
    for rows, which in ((rows_a, "A"), (rows_b, "B")):
        kinds = {r["query"] for r in rows}
        if len(kinds) > 1:
            raise ValueError(f"{which} mixes query types {sorted(kinds)}: filter the rows to one")
    other = {(r["mixture"], r["event"]): float(r[metric]) for r in scored_rows(rows_b, metric)}
    diffs = [{"mixture": r["mixture"], "diff": float(r[metric]) - other[(r["mixture"], r["event"])]}
             for r in scored_rows(rows_a, metric) if (r["mixture"], r["event"]) in other]  # fmt: skip
    if not diffs:
        raise ValueError("the two results have no scored target in common")
    return {"mean": round(float(np.mean([d["diff"] for d in diffs])), 3), "ci": bootstrap_ci(diffs, "diff"),
            "n": len(diffs), "mixtures": len({d["mixture"] for d in diffs})}  # fmt: skip


def compare_results(a: str | Path, b: str | Path, query: str = "audio", query_b: str | None = None,
                    metric: str = "si_sdri") -> dict:  # fmt: skip
    """:func:`paired_difference` of two results folders of ``foabench eval`` on the same manifest (the same
    folder twice compares two query types); adds the separators' names and the query types."""
    query_b = query_b or query
    results = load_results([a, b])  # refuses different manifests and incomplete results
    first, second = results[0], results[-1]
    rows_a = [r for r in first.rows if r["query"] == query]
    rows_b = [r for r in second.rows if r["query"] == query_b]
    for rows, res, kind in ((rows_a, first, query), (rows_b, second, query_b)):
        if not rows:
            raise ValueError(f"{res.path}: no {kind}-query rows")
    out = paired_difference(rows_a, rows_b, metric)
    return {"a": first.name, "b": second.name, "query_a": query, "query_b": query_b, "metric": metric, **out}


def format_comparison(c: dict) -> str:
    """``bsast-tiny (audio) - bsast-w-tiny (audio): si_sdri +1.23 dB [+0.80, +1.66] over 607 targets (300 ...)``."""
    ci = c["ci"]
    interval = f" [{ci[0]:+.2f}, {ci[1]:+.2f}]" if ci else ""
    return (f"{c['a']} ({c['query_a']}) - {c['b']} ({c['query_b']}): {c['metric']} {c['mean']:+.2f} dB{interval} "
            f"over {c['n']} targets ({c['mixtures']} mixtures)")  # fmt: skip


def _cmd_compare(args: argparse.Namespace) -> int:
    print(format_comparison(compare_results(args.a, args.b, args.query, args.query_b, args.metric)))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="paired difference of two results on the same targets, with its interval")
    p.add_argument("a", metavar="A", help="results folder of `foabench eval`")
    p.add_argument("b", metavar="B", help="results folder on the same manifest (A again: compare query types)")
    p.add_argument("--query", choices=QUERY_CHOICES, default="audio", help="A's query type (and B's by default)")
    p.add_argument("--query-b", choices=QUERY_CHOICES, default=None, help="B's query type (default: --query)")
    p.add_argument("--metric", default="si_sdri", choices=("si_sdri", "sdri", "si_sdr", "sdr"))
    p.set_defaults(func=_cmd_compare)
