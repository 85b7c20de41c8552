"""``foabench demo``: the main job end to end on the embedded starter bank.

Build the starter source bank, a simulated room bank (AmbiX RIRs) and the starter diffuse noise bank; sample
a small train/val/test split from them (the starter benchmark's scene spec and group split, so its test groups
are held out from the shipped references, with audio and text queries per target), check it for leakage and
render it; take the query encoder shipped with the reference checkpoints (or train one) and export every split's
query embeddings; train BSAST, BSAST-W and the ResUNet (tiny configs) briefly from their reference recipes;
evaluate the shipped references, those runs and every baseline and bound on the test split with audio and text
queries, and print the results table.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from foabench.benchmark.demo_separators import evaluate_demo, run_leaderboard, train_demo_models
from foabench.benchmark.leaderboard import format_markdown
from foabench.synth.banks.format import Bank
from foabench.synth.banks.summary import format_summary
from foabench.synth.cli_args import positive_int

DEMO_ROOMS = 12
DEMO_RIRS_PER_ROOM = 6
DEMO_SPLITS = (("train", 32), ("val", 8), ("test", 48))  # test: enough targets to tell the references apart
#: the demo samples its splits with this benchmark's scene rules and group split (60/20/20, seed 0): the rules the
#: shipped references were trained under, on groups they never trained on
DEMO_BENCHMARK = "starter-v1"
DEMO_ENCODER_STEPS = 300


def run_demo(workdir: Path, workers: int | None = None, progress: bool = True, steps_scale: float = 1.0,
             retrain_encoder: bool = False) -> int:  # fmt: skip
    from foabench.synth.banks.starter.build import build_starter_bank
    from foabench.synth.noise.bank import format_noise_summary
    from foabench.synth.noise.starter import build_starter_noise_bank
    from foabench.synth.rooms.bank import build_room_bank
    from foabench.synth.rooms.sampler import RoomSpec
    from foabench.synth.rooms.summary import format_rir_summary

    banks = workdir / "banks"
    t0 = time.perf_counter()
    build_starter_bank(banks / "starter", workers=workers, progress=progress)
    print(format_summary(Bank.open(banks / "starter")))
    t1 = time.perf_counter()
    print(f"[demo] starter source bank built in {t1 - t0:.1f} s\n")

    spec = RoomSpec(rooms=DEMO_ROOMS, rirs_per_room=DEMO_RIRS_PER_ROOM, seed=0)
    build_room_bank(banks / "rooms", spec, workers=workers, progress=progress)
    print(format_rir_summary(Bank.open(banks / "rooms", kind="rirs")))
    t2 = time.perf_counter()
    print(f"[demo] simulated room bank built in {t2 - t1:.1f} s\n")

    build_starter_noise_bank(banks / "noise", workers=workers, progress=progress)
    print(format_noise_summary(Bank.open(banks / "noise", kind="noise")))
    t3 = time.perf_counter()
    print(f"[demo] starter noise bank built in {t3 - t2:.1f} s\n")

    spec = write_demo_spec(workdir)
    manifests = make_splits(banks, spec, workdir / "manifests", workdir / "render", workers=workers, progress=progress)
    t4 = time.perf_counter()
    print(f"[demo] {len(manifests)} splits sampled (with queries), checked and rendered in {t4 - t3:.1f} s\n")

    encoder = make_queries(banks, workdir, manifests, progress, retrain_encoder)
    t5 = time.perf_counter()
    print(f"[demo] query encoder {encoder.name} ready and query files written in {t5 - t4:.1f} s\n")

    paths = {p.name.removesuffix(".jsonl"): p for p in manifests}
    runs = train_demo_models(banks, workdir, spec, paths["val"], workers, progress, steps_scale)
    t6 = time.perf_counter()
    print(f"[demo] {len(runs)} separators trained (or reused) in {t6 - t5:.1f} s\n")

    results = evaluate_demo(banks, workdir, paths["test"], runs, progress)
    t7 = time.perf_counter()
    print(f"\n[demo] {len(results)} separators and bounds evaluated on the starter test split in {t7 - t6:.1f} s\n")

    board = run_leaderboard(results, workdir / "leaderboard")
    t8 = time.perf_counter()
    print(format_markdown(board))
    print(f"\n[demo] leaderboard, plots and report in {workdir / 'leaderboard'} ({t8 - t7:.1f} s); "
          f"open {workdir / 'leaderboard' / 'report.html'} in a browser")  # fmt: skip
    print(f"[demo] done in {t8 - t0:.1f} s: {len(board.entries)} separators and bounds on the leaderboard")
    return 0


def make_queries(banks: Path, workdir: Path, manifests: list[Path], progress: bool, retrain_encoder: bool = False):
    """Take the encoder the shipped references were trained with (or train one with ``retrain_encoder``, or when
    the starter bank differs from theirs) and export each split's query embeddings."""
    from foabench.synth.banks.bank_set import BankSet
    from foabench.synth.queries.export import export_queries
    from foabench.synth.queries.retrieval import format_report

    encoder, how = demo_encoder(workdir / "encoders" / "builtin", banks / "starter", retrain_encoder, progress)
    print(f"[demo] encoder {encoder.name} {encoder.hash[:12]}… {how}; held-out retrieval:")
    print(format_report(encoder.info["held_out_retrieval"]))
    opened = BankSet.open([banks])
    for path in manifests:
        out = workdir / "queries" / f"{path.name.removesuffix('.jsonl')}.npz"
        n = export_queries(path, encoder, opened, workdir / "embeddings", out, progress=progress)
        print(f"[demo] {n} target queries of {path.name} -> {out}")
    return encoder


