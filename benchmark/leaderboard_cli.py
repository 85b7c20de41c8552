"""``foabench leaderboard``: tables, plots and an HTML report from results folders of ``foabench eval``."""

from __future__ import annotations

import argparse
from pathlib import Path

from foabench.benchmark.leaderboard import Leaderboard


def run_leaderboard(paths: list[str | Path], out: str | Path, plots: bool = True, report: bool = True,
                    allow_mixed_manifests: bool = False, examples: int = 3) -> Leaderboard:  # fmt: skip
    """Read ``paths``, write the tables into ``out`` (and ``out/plots``, ``out/report.html``); returns the board."""
    from foabench.benchmark.leaderboard import build_leaderboard, load_results, write_tables

    results = load_results(paths, allow_mixed_manifests=allow_mixed_manifests)
    lb = build_leaderboard(results)
    out = Path(out)
    write_tables(lb, out)
    if plots:
        from foabench.benchmark.plots import write_plots

        write_plots(lb, out / "plots")
    if report:
        from foabench.benchmark.report import write_report

        write_report(results, lb, out, n_examples=examples)
    return lb


def _cmd_leaderboard(args: argparse.Namespace) -> int:
    from foabench.benchmark.leaderboard import format_markdown

    lb = run_leaderboard(args.results, args.out, plots=not args.no_plots, report=not args.no_report,
                         allow_mixed_manifests=args.allow_mixed_manifests, examples=args.examples)  # fmt: skip
    print(format_markdown(lb))
    out = Path(args.out)
    print(f"\ntables: {out / 'leaderboard.md'}, {out / 'leaderboard.csv'}, {out / 'leaderboard.json'}")
    if not args.no_report:
        print(f"report: {out / 'report.html'}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "leaderboard",
        help="rank evaluated separators: Markdown/CSV/JSON tables, plots and a static HTML report",
        description="RESULTS: folders written by `foabench eval --out`, or a folder holding such folders. "
        "Separators are ranked by audio-query SI-SDRi; oracle separators and bounds are listed apart, unranked.",
    )
    p.add_argument("results", nargs="+", metavar="RESULTS", help="results folders (or folders of them)")
    p.add_argument("--out", required=True, metavar="DIR", help="where to write the tables, plots and report")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.add_argument("--no-report", action="store_true", help="skip report.html and its audio")
    p.add_argument("--examples", type=int, default=3, help="listening examples (mixtures) in the report")
    p.add_argument(
        "--allow-mixed-manifests",
        action="store_true",
        help="put results of different manifests on one board (their scores are not comparable)",
    )
    p.set_defaults(func=_cmd_leaderboard)
