"""The ``foabench`` command line: one subcommand per job.

This module only assembles the parsers: each part registers its own subcommands beside the code it drives
(``bank``: :mod:`foabench.synth.cli`; ``scenes``, ``render``: :mod:`foabench.synth.scenes.cli`; ``queries``:
:mod:`foabench.synth.queries.cli`; ``manifests``: :mod:`foabench.manifests.cli`; ``export-hf``:
:mod:`foabench.manifests.hf_cli`; ``train``, ``eval``, ``leaderboard``, ``demo``: their modules here; ``benchmark``:
:mod:`foabench.benchmark.published.cli`).
"""

from __future__ import annotations

import argparse
import sys

from foabench import synth
from foabench.benchmark import compare, eval_cli, leaderboard_cli, train_cli
from foabench.benchmark.published import cli as published_cli
from foabench.benchmark.references import cli as references_cli
from foabench.manifests import cli as manifests_cli
from foabench.manifests import hf_cli
from foabench.synth import cli as bank_cli
from foabench.synth.audio_io import AudioError
from foabench.synth.banks.format import BankError
from foabench.synth.cli_args import show_defaults
from foabench.synth.queries import cli as queries_cli
from foabench.synth.scenes import cli as scene_cli


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
    compare.register(sub)
    published_cli.register(sub)
    references_cli.register(sub)
    from foabench.benchmark import demo

    demo.register(sub)
    show_defaults(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # what was written, for commands whose options fill in from a file (train --recipe)
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
