"""``foabench bank ...``: the bank commands of every kind, and ``summary`` and ``verify`` for a bank of any kind.

Sources (:mod:`foabench.synth.banks.cli`), rooms and measured RIRs (:mod:`foabench.synth.rooms.cli`) and noise
(:mod:`foabench.synth.noise.cli`) each register their own commands here.
"""

from __future__ import annotations

import argparse
import sys

from foabench.synth.banks import cli as source_cli
from foabench.synth.banks.format import Bank
from foabench.synth.banks.summary import format_summary
from foabench.synth.meshes import cli as meshes_cli
from foabench.synth.noise import cli as noise_cli
from foabench.synth.rooms import cli as rooms_cli


def summary_text(bank: Bank) -> str:
    """The summary that fits the bank's kind (sources, rirs, noise or meshes)."""
    if bank.kind == "rirs":
        from foabench.synth.rooms.summary import format_rir_summary

        return format_rir_summary(bank)
    if bank.kind == "noise":
        from foabench.synth.noise.bank import format_noise_summary

        return format_noise_summary(bank)
    if bank.kind == "meshes":
        from foabench.synth.meshes.summary import format_mesh_summary

        return format_mesh_summary(bank)
    return format_summary(bank)


def _cmd_summary(args: argparse.Namespace) -> int:
    print(summary_text(Bank.open(args.bank)))
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    bank = Bank.open(args.bank)
    problems = bank.verify()
    for p in problems:
        print(p, file=sys.stderr)
    print(f"{bank.root}: {len(bank.records)} clips, {len(problems)} problem(s)")
    return 1 if problems else 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``bank`` command group to the top-level parser."""
    bank = sub.add_parser("bank", help="build, import, summarise and verify sound, RIR, noise and mesh banks")
    cmds = bank.add_subparsers(dest="bank_cmd", required=True, metavar="COMMAND")
    rooms_cli.register(cmds)
    noise_cli.register(cmds)
    source_cli.register(cmds)
    meshes_cli.register(cmds)

    p = cmds.add_parser("summary", help="print a bank's summary (per class, per room or per noise clip)")
    p.add_argument("bank")
    p.set_defaults(func=_cmd_summary)

    p = cmds.add_parser("verify", help="re-hash every file of a bank against its index")
    p.add_argument("bank")
    p.set_defaults(func=_cmd_verify)
