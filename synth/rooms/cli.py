"""``foabench bank rooms`` (simulated FOA RIRs) and the measured-RIR importers."""

from __future__ import annotations

import argparse
from pathlib import Path

from foabench.synth.banks.format import Bank
from foabench.synth.cli_args import positive_int
from foabench.synth.rooms.summary import format_rir_summary

_RANGES = ("length", "width", "height", "rt60", "distance", "mic_height")


def _cmd_rooms(args: argparse.Namespace) -> int:
    from foabench.synth.rooms.bank import build_room_bank
    from foabench.synth.rooms.sampler import RoomSpec

    spec = RoomSpec.from_file(args.spec) if args.spec else RoomSpec()
    overrides = {k: getattr(args, k) for k in ("rooms", "rirs_per_room", "seed", "wall_margin", "ism_order")}
    overrides |= {k: tuple(getattr(args, k)) for k in _RANGES if getattr(args, k) is not None}
    overrides |= {"sample_rate": args.sample_rate, "max_length_s": args.max_length}
    if args.profiles:
        overrides["profiles"] = tuple(args.profiles)
    spec = RoomSpec.from_dict({**spec.to_dict(), **{k: v for k, v in overrides.items() if v is not None}})
    build_room_bank(args.out, spec, name=args.name, workers=args.workers, progress=not args.no_progress)
    print(format_rir_summary(Bank.open(Path(args.out), kind="rirs")))
    return 0


def register(cmds: argparse._SubParsersAction) -> None:
    """Add the RIR bank commands to ``foabench bank``."""
    from foabench.synth.rooms.importers.cli import register_rir_importers

    p = cmds.add_parser(
        "rooms",
        help="simulate a bank of AmbiX FOA room impulse responses (shoebox image sources + diffuse tail)",
        description="Rooms, reverberation and positions are drawn from ranges (a JSON --spec file and/or the "
        "options below; options override the file). The same spec and seed give the same bank.",
    )
    p.add_argument("--out", default="foabench-data/banks/rooms", help="bank directory")
    p.add_argument("--name", default="rooms", help="bank name (default: rooms)")
    p.add_argument("--spec", default=None, help="JSON file with RoomSpec fields")
    p.add_argument("--rooms", type=positive_int, default=None, help="number of rooms (default 12)")
    p.add_argument("--rirs-per-room", type=positive_int, default=None, help="source positions per room (default 4)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default 0)")
    ranges = {
        "length": "room length range, m (default 3 10)",
        "width": "room width range, m (default 3 8)",
        "height": "room height range, m (default 2.5 4)",
        "rt60": "mid-frequency RT60 range, s (default 0.2 1.0)",
        "distance": "source-microphone distance range, m (default 1 3)",
        "mic_height": "microphone height range, m (default 1 2)",
    }
    for key, text in ranges.items():
        p.add_argument(f"--{key.replace('_', '-')}", type=float, nargs=2, metavar=("LOW", "HIGH"), help=text)
    p.add_argument("--profiles", nargs="+", default=None, help="absorption profiles to draw from")
    p.add_argument("--wall-margin", type=float, default=None, help="minimum distance to every wall, m (0.5)")
    p.add_argument("--ism-order", type=int, default=None, help="image-source reflection order (default 12)")
    p.add_argument("--sample-rate", type=positive_int, default=None, help="Hz (default 32000)")
    p.add_argument("--max-length", type=float, default=None, help="longest RIR in seconds (default 2)")
    p.add_argument("--workers", type=positive_int, default=None, help="worker processes (default: up to 4)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.set_defaults(func=_cmd_rooms)
    register_rir_importers(cmds)
