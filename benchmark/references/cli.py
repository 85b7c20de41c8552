"""``foabench references``: list the shipped reference checkpoints, or ship a finished run as one."""

from __future__ import annotations

import argparse


def _cmd_list(args: argparse.Namespace) -> int:
    from foabench.benchmark.references import format_list

    print(format_list())
    return 0


def _cmd_ship(args: argparse.Namespace) -> int:
    from foabench.benchmark.references.ship import ship_run

    folder = ship_run(args.run, args.name, args.recipe, overwrite=args.overwrite)
    print(f"shipped {args.run} as reference:{args.name} -> {folder}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("references", help="the shipped reference checkpoints (list, ship)")
    rsub = p.add_subparsers(dest="references_command", required=True, metavar="ACTION")
    rsub.add_parser("list", help="list the shipped references and recipes").set_defaults(func=_cmd_list)
    s = rsub.add_parser("ship", help="copy a finished run into the package as reference:NAME")
    s.add_argument("run", help="run folder (`foabench train --out RUN`)")
    s.add_argument("--name", required=True, help="reference name, e.g. bsast-tiny")
    s.add_argument("--recipe", required=True, help="the recipe the run was trained with (name or YAML file)")
    s.add_argument("--overwrite", action="store_true", help="replace a shipped reference of that name")
    s.set_defaults(func=_cmd_ship)
