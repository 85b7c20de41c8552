"""``foabench eval``: score a separator on a split (see :mod:`foabench.benchmark.evaluate`)."""

from __future__ import annotations

import argparse
import json


def _cmd_eval(args: argparse.Namespace) -> int:
    from foabench.benchmark.evaluate import EvalSettings, evaluate_separator, format_summary

    settings = EvalSettings(
        separator=args.separator, split=args.split, out=args.out, banks=args.banks, query=args.query,
        reference=args.reference, separator_args=json.loads(args.separator_args) if args.separator_args else {},
        encoder=args.encoder, cache=args.cache, batch_size=args.batch_size, device=args.device,
        examples=args.examples, overwrite=args.overwrite,
    )  # fmt: skip
    summary = evaluate_separator(settings, progress=not args.no_progress)
    print(format_summary(summary, summary["provenance"]["separator"]["name"]))
    print(f"results: {args.out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="evaluate a separator on a split: one result row per (mixture, target, query type)",
        description="SPEC: MODEL:RUN (bsast, bsast-w, resunet or run; a run folder or a .pt checkpoint), "
        "package.module:Class or file.py:Class (your own separator), or a baseline: mixture, oracle-irm, "
        "oracle-mwf, cardioid|hypercardioid|max-re|mpdr:oracle|query.",
    )
    p.add_argument("--separator", required=True, metavar="SPEC", help="what to evaluate (see above)")
    p.add_argument("--separator-args", default=None, help="JSON keyword arguments for the separator's class")
    p.add_argument("--split", required=True, metavar="MANIFEST", help="manifest (X.jsonl) to evaluate on")
    p.add_argument("--query", default="both", choices=("audio", "text", "both"))
    p.add_argument("--out", required=True, metavar="RESULTS", help="results folder (resumed if it exists)")
    p.add_argument("--banks", nargs="+", default=["foabench-data/banks"], help="bank folders")
    p.add_argument("--reference", default="direct", choices=("direct", "dry"), help="reference scored against")
    p.add_argument("--encoder", default="foabench-data/encoders/builtin", help="query encoder")
    p.add_argument("--cache", default="foabench-data/embeddings", help="embedding cache")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--device", default="cpu")
    p.add_argument("--examples", type=int, default=3, help="save the estimates of the first N mixtures")
    p.add_argument("--overwrite", action="store_true", help="discard results of another run in --out")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_eval)
