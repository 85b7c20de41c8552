"""The ``foabench manifests`` command group: ``check`` and ``export-dcase``."""

from __future__ import annotations

import argparse
import json

from foabench.synth.cli_args import add_manifest_argument, manifest_argument


def _cmd_check(args: argparse.Namespace) -> int:
    from foabench.manifests.check import check_manifests, format_report

    report = check_manifests(manifest_argument(args), banks=args.banks)
    print(json.dumps(report.to_dict(), indent=2) if args.json else format_report(report))
    return 0 if report.ok else 1


def _cmd_export_dcase(args: argparse.Namespace) -> int:
    if args.layout is None:
        from foabench.manifests.dcase_export import export_dcase

        written = export_dcase(manifest_argument(args), args.out, banks=args.banks)
        print(f"wrote {len(written)} DCASE metadata file(s) to {args.out}")
        return 0
    from foabench.manifests.dcase_audio_export import export_dcase_layout

    if not args.banks:
        raise ValueError("--layout renders the mixtures and oracle targets: pass the banks with --banks")
    counts = export_dcase_layout(manifest_argument(args), args.banks, args.out, args.layout,
                                 progress=not args.no_progress)  # fmt: skip
    print(f"DCASE {args.layout} layout in {args.out}: {counts['written']} mixture(s) written, {counts['skipped']} "
          f"already there, {counts['targets']} oracle target(s)")  # fmt: skip
    return 0


def register(sub: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """Add the ``manifests`` command group to the top-level parser; return its sub-command parsers, so further
    ``manifests`` sub-commands can be added to them."""
    group = sub.add_parser("manifests", help="check scene manifests (schema, inputs, split leakage) and export them")
    cmds = group.add_subparsers(dest="manifests_cmd", required=True, metavar="COMMAND")

    p = cmds.add_parser(
        "check",
        help="validate manifests and prove their splits disjoint in sources, rooms and noise (exit 1 on violations)",
    )
    add_manifest_argument(p, many=True)
    p.add_argument(
        "--banks",
        nargs="+",
        default=None,
        metavar="PATH",
        help="banks or folders of banks: also verify the inputs (default: manifests only)",
    )
    p.add_argument("--json", action="store_true", help="print a machine-readable report")
    p.set_defaults(func=_cmd_check)

    p = cmds.add_parser(
        "export-dcase",
        help="write a split in the DCASE Task 4 layout (--layout: soundscape/, oracle_target/, metadata/) or its "
        "metadata only (one JSON per row)",
    )
    add_manifest_argument(p)
    p.add_argument("--out", required=True, help="output folder (a DCASE test folder, or DIR/<row id>.json)")
    p.add_argument(
        "--banks", nargs="+", default=None, metavar="PATH", help="verify inputs and take noise labels from the banks"
    )
    p.add_argument("--layout", default=None, choices=("2025", "2026"),
                   help="render mixtures and oracle targets in this year's layout: NAME_LABEL.wav (2025) or "
                        "NAME_N_LABEL.wav (2026: same-class targets allowed); without it, metadata only")  # fmt: skip
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=_cmd_export_dcase)
    return cmds
