"""``foabench eval``: score a separator on a split (see :mod:`foabench.benchmark.evaluate`)."""

from __future__ import annotations

import argparse
import json

from foabench.synth.cli_args import (
    add_manifest_argument,
    check_device,
    manifest_argument,
    non_negative_int,
    positive_int,
)


def _cmd_eval(args: argparse.Namespace) -> int:
    from foabench.benchmark.evaluate import EvalSettings, evaluate_separator, format_summary

    published = args.benchmark or args.hf
    if (published or args.dcase) and args.manifest_option:
        raise ValueError("--manifest names a split of your own; with --benchmark or --hf name the split with "
                         "--split, and --dcase names its folder")  # fmt: skip
    if args.dcase and args.manifest_legacy:
        raise ValueError("--dcase names a DCASE test folder; it takes no --split")
    if (args.query_bank or args.dcase_layout) and not args.dcase:
        raise ValueError("--query-bank and --dcase-layout go with --dcase DIR")
    split = None if published or args.dcase else manifest_argument(args)
    if not (published or args.dcase) and split is None:
        raise ValueError("no manifest given (use --manifest NAME.jsonl, --benchmark DIR, --hf DIR or --dcase DIR)")
    settings = EvalSettings(
        separator=args.separator, split=split, out=args.out, banks=args.banks, query=args.query,
        benchmark=args.benchmark, hf=args.hf, benchmark_split=(args.manifest_legacy or "test") if published else "test",
        reference=args.reference, separator_args=json.loads(args.separator_args) if args.separator_args else {},
        encoder=args.encoder, cache=args.cache, batch_size=args.batch_size, device=args.device,
        examples=args.examples, overwrite=args.overwrite, dcase=args.dcase, dcase_layout=args.dcase_layout,
        query_bank=args.query_bank, save_estimates=args.save_estimates, labels=args.labels,
        pointclouds=args.pointclouds,
    )  # fmt: skip
    summary = evaluate_separator(settings, progress=not args.no_progress)
    print(format_summary(summary, summary["provenance"]["separator"]["name"]))
    print(f"results: {args.out}")
    return 0


def _shipped_names() -> str:
    from foabench.benchmark.references import shipped

    return ", ".join(shipped()) or "none shipped yet"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="evaluate a separator on a split: one result row per (mixture, target, query type)",
        description="SPEC: MODEL:RUN (bsast, bsast-w, resunet or run; a run folder or a .pt checkpoint), "
        f"reference:NAME (a shipped reference checkpoint: {_shipped_names()}; reference:list describes them), "
        "module:Class, package.module:Class or file.py:Class (your own separator), or a baseline: mixture, oracle-irm, "
        "oracle-mwf, cardioid|hypercardioid|max-re|mpdr:oracle|query.",
    )
    p.add_argument("--separator", required=True, metavar="SPEC", help="what to evaluate (see above)")
    p.add_argument("--separator-args", default=None, help="JSON keyword arguments for the separator's class")
    add_manifest_argument(p, legacy="--split", required=False, help="manifest (X.jsonl) to evaluate on")
    p.add_argument("--benchmark", default=None, metavar="DIR",
                   help="a built benchmark folder (`foabench benchmark build`): score on its rendered split "
                        "(--split NAME, default test)")  # fmt: skip
    p.add_argument("--hf", default=None, metavar="DIR",
                   help="Hugging Face shards (`export-hf`, `benchmark build --hf`): score on them alone, no banks "
                        "needed (--split NAME, default test)")  # fmt: skip
    p.add_argument("--dcase", default=None, metavar="DIR",
                   help="a DCASE Task 4 test folder as shipped (soundscape/NAME.wav, oracle_target/NAME_LABEL.wav; "
                        "or a dev_set holding test/ or synthesized/test/): score on it, no banks needed; text "
                        "queries from the class names unless the folder was exported by foabench")  # fmt: skip
    p.add_argument(
        "--dcase-layout",
        default=None,
        choices=("2025", "2026"),
        help="the DCASE year whose rules apply (CA-SDRi or CAPI-SDRi); default: guessed from the folder",
    )
    p.add_argument(
        "--query-bank",
        nargs="+",
        default=None,
        metavar="BANK",
        help="with --dcase: source bank(s) of the same classes, for the audio queries",
    )
    p.add_argument("--save-estimates", default=None, metavar="DIR",
                   help="also write every estimate as a DCASE estimate file, DIR/<query>/NAME_LABEL.wav "
                        "(NAME_N_LABEL.wav under the 2026 rules), for DCASE's own evaluation")  # fmt: skip
    p.add_argument("--labels", default=None, choices=("oracle",),
                   help="also score DCASE's class-aware metrics (CA-SDRi / CAPI-SDRi) with each mixture's true labels "
                        "as the tagger: the separator is queried once per label with the label's text")  # fmt: skip
    p.add_argument("--pointclouds", default=None, metavar="DIR",
                   help="real scans as point-cloud queries: ID_K.npz/.ply per target or ID.npz per scene, each with "
                        "its pose in the microphone frame (see foabench.synth.pointclouds.user_clouds)")  # fmt: skip
    p.add_argument("--query", default="both", choices=("audio", "text", "both"), help="query types to score")
    p.add_argument("--out", required=True, metavar="RESULTS", help="results folder (resumed if it exists)")
    p.add_argument("--banks", nargs="+", default=["foabench-data/banks"], help="bank folders")
    p.add_argument("--reference", default="direct", choices=("direct", "dry"), help="reference scored against")
    p.add_argument("--encoder", default="foabench-data/encoders/builtin", help="query encoder")
    p.add_argument("--cache", default="foabench-data/embeddings", help="embedding cache")
    p.add_argument("--batch-size", type=positive_int, default=4, help="items per separate() call")
    p.add_argument("--device", type=check_device, default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--examples", type=non_negative_int, default=3, help="save the estimates of the first N mixtures")
    p.add_argument(
        "--overwrite", action="store_true", help="discard results of another computation in --out (rows, examples)"
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=_cmd_eval)
