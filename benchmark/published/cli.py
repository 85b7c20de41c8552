"""``foabench benchmark build|verify``: publish a benchmark folder, and prove one holds the published data."""

from __future__ import annotations

import argparse
import json

from foabench.synth.cli_args import positive_int


def _cmd_build(args: argparse.Namespace) -> int:
    from foabench.benchmark.published.build import build_benchmark

    report = build_benchmark(args.definition, args.out, workers=args.workers, hf=args.hf, encoder=args.encoder,
                             cache=args.cache, progress=not args.no_progress, overwrite=args.overwrite)  # fmt: skip
    record = report.record
    print(f"benchmark {record['name']} v{record['version']} -> {args.out}/benchmark.json")
    for split, stats in record["stats"].items():
        print(f"  {split}: {stats['mixtures']} mixtures, {stats['targets']} targets "
              f"(targets per mixture {stats['targets_per_mixture']}), {stats['rooms']} rooms, RT60 "
              f"{stats['rt60_s']} s, {len(stats['classes'])} classes")  # fmt: skip
    print("  seconds: " + json.dumps(report.seconds))
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from foabench.benchmark.published.verify import verify_benchmark

    report = verify_benchmark(args.folder, rerender=not args.no_rerender, workers=args.workers,
                              progress=not args.no_progress)  # fmt: skip
    print(report.format())
    return 0 if report.ok else 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("benchmark", help="build a published benchmark folder, or verify one")
    bsub = p.add_subparsers(dest="benchmark_command", required=True, metavar="ACTION")
    b = bsub.add_parser(
        "build",
        help="build (or resume) a benchmark folder from a definition",
        description="NAME: a shipped definition (starter-v1), or FILE: your own YAML definition. Builds or reuses "
        "the banks, samples and checks the fixed splits, renders them and writes DIR/benchmark.json.",
    )
    b.add_argument("definition", metavar="NAME|FILE", help="starter-v1, or a definition file")
    b.add_argument("--out", required=True, metavar="DIR", help="the benchmark folder (resumed if it exists)")
    b.add_argument("--hf", action="store_true", help="also write Hugging Face shards of the fixed splits to DIR/hf")
    b.add_argument("--encoder", default=None, help="query encoder for the shards' embeddings (default: none)")
    b.add_argument("--cache", default=None, help="embedding cache for --encoder")
    b.add_argument("--workers", type=positive_int, default=None, help="worker processes (default: up to 4)")
    b.add_argument("--overwrite", action="store_true", help="rebuild a folder built from another definition")
    b.add_argument("--no-progress", action="store_true")
    b.set_defaults(func=_cmd_build)
    v = bsub.add_parser(
        "verify",
        help="derive a benchmark folder again and compare every hash; exit 1 listing what differs",
    )
    v.add_argument("folder", metavar="DIR", help="a folder written by `foabench benchmark build`")
    v.add_argument("--no-rerender", action="store_true", help="compare file hashes only (skip re-rendering)")
    v.add_argument("--workers", type=positive_int, default=None, help="worker processes for re-rendering")
    v.add_argument("--no-progress", action="store_true")
    v.set_defaults(func=_cmd_verify)
