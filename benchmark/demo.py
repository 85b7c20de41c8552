"""``foabench demo``: the main job end to end on the embedded starter bank.

Today: build the starter source bank and print its per-class summary. Later stages (RIR and noise banks,
scenes, training, evaluation, leaderboard) extend this same command.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from synth.bank import Bank
from synth.bank_summary import format_summary


def run_demo(workdir: Path, workers: int | None = None, progress: bool = True) -> int:
    from synth.starter.build import build_starter_bank

    t0 = time.perf_counter()
    bank_dir = workdir / "banks" / "starter"
    build_starter_bank(bank_dir, workers=workers, progress=progress)
    print(format_summary(Bank.open(bank_dir)))
    print(f"[demo] starter bank built in {time.perf_counter() - t0:.1f} s")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    return run_demo(Path(args.workdir), workers=args.workers, progress=not args.no_progress)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the main job end to end on the starter bank")
    p.add_argument("--workdir", default="foabench-data", help="where banks and outputs go")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_demo)
