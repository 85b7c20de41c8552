"""``foabench leaderboard``: tables, plots and an HTML report from results folders of ``foabench eval``."""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from pathlib import Path

from foabench.benchmark.leaderboard import Leaderboard
from foabench.synth.audio_io import atomic_write_text
from foabench.synth.cli_args import non_negative_int

#: what a leaderboard folder holds (all of it written by :func:`run_leaderboard`), and the record of its inputs
OUTPUTS = ("leaderboard.md", "leaderboard.csv", "leaderboard.json", "report.html", "plots", "audio", "maps")
INPUTS = ".foabench-leaderboard.json"


def _inputs(results: list) -> dict:
    """What a leaderboard was built from: each results folder, the run its rows belong to, and their count."""
    entries = []
    for r in results:
        run = r.provenance.get("run") or hashlib.sha256((r.path / "provenance.json").read_bytes()).hexdigest()[:16]
        entries.append({"results": str(r.path.resolve()), "run": run, "rows": len(r.rows)})
    return {"results": sorted(entries, key=lambda e: e["results"])}


def claim_leaderboard_folder(out: Path, inputs: dict, overwrite: bool = False) -> None:
    """Clear ``out`` for a leaderboard of ``inputs``: the previous outputs go (so no stale plot or listening
    file stays), but a leaderboard of other results is replaced only with ``overwrite``, and a folder holding
    anything else is refused and left alone."""
    if not out.is_dir():
        return
    names = {p.name for p in out.iterdir()}
    others = sorted(names - set(OUTPUTS) - {INPUTS})
    if others:
        raise ValueError(f"{out}: not a leaderboard folder (it holds {', '.join(others[:3])}"
                         f"{' ...' if len(others) > 3 else ''}); choose an empty or new --out")  # fmt: skip
    previous = json.loads((out / INPUTS).read_text()) if INPUTS in names else None
    if names and previous != inputs and not overwrite:
        what = "other results" if previous is not None else "results this foabench did not record"
        raise ValueError(f"{out} holds a leaderboard of {what}; pass --overwrite to replace it, or choose another "
                         "--out")  # fmt: skip
    (out / INPUTS).unlink(missing_ok=True)
    for name in OUTPUTS:
        target = out / name
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)


def run_leaderboard(paths: list[str | Path], out: str | Path, plots: bool = True, report: bool = True,
                    allow_mixed_manifests: bool = False, examples: int = 3, allow_incomplete: bool = False,
                    overwrite: bool = False) -> Leaderboard:  # fmt: skip
    """Read ``paths``, write the tables into ``out`` (and ``out/plots``, ``out/report.html``); returns the board.

    ``out`` is cleared of a previous leaderboard first (:func:`claim_leaderboard_folder`)."""
    from foabench.benchmark.leaderboard import build_leaderboard, load_results, write_tables

    results = load_results(paths, allow_mixed_manifests=allow_mixed_manifests, allow_incomplete=allow_incomplete)
    lb = build_leaderboard(results)
    out = Path(out)
    inputs = _inputs(results)
    claim_leaderboard_folder(out, inputs, overwrite)
    write_tables(lb, out)
    if plots:
        from foabench.benchmark.plots import write_plots

        write_plots(lb, out / "plots")
    if report:
        from foabench.benchmark.report import write_report

        write_report(results, lb, out, n_examples=examples)
    atomic_write_text(out / INPUTS, json.dumps(inputs, indent=2, sort_keys=True) + "\n")
    return lb


def _cmd_leaderboard(args: argparse.Namespace) -> int:
    from foabench.benchmark.leaderboard import format_markdown

    lb = run_leaderboard(args.results, args.out, plots=not args.no_plots, report=not args.no_report,
                         allow_mixed_manifests=args.allow_mixed_manifests, examples=args.examples,
                         allow_incomplete=args.allow_incomplete, overwrite=args.overwrite)  # fmt: skip
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
    p.add_argument("--examples", type=non_negative_int, default=3, help="listening examples (mixtures) in the report")
    p.add_argument(
        "--allow-mixed-manifests",
        action="store_true",
        help="put results of different manifests on one board (their scores are not comparable)",
    )
    p.add_argument(
        "--allow-incomplete",
        action="store_true",
        help="show unfinished or inconsistent results too, marked (incomplete) everywhere",
    )
    p.add_argument("--overwrite", action="store_true", help="replace a leaderboard of other results in --out")
    p.set_defaults(func=_cmd_leaderboard)
