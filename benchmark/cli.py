"""The ``foabench`` command line: one subcommand per job."""

from __future__ import annotations

import argparse
import sys

import synth
from benchmark import eval_cli, leaderboard_cli, train_cli
from manifests import cli as manifests_cli
from manifests import hf_cli
from synth import bank_cli, scene_cli
from synth.audio_io import AudioError
from synth.bank import BankError
from synth.queries import cli as queries_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="foabench",
        description="Query-based spatial audio source extraction: banks, scenes, training, benchmark.",
    )
    parser.add_argument("--version", action="version", version=f"foabench {synth.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    bank_cli.register(sub)
    scene_cli.register(sub)
    manifests_cli.register(sub)
    hf_cli.register(sub)
    queries_cli.register(sub)
    train_cli.register(sub)
    eval_cli.register(sub)
    leaderboard_cli.register(sub)
    from benchmark import demo

    demo.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (BankError, AudioError, FileNotFoundError, ValueError) as exc:
        print(f"foabench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("foabench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
