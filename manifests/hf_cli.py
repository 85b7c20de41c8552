"""``foabench export-hf``: render manifests into Hugging Face parquet shards with a dataset card."""

from __future__ import annotations

import argparse

from foabench.synth.cli_args import add_manifest_argument, manifest_argument, positive_float, positive_int

# the defaults of foabench.manifests.hf_export.export_hf, repeated so that `foabench --help` needs no pyarrow import
DEFAULT_SHARD_MB = 500.0
DEFAULT_ENCODER = "foabench-data/encoders/builtin"
DEFAULT_CACHE = "foabench-data/embeddings"


def _cmd_export_hf(args: argparse.Namespace) -> int:
    from foabench.manifests.hf_card import governing_licence
    from foabench.manifests.hf_export import export_hf

    report = export_hf(
        manifest_argument(args),
        args.out,
        args.banks,
        encoder=None if args.no_embeddings else args.encoder,
        cache=args.cache,
        shard_size_mb=args.shard_size_mb,
        engine=args.engine,
        workers=args.workers,
        address=args.address,
        pretty_name=args.name,
        progress=not args.no_progress,
        overwrite=args.overwrite,
    )
    for name, s in sorted(report.index["splits"].items()):
        size = sum(sh["bytes"] for sh in s["shards"])
        print(f"{name}: {s['num_rows']} mixtures in {len(s['shards'])} shard(s), {size / 1e6:.1f} MB")
    gov = governing_licence([e["licence"] for s in report.index["splits"].values() for e in s["licences"]])
    print(f"licence: {', '.join(gov['licences'])} governs (tier {gov['tier_name']}, hub id {gov['hub_id']})")
    if gov["unknown"]:
        print(f"unrecognised licences (treated as most restrictive): {', '.join(gov['unknown'])}")
    secs = max(report.seconds, 1e-9)
    rate = f", {report.rows_rendered / secs:.2f} mix/s, {report.bytes_written / 1e6 / secs:.1f} MB/s"
    print(
        f"{report.out}: wrote {len(report.written)} shard(s), skipped {len(report.skipped)} already complete, "
        f"removed {len(report.removed)} stale; {report.rows_rendered} mixtures in {report.seconds:.1f} s"
        + (rate if report.rows_rendered else "")
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``export-hf`` to the top-level parser."""
    p = sub.add_parser(
        "export-hf", help="render manifests into Hugging Face parquet shards with a dataset card (resumable)"
    )
    add_manifest_argument(p, many=True, help="one manifest per split (NAME.jsonl or NAME)")
    p.add_argument("--out", required=True, help="output folder: data/*.parquet, shards.json, README.md")
    p.add_argument("--banks", nargs="+", required=True, help="bank folders, or folders holding banks")
    p.add_argument(
        "--shard-size-mb",
        type=positive_float,
        default=DEFAULT_SHARD_MB,
        help=f"target shard size in MB (default {DEFAULT_SHARD_MB:g})",
    )
    p.add_argument("--encoder", default=DEFAULT_ENCODER, help=f"query encoder (default {DEFAULT_ENCODER})")
    p.add_argument("--cache", default=DEFAULT_CACHE, help=f"embedding cache (default {DEFAULT_CACHE})")
    p.add_argument("--no-embeddings", action="store_true", help="export without query embeddings (no encoder)")
    p.add_argument("--engine", choices=("local", "ray"), default="local", help="local processes (default) or Ray")
    p.add_argument(
        "--address",
        default=None,
        help="ray only: cluster to join (auto, HEAD:6379 or ray://HEAD:10001); default: a local Ray instance",
    )
    p.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        help="render workers (default: up to 4; ray: every CPU of the cluster)",
    )
    p.add_argument("--name", default=None, help="pretty name in the dataset card")
    p.add_argument(
        "--overwrite", action="store_true", help="replace splits exported into --out from other manifests or settings"
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=_cmd_export_hf)
