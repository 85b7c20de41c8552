"""``foabench bank rir-folder | sofa | tau-srir | dcase2025-rooms``: import measured first-order RIRs.

Every command converts to AmbiX once, records the source convention, and ends with the bank's summary.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from foabench.synth.banks.format import Bank
from foabench.synth.cli_args import positive_int
from foabench.synth.rooms.summary import format_rir_summary


def _common(p: argparse.ArgumentParser, license_default: str | None = "unknown", name: bool = True) -> None:
    """--out, --sample-rate, --resample, --no-progress and (with ``name``) --name, --license, --attribution."""
    p.add_argument("--out", required=True, help="bank directory")
    p.add_argument("--sample-rate", type=positive_int, default=32000, help="bank sample rate in Hz (default 32000)")
    p.add_argument(
        "--resample",
        action="store_true",
        help="resample RIRs at another rate with soxr (default: such a file is an error)",
    )
    if name:
        p.add_argument("--name", default=None, help="bank name")
        shown = license_default or "the file's License attribute, else unknown"
        p.add_argument("--license", default=license_default, help=f"licence (default: {shown})")
        p.add_argument("--attribution", default=None, help="attribution")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")


def _convention(p: argparse.ArgumentParser, help_text: str) -> None:
    p.add_argument("--convention", default=None, help=f"{help_text} (ambix, fuma, n3d or orthonormal)")


def _sources_relative(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--sources-relative",
        action="store_true",
        help="SourcePosition is already relative to the listener (default: SourcePosition - ListenerPosition)",
    )


def _finish(out: str) -> int:
    print(format_rir_summary(Bank.open(Path(out), kind="rirs")))
    return 0


def _cmd_rir_folder(args: argparse.Namespace) -> int:
    from foabench.synth.rooms.importers.folder import import_rir_folder

    import_rir_folder(
        args.dir,
        args.positions,
        args.out,
        convention=args.convention,
        sample_rate=args.sample_rate,
        resample=args.resample,
        name=args.name,
        default_license=args.license,
        default_attribution=args.attribution or "",
        progress=not args.no_progress,
    )
    return _finish(args.out)


def _cmd_sofa(args: argparse.Namespace) -> int:
    from foabench.synth.rooms.importers.sofa import import_sofa

    import_sofa(
        args.paths,
        args.out,
        convention=args.convention,
        sample_rate=args.sample_rate,
        resample=args.resample,
        name=args.name,
        license=args.license,
        attribution=args.attribution,
        sources_relative=args.sources_relative,
        progress=not args.no_progress,
    )
    return _finish(args.out)


def _cmd_tau_srir(args: argparse.Namespace) -> int:
    from foabench.synth.rooms.importers.tau_srir import import_tau_srir

    import_tau_srir(
        args.paths,
        args.out,
        convention=args.convention,
        doa=args.doa,
        doa_var=args.doa_var,
        sample_rate_in=args.sample_rate_in,
        sample_rate=args.sample_rate,
        resample=args.resample,
        name=args.name,
        license=args.license,
        attribution=args.attribution or "",
        progress=not args.no_progress,
    )
    return _finish(args.out)


def _cmd_dcase2025_rooms(args: argparse.Namespace) -> int:
    from foabench.synth.rooms.importers.sofa import import_dcase2025_rooms

    import_dcase2025_rooms(
        args.root,
        args.out,
        split=args.split,
        convention=args.convention,
        sample_rate=args.sample_rate,
        resample=args.resample,
        sources_relative=args.sources_relative,
        progress=not args.no_progress,
    )
    return _finish(args.out)


def register_rir_importers(cmds: argparse._SubParsersAction) -> None:
    """Add ``rir-folder``, ``sofa``, ``tau-srir`` and ``dcase2025-rooms`` to ``foabench bank``."""
    p = cmds.add_parser(
        "rir-folder",
        help="import a folder of 4-channel RIR WAV/FLAC files with a position CSV",
        description="CSV columns: path, then azimuth,elevation[,distance] (deg, m) or x,y,z (m, source minus "
        "microphone, x front, y left, z up); optional room, convention, license, attribution.",
    )
    p.add_argument("dir", help="folder of RIR files")
    p.add_argument("--positions", required=True, help="position CSV")
    _convention(p, "FOA convention of rows without a convention column value")
    _common(p)
    p.set_defaults(func=_cmd_rir_folder)

    p = cmds.add_parser("sofa", help="import measured FOA RIRs from SOFA files (one file = one room)")
    p.add_argument("paths", nargs="+", metavar="PATH", help="SOFA files or folders of them")
    _convention(p, "FOA convention for files that declare none; must agree with files that do")
    _sources_relative(p)
    _common(p, license_default=None)
    p.set_defaults(func=_cmd_sofa)

    p = cmds.add_parser("tau-srir", help="import TAU-SRIR DB style rirs_XX_<room>.mat files (MATLAB v7.3)")
    p.add_argument("paths", nargs="+", metavar="PATH", help="rirs_XX_<room>.mat files or folders of them")
    _convention(p, "FOA convention of the files (required: they do not declare one)")
    p.add_argument("--doa", default=None, help="MAT file (v7.3 or v5) holding the direction cell array")
    p.add_argument(
        "--doa-var",
        default="doa_xyz",
        help="variable holding the directions, e.g. doa_xyz or rirdata.room(#).doa_xyz (# = room number XX)",
    )
    p.add_argument(
        "--sample-rate-in",
        type=positive_int,
        default=None,
        help="sample rate of the files when they hold no fs (default 24000, TAU-SRIR DB's)",
    )
    _common(p)
    p.set_defaults(func=_cmd_tau_srir)

    p = cmds.add_parser("dcase2025-rooms", help="import the DCASE 2025 Task 4 dev set's room_ir/*.sofa")
    p.add_argument("root", help="the dev_set folder (holds room_ir/train, room_ir/valid)")
    p.add_argument("--split", choices=["train", "valid", "all"], default="all")
    _convention(p, "FOA convention for files that declare none")
    _sources_relative(p)
    _common(p, name=False)
    p.set_defaults(func=_cmd_dcase2025_rooms)
