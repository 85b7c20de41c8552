"""``foabench queries ...``: train and evaluate the built-in encoder, precompute and export query embeddings."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from foabench.synth.banks.bank_set import BankSet
from foabench.synth.cli_args import add_manifest_argument, manifest_argument, positive_int

DEFAULT_ENCODER = "foabench-data/encoders/builtin"
DEFAULT_CACHE = "foabench-data/embeddings"


def _cmd_train(args: argparse.Namespace) -> int:
    from foabench.synth.queries.retrieval import format_report
    from foabench.synth.queries.train_encoder import TrainConfig, train_builtin_encoder

    cfg = TrainConfig(steps=args.steps, seed=args.seed, batch_size=args.batch_size)
    encoder = train_builtin_encoder(args.bank, args.out, cfg, progress=not args.no_progress)
    training = encoder.info["training"]
    print(f"encoder {encoder.name} ({encoder.hash[:12]}…) -> {args.out}")
    print(f"trained on {training['train_clips']} clips of bank {training['bank']!r} in {training['train_seconds']} s")
    print(format_report(encoder.info["held_out_retrieval"]))
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from foabench.synth.audio_io import read_audio
    from foabench.synth.banks.format import Bank
    from foabench.synth.queries.registry import open_encoder
    from foabench.synth.queries.retrieval import format_report, retrieval_report
    from foabench.synth.queries.train_encoder import TrainConfig
    from foabench.synth.scenes.query_plan import class_phrase
    from foabench.synth.scenes.splits import plan_splits

    encoder = open_encoder(args.encoder)
    bank = Bank.open(args.bank, kind="sources")
    plan = plan_splits([bank], list(TrainConfig().splits), args.split_seed)
    recs = [r for r in bank.records if plan.sources[(bank.name, r.split_group)] == args.split]
    waves = [read_audio(bank.resolve(r.path))[0][:, 0] for r in recs]
    captions = [r.caption or class_phrase(r.labels[0], 0) for r in recs]
    report = retrieval_report(encoder, waves, bank.sample_rate, [r.labels[0] for r in recs], captions)
    print(f"{encoder.name} on the {args.split!r} clips of {bank.name!r}")
    print(format_report(report))
    return 0


def _cmd_embed(args: argparse.Namespace) -> int:
    from foabench.synth.queries.cache import EmbeddingCache, cached_text
    from foabench.synth.queries.export import clip_embeddings
    from foabench.synth.queries.registry import open_encoder

    encoder = open_encoder(args.encoder)
    banks = BankSet.open(args.banks)
    cache = EmbeddingCache(args.cache, encoder.hash)
    t0 = time.perf_counter()
    for bank in banks.banks.values():
        if bank.kind != "sources":
            continue
        refs = [{"bank": bank.name, "path": r.path, "sha256": r.sha256} for r in bank.records]
        clip_embeddings(encoder, cache, banks, refs)
        cached_text(cache, encoder, sorted({r.caption for r in bank.records if r.caption}))
    print(f"{encoder.name}: {cache.hits} cached, {cache.misses} computed in {time.perf_counter() - t0:.1f} s "
          f"-> {cache.root}")  # fmt: skip
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from foabench.synth.queries.export import export_queries
    from foabench.synth.queries.registry import open_encoder

    encoder = open_encoder(args.encoder)
    n = export_queries(manifest_argument(args), encoder, BankSet.open(args.banks), args.cache, args.out,
                       progress=not args.no_progress)  # fmt: skip
    print(f"{n} target queries ({encoder.name}, dim {encoder.dim}) -> {args.out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``queries`` command group."""
    q = sub.add_parser("queries", help="query encoders, embedding cache and query files")
    cmds = q.add_subparsers(dest="queries_cmd", required=True, metavar="COMMAND")
    encoder_help = "builtin:FOLDER (or a trained encoder folder) or clap:CHECKPOINT[:VARIANT]"

    p = cmds.add_parser("train-encoder", help="train the built-in encoder's audio tower on a source bank")
    p.add_argument("--bank", default="foabench-data/banks/starter", help="source bank")
    p.add_argument("--out", default=DEFAULT_ENCODER, help="encoder folder")
    p.add_argument("--steps", type=positive_int, default=300, help="optimisation steps (default 300)")
    p.add_argument("--batch-size", type=positive_int, default=32, help="clips per step")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_train)

    p = cmds.add_parser("eval", help="retrieval figures of an encoder on a split of a source bank")
    p.add_argument("--encoder", default=DEFAULT_ENCODER, help=encoder_help)
    p.add_argument("--bank", default="foabench-data/banks/starter")
    p.add_argument("--split", default="test", help="which split's clips (default: test, the held-out one)")
    p.add_argument("--split-seed", type=int, default=0)
    p.set_defaults(func=_cmd_eval)

    p = cmds.add_parser("embed", help="precompute (cache) embeddings of every clip and caption of source banks")
    p.add_argument("--encoder", default=DEFAULT_ENCODER, help=encoder_help)
    p.add_argument("--banks", nargs="+", default=["foabench-data/banks"])
    p.add_argument("--cache", default=DEFAULT_CACHE, help="embedding cache folder")
    p.set_defaults(func=_cmd_embed)

    p = cmds.add_parser("export", help="write a manifest's query embeddings to an .npz file for separators")
    add_manifest_argument(p)
    p.add_argument("--encoder", default=DEFAULT_ENCODER, help=encoder_help)
    p.add_argument("--banks", nargs="+", default=["foabench-data/banks"])
    p.add_argument("--cache", default=DEFAULT_CACHE)
    p.add_argument("--out", required=True, help="output .npz")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_export)


def ensure_encoder(folder: Path, bank_root: Path, steps: int, progress: bool):
    """Reuse the encoder in ``folder`` when it was trained on this bank (same fingerprint), else train it."""
    from foabench.synth.banks.format import Bank
    from foabench.synth.queries.builtin import BuiltinEncoder, EncoderError
    from foabench.synth.queries.train_encoder import TrainConfig, train_builtin_encoder

    try:
        encoder = BuiltinEncoder.load(folder)
        if encoder.info["training"]["bank_fingerprint"] == Bank.open(bank_root).fingerprint:
            return encoder, False
    except (EncoderError, KeyError, ValueError):
        pass
    return train_builtin_encoder(bank_root, folder, TrainConfig(steps=steps), progress=progress), True
