"""``foabench scenes`` (sample a split into a manifest) and ``foabench render`` (render a manifest)."""

from __future__ import annotations

import argparse
import sys
from collections import Counter

from foabench.synth.banks.bank_set import BankSet
from foabench.synth.cli_args import add_manifest_argument, manifest_argument, positive_int


def _cmd_scenes(args: argparse.Namespace) -> int:
    from foabench.synth.scenes.manifest import write_manifest
    from foabench.synth.scenes.sampler import sample_manifest
    from foabench.synth.scenes.spec import load_spec

    spec = load_spec(args.spec)
    banks = list(BankSet.open(args.banks).banks.values())
    header, rows = sample_manifest(spec, banks, args.split, args.n, args.seed)
    rows_path, header_path = write_manifest(args.out, header, rows, overwrite=args.overwrite)
    events = Counter(e["role"] for r in rows for e in r["events"])
    rooms = len({(r["room"]["bank"], r["room"]["room"]) for r in rows})
    print(
        f"{rows_path}: {len(rows)} mixtures of split {args.split!r} ({spec.name}, {spec.duration_s:g} s), "
        f"{events['target']} targets, {events['interference']} interferers, {rooms} rooms; header {header_path}"
    )
    return 0


def _cmd_render(args: argparse.Namespace) -> int:
    from foabench.synth.scenes.render_split import parse_shard, render_manifest

    report = render_manifest(
        manifest_argument(args),
        args.out,
        args.banks,
        shard=parse_shard(args.shard),
        workers=args.workers,
        verify=args.verify,
        progress=not args.no_progress,
        engine=args.engine,
        address=args.address,
        overwrite=args.overwrite,
    )
    for p in report.problems[:20]:
        print(p, file=sys.stderr)
    if len(report.problems) > 20:
        print(f"... {len(report.problems) - 20} more", file=sys.stderr)
    print(", ".join(f"{k}: {v}" for k, v in sorted(report.counts.items())) or "no rows in this shard")
    return 1 if report.problems else 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``scenes`` and ``render`` to the top-level parser."""
    p = sub.add_parser("scenes", help="sample N scenes of one split into a manifest (JSON Lines + header)")
    p.add_argument(
        "--spec",
        default="dcase2025",
        help="shipped spec name (dcase2025, dcase2026, tiny, spatial) or a YAML/JSON file",
    )
    p.add_argument("--banks", nargs="+", required=True, help="bank folders, or folders holding banks")
    p.add_argument("--split", required=True, help="split name from the spec (e.g. train, val, test)")
    p.add_argument("--n", type=positive_int, required=True, help="number of mixtures")
    p.add_argument("--seed", type=int, default=0, help="manifest seed (default 0)")
    p.add_argument("--out", required=True, help="manifest path, e.g. manifests/train.jsonl")
    p.add_argument("--overwrite", action="store_true", help="replace a different manifest already at --out")
    p.set_defaults(func=_cmd_scenes)

    p = sub.add_parser("render", help="render a manifest: mixtures and target references, resumable")
    add_manifest_argument(p)
    p.add_argument("--banks", nargs="+", required=True, help="bank folders, or folders holding banks")
    p.add_argument("--out", required=True, help="output folder (one sub-folder per mixture)")
    p.add_argument("--shard", default=None, help="render only rows i, i+N, ... given as i/N (default: every row)")
    p.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        help="worker processes (default: up to 4; ray: every CPU of the cluster)",
    )
    p.add_argument("--verify", action="store_true", help="re-render and compare with the stored checksums")
    p.add_argument(
        "--engine", choices=("local", "ray"), default="local", help="local process pool (default) or Ray tasks"
    )
    p.add_argument(
        "--address",
        default=None,
        help="ray only: cluster to join (auto, HEAD:6379 or ray://HEAD:10001); default: a local Ray instance",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="delete mixtures in --out that are not this manifest's rows"
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=_cmd_render)
