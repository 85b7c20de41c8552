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
    from foabench.manifests.dcase_export import export_dcase

    written = export_dcase(manifest_argument(args), args.out, banks=args.banks)
    print(f"wrote {len(written)} DCASE metadata file(s) to {args.out}")
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

    p = cmds.add_parser("export-dcase", help="write DCASE 2025 Task 4 (SpatialScaper) metadata, one JSON per row")
    add_manifest_argument(p)
    p.add_argument("--out", required=True, help="output folder (DIR/<row id>.json)")
    p.add_argument(
        "--banks", nargs="+", default=None, metavar="PATH", help="verify inputs and take noise labels from the banks"
    )
    p.set_defaults(func=_cmd_export_dcase)
    return cmds
