"""``foabench demo``: the main job end to end on the embedded starter bank.

Today: build the starter source bank, a simulated room bank (AmbiX RIRs) and the starter diffuse noise bank,
and print their summaries. Later stages (scenes, training, evaluation, leaderboard) extend this command.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from synth.bank import Bank
from synth.bank_summary import format_summary

DEMO_ROOMS = 12
DEMO_RIRS_PER_ROOM = 4


def run_demo(workdir: Path, workers: int | None = None, progress: bool = True) -> int:
    from synth.noise_bank import format_noise_summary
    from synth.rir_summary import format_rir_summary
    from synth.room_bank import build_room_bank
    from synth.room_sampler import RoomSpec
    from synth.starter.build import build_starter_bank
    from synth.starter.noise import build_starter_noise_bank

    banks = workdir / "banks"
    t0 = time.perf_counter()
    build_starter_bank(banks / "starter", workers=workers, progress=progress)
    print(format_summary(Bank.open(banks / "starter")))
    t1 = time.perf_counter()
    print(f"[demo] starter source bank built in {t1 - t0:.1f} s\n")

    spec = RoomSpec(rooms=DEMO_ROOMS, rirs_per_room=DEMO_RIRS_PER_ROOM, seed=0)
    build_room_bank(banks / "rooms", spec, workers=workers, progress=progress)
    print(format_rir_summary(Bank.open(banks / "rooms", kind="rirs")))
    t2 = time.perf_counter()
    print(f"[demo] simulated room bank built in {t2 - t1:.1f} s\n")

    build_starter_noise_bank(banks / "noise", workers=workers, progress=progress)
    print(format_noise_summary(Bank.open(banks / "noise", kind="noise")))
    print(f"[demo] starter noise bank built in {time.perf_counter() - t2:.1f} s")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    return run_demo(Path(args.workdir), workers=args.workers, progress=not args.no_progress)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the main job end to end on the starter bank")
    p.add_argument("--workdir", default="foabench-data", help="where banks and outputs go")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_demo)
