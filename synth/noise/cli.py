"""``foabench bank noise ...``: diffuse noise banks from mono recordings and measured 4-channel ambience."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from foabench.synth.cli_args import positive_int
from foabench.synth.foa import CONVENTIONS

if TYPE_CHECKING:
    from foabench.synth.noise.bank import NoiseSettings

LABEL_CSV_HELP = "label CSV: path,labels[,caption,license,attribution,group] (labels separated by ';')"


def _settings(args: argparse.Namespace) -> NoiseSettings:
    from foabench.synth.noise.bank import NoiseSettings

    return NoiseSettings(sample_rate=args.sample_rate, min_duration_s=args.min_duration, seed=args.seed)


def _finish(root: str | Path) -> int:
    from foabench.synth.banks.format import Bank
    from foabench.synth.noise.bank import format_noise_summary

    print(format_noise_summary(Bank.open(root, kind="noise")))
    return 0


def _import(args: argparse.Namespace, measured: bool) -> int:
    from foabench.synth.noise.bank import import_noise_folder

    import_noise_folder(
        args.dir,
        args.labels,
        args.out,
        measured=measured,
        convention=getattr(args, "convention", None),
        name=args.name,
        settings=_settings(args),
        default_license=args.license,
        default_attribution=args.attribution,
        workers=args.workers,
        progress=not args.no_progress,
    )
    return _finish(args.out)


def _cmd_noise(args: argparse.Namespace) -> int:
    return _import(args, measured=False)


def _cmd_ambience(args: argparse.Namespace) -> int:
    return _import(args, measured=True)


def _cmd_starter(args: argparse.Namespace) -> int:
    from foabench.synth.noise.starter import build_starter_noise_bank

    build_starter_noise_bank(
        args.out, sample_rate=args.sample_rate, seed=args.seed, progress=not args.no_progress, workers=args.workers
    )
    return _finish(args.out)


def _common(p: argparse.ArgumentParser, folder: bool = True) -> None:
    if folder:
        p.add_argument("--labels", required=True, help=LABEL_CSV_HELP)
        p.add_argument("--name", default=None, help="bank name (default: folder name)")
        p.add_argument("--license", default="unknown", help="licence for rows without one")
        p.add_argument("--attribution", default="", help="attribution for rows without one")
    p.add_argument("--seed", type=int, default=0, help="bank seed; each clip's encoding seed derives from it")
    p.add_argument("--sample-rate", type=positive_int, default=32000, help="bank sample rate in Hz (default 32000)")
    p.add_argument("--min-duration", type=float, default=1.0, help="shortest clip kept, s (default 1.0)")
    p.add_argument("--workers", type=positive_int, default=None, help="worker processes (default: up to 4)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")


def register(cmds: argparse._SubParsersAction) -> None:
    """Add the noise bank commands to ``foabench bank``."""
    p = cmds.add_parser(
        "noise",
        help="noise bank from mono (or stereo, averaged) recordings, each encoded as a diffuse AmbiX field",
    )
    p.add_argument("dir", help="folder of noise recordings")
    p.add_argument("--out", required=True, help="bank directory")
    _common(p)
    p.set_defaults(func=_cmd_noise)

    p = cmds.add_parser(
        "noise-ambience",
        help="noise bank from measured 4-channel FOA ambience, converted to AmbiX from a declared convention",
    )
    p.add_argument("dir", help="folder of 4-channel FOA recordings")
    p.add_argument("--out", required=True, help="bank directory")
    p.add_argument(
        "--convention",
        default=None,
        help=f"FOA convention of the files ({', '.join(CONVENTIONS)}); a 'convention' CSV column overrides it",
    )
    _common(p)
    p.set_defaults(func=_cmd_ambience)

    p = cmds.add_parser("noise-starter", help="build the embedded starter noise bank from Debian sound packages")
    p.add_argument("--out", default="foabench-data/banks/noise", help="bank directory")
    _common(p, folder=False)
    p.set_defaults(func=_cmd_starter)