def demo_encoder(folder: Path, starter: Path, retrain: bool, progress: bool):
    """``(encoder, how it was obtained)``: the shipped references' encoder copied into ``folder`` when it was
    trained on this starter bank (same fingerprint) and ``retrain`` is off; else one trained (or reused) here."""
    from foabench.benchmark.references import ENCODER
    from foabench.synth.audio_io import atomic_copy_tree
    from foabench.synth.banks.format import Bank
    from foabench.synth.queries.builtin import BuiltinEncoder
    from foabench.synth.queries.cli import ensure_encoder

    fingerprint = Bank.open(starter).fingerprint
    if not retrain and (ENCODER / "encoder.json").is_file():
        shipped = BuiltinEncoder.load(ENCODER)
        if shipped.info["training"]["bank_fingerprint"] == fingerprint:
            if not _same_encoder(folder, shipped.hash):
                atomic_copy_tree(ENCODER, folder)
            return BuiltinEncoder.load(folder), "shipped with the reference checkpoints"
        print(
            f"[demo] the shipped encoder was trained on another starter bank "
            f"({shipped.info['training']['bank_fingerprint'][:12]}…, this one {fingerprint[:12]}…): training one"
        )
    encoder, trained = ensure_encoder(folder, starter, DEMO_ENCODER_STEPS, progress)
    training = encoder.info["training"]
    return encoder, f"trained in {training['train_seconds']} s" if trained else "reused (same starter bank)"


def _same_encoder(folder: Path, hash_: str) -> bool:
    from foabench.synth.queries.builtin import BuiltinEncoder, EncoderError

    try:
        return BuiltinEncoder.load(folder).hash == hash_
    except (EncoderError, KeyError, ValueError, OSError):
        return False


def write_demo_spec(workdir: Path) -> Path:
    """Write :data:`DEMO_BENCHMARK`'s scene spec to ``workdir/scene_spec.yaml`` (for sampling and for training)."""
    import yaml

    from foabench.benchmark.published.definition import load_definition
    from foabench.synth.audio_io import atomic_write_text

    path = workdir / "scene_spec.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, yaml.safe_dump(load_definition(DEMO_BENCHMARK).data["scene"], sort_keys=False))
    return path


def make_splits(banks: Path, spec_path: Path, manifest_dir: Path, render_dir: Path, workers: int | None,
                progress: bool) -> list[Path]:  # fmt: skip
    """Sample, check (schema, hashes, leakage) and render the demo's train/val/test manifests."""
    from foabench.manifests.check import check_manifests, format_report
    from foabench.synth.banks.bank_set import BankSet
    from foabench.synth.scenes.manifest import write_manifest
    from foabench.synth.scenes.render_split import render_manifest
    from foabench.synth.scenes.sampler import sample_manifest
    from foabench.synth.scenes.spec import load_spec

    spec = load_spec(spec_path)
    opened = list(BankSet.open([banks]).banks.values())
    paths = []
    for split, n in DEMO_SPLITS:
        header, rows = sample_manifest(spec, opened, split, n, seed=0)
        # the demo owns its folders: a split sampled differently (another foabench) replaces the old one
        paths.append(write_manifest(manifest_dir / f"{split}.jsonl", header, rows, overwrite=True)[0])
    report = check_manifests(paths, banks=[banks])
    print(format_report(report))
    if not report.ok:
        raise ValueError("the demo splits failed their check (see above)")
    for path, (split, _) in zip(paths, DEMO_SPLITS, strict=True):
        result = render_manifest(path, render_dir / split, [banks], workers=workers, progress=progress, overwrite=True)
        print(f"[demo] {split}: {dict(result.counts)} -> {render_dir / split}")
    return paths


def _cmd_demo(args: argparse.Namespace) -> int:
    if args.quick and args.steps_scale is not None:
        raise ValueError("give --quick or --steps-scale, not both")
    scale = 0.05 if args.quick else (1.0 if args.steps_scale is None else args.steps_scale)
    if scale <= 0:
        raise ValueError(f"--steps-scale must be positive, got {scale}")
    return run_demo(Path(args.workdir), workers=args.workers, progress=not args.no_progress, steps_scale=scale,
                    retrain_encoder=args.retrain_encoder)  # fmt: skip


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the main job end to end on the starter bank")
    p.add_argument("--workdir", default="foabench-data", help="where banks and outputs go")
    p.add_argument("--workers", type=positive_int, default=None, help="worker processes (default: up to 4)")
    p.add_argument(
        "--steps-scale",
        type=float,
        default=None,
        help="train each model for this fraction (or multiple) of its demo steps",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: 5%% of the training steps (every stage runs; the scores mean little)",
    )
    p.add_argument("--retrain-encoder", action="store_true",
                   help="train the query encoder here instead of taking the one shipped with the reference "
                        "checkpoints (the references are then not scored: they need their own encoder)")  # fmt: skip
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_demo)
