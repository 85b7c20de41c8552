"""``foabench train``: train a separator with dynamic mixing (see :mod:`foabench.benchmark.train`)."""

from __future__ import annotations

import argparse
import json

from foabench.synth.cli_args import non_negative_int, positive_float, positive_int


def _given(parser: argparse.ArgumentParser, argv: list[str]) -> set[str]:
    """The destinations of the options written on the command line, also those given their default value (long
    options may be abbreviated, as argparse allows)."""
    tokens = [t.split("=", 1)[0] for t in argv if t.startswith("-")]
    return {action.dest for action in parser._actions for opt in action.option_strings for t in tokens
            if opt == t or (t.startswith("--") and len(t) > 2 and opt.startswith(t))}  # fmt: skip


def _apply_recipe(args: argparse.Namespace) -> None:
    """Fill every option the command line does not give from ``--recipe`` (an option given on the command line
    wins even when it equals its default), and banks/spec/val from ``--benchmark``."""
    from pathlib import Path

    from foabench.benchmark.references import load_recipe

    parser = args.parser
    given = _given(parser, getattr(args, "argv", None) or [])
    if args.recipe:
        for key, value in load_recipe(args.recipe).items():
            if key == "description":
                continue
            if key in ("model_overrides", "query_recipe"):
                value = json.dumps(value)
            if key not in given:
                setattr(args, key, value)
    if args.benchmark:
        folder = Path(args.benchmark)
        if not (folder / "benchmark.json").is_file():
            raise ValueError(f"{folder} is not a built benchmark (`foabench benchmark build NAME --out {folder}`)")
        args.banks = [str(folder / "banks")]
        args.spec = str(folder / "scene_spec.yaml")
        args.val = args.val or str(folder / "manifests" / "val.jsonl")


def _cmd_train(args: argparse.Namespace) -> int:
    from foabench.benchmark.train import TrainSettings, train

    _apply_recipe(args)
    overrides = json.loads(args.model_overrides) if args.model_overrides else {}
    settings = TrainSettings(
        out=args.out, banks=args.banks, model=args.model, config=args.config, model_overrides=overrides,
        val=args.val, spec=args.spec, split=args.split, seed=args.seed, steps=args.steps,
        batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay, warmup=args.warmup,
        l1_weight=args.l1_weight, loss=args.loss,
        workers=args.workers, val_every=args.val_every, ckpt_every=args.ckpt_every, log_every=args.log_every,
        encoder=args.encoder, cache=args.cache,
        query_recipe=json.loads(args.query_recipe) if args.query_recipe else {}, threads=args.threads,
        compile=args.compile, max_minutes=args.max_minutes, mix_on=args.mix_on,
    )  # fmt: skip
    metrics = train(settings, resume=args.resume, progress=not args.no_progress)
    if metrics:
        print("validation: " + ", ".join(f"{k} {v}" for k, v in metrics.items()))
    print(f"run folder: {args.out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from foabench.benchmark.model_registry import LOSSES, MODELS

    p = sub.add_parser("train", help="train a separator (BSAST, BSAST-W, ResUNet) with dynamic mixing")
    p.add_argument(
        "--model",
        default="bsast",
        choices=sorted(MODELS),
        help="bsast (FOA), bsast-w (W channel only) or resunet (AudioSep-style, W only); default bsast",
    )
    p.add_argument(
        "--config", default="tiny", help="model preset: bsast paper/small/tiny, resunet paper/tiny (default tiny)"
    )
    p.add_argument("--model-overrides", default=None, help='JSON of config fields, e.g. {"n_channels": 1}')
    p.add_argument("--banks", nargs="+", default=["foabench-data/banks"], help="bank folders")
    p.add_argument("--val", default=None, help="validation manifest (default: no validation)")
    p.add_argument("--out", required=True, help="run folder")
    p.add_argument("--recipe", default=None, metavar="NAME|FILE",
                   help="a recipe (shipped: bsast-tiny, bsast-w-tiny, resunet-tiny; or a YAML file of these "
                        "options): sets every option not given on the command line")  # fmt: skip
    p.add_argument(
        "--benchmark",
        default=None,
        metavar="DIR",
        help="train on a built benchmark's training groups: its banks, scene spec and val split",
    )
    p.add_argument("--spec", default="tiny", help="scene spec of the training stream (default tiny)")
    p.add_argument("--split", default="train", help="split of the scene spec the training stream draws from")
    p.add_argument("--seed", type=int, default=0, help="seed of the model and of the scene stream")
    p.add_argument("--steps", type=positive_int, default=1000, help="optimiser steps")
    p.add_argument("--batch-size", type=positive_int, default=8, help="mixtures per step")
    p.add_argument("--lr", type=positive_float, default=3e-4, help="peak learning rate (AdamW)")
    p.add_argument("--weight-decay", type=float, default=1e-2, help="AdamW weight decay")
    p.add_argument("--warmup", type=non_negative_int, default=50, help="linear warm-up steps")
    p.add_argument("--l1-weight", type=float, default=100.0, help="lambda of SI-SDR + lambda * L1 (default 100)")
    p.add_argument(
        "--loss",
        default="auto",
        choices=LOSSES,
        help="auto (the model's own: BSAST si_sdr_l1, ResUNet l1), si_sdr_l1 or l1 (raw waveform L1)",
    )
    p.add_argument(
        "--workers",
        type=non_negative_int,
        default=2,
        help="DataLoader workers rendering scenes (0: in the main process)",
    )
    p.add_argument(
        "--mix-on",
        choices=("workers", "device"),
        default="workers",
        help="workers: the DataLoader workers render each scene (numpy, bit-exact); device: they only gather the "
        "scenes' inputs and each batch is mixed on the training device (a GPU: see bench_render_torch)",
    )
    p.add_argument("--val-every", type=positive_int, default=200, help="validate every N steps")
    p.add_argument("--ckpt-every", type=positive_int, default=200, help="checkpoint every N steps")
    p.add_argument("--log-every", type=positive_int, default=10, help="log to metrics.jsonl every N steps")
    p.add_argument("--encoder", default="foabench-data/encoders/builtin", help="query encoder")
    p.add_argument("--cache", default="foabench-data/embeddings", help="embedding cache")
    p.add_argument(
        "--query-recipe",
        default=None,
        help='JSON fields replacing those of every row\'s pseudo-query recipe, e.g. {"sigma": 0.05}',
    )
    p.add_argument(
        "--threads", type=non_negative_int, default=0, help="torch threads of the training process (0: one per core)"
    )
    p.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile the transformer blocks (BSAST: 1.17x after a ~40 s first step) or the whole model "
        "(ResUNet: 1.5x after ~150 s)",
    )
    p.add_argument(
        "--max-minutes",
        type=float,
        default=0.0,
        help="stop after this many minutes of training, with a checkpoint and a validation (0: none)",
    )
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=_cmd_train, parser=p)
