"""``foabench demo``: the main job end to end on the embedded starter bank.

Today: build the starter source bank, a simulated room bank (AmbiX RIRs) and the starter diffuse noise bank;
sample a small train/val/test split from them (the ``tiny`` spec, with audio and text queries per target),
check it for leakage and render it; train (or reuse) the built-in query encoder and export every split's
query embeddings.
Later stages (training, evaluation, leaderboard) extend this command.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from synth.bank import Bank
from synth.bank_summary import format_summary

DEMO_ROOMS = 12
DEMO_RIRS_PER_ROOM = 6
DEMO_SPLITS = (("train", 32), ("val", 8), ("test", 8))
DEMO_SPEC = "tiny"
DEMO_ENCODER_STEPS = 300
DEMO_TRAINING = {"config": "tiny", "spec": "tiny", "steps": 150, "batch_size": 4, "lr": 2e-3, "warmup": 10,
                 "l1_weight": 10.0, "val_every": 50, "ckpt_every": 50}  # fmt: skip


def run_demo(workdir: Path, workers: int | None = None, progress: bool = True) -> int:
    from synth.noise_bank import format_noise_summary
    from synth.rir_summary import format_rir_summary
    from synth.room_bank import build_room_bank
    from synth.room_sampler import RoomSpec
    from synth.starter.build import build_starter_bank
    from synth.starter.noise import build_starter_noise_bank

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

    manifests = make_splits(banks, workdir / "manifests", workdir / "render", workers=workers, progress=progress)
    t4 = time.perf_counter()
    print(f"[demo] {len(manifests)} splits sampled (with queries), checked and rendered in {t4 - t3:.1f} s\n")

    encoder = make_queries(banks, workdir, manifests, progress)
    t5 = time.perf_counter()
    print(f"[demo] query encoder {encoder.name} ready and query files written in {t5 - t4:.1f} s\n")

    train_separator(banks, workdir, manifests, workers, progress)
    print(f"[demo] BSAST-tiny trained (or reused) and evaluated in {time.perf_counter() - t5:.1f} s")
    return 0


def train_separator(banks: Path, workdir: Path, manifests: list[Path], workers: int | None, progress: bool) -> dict:
    """Train BSAST ``tiny`` on the starter training stream (or reuse/resume the run) and score the test split."""
    import hashlib
    import json

    import torch

    from benchmark.train import TrainSettings, evaluate, load_trained, run_is_complete, train
    from benchmark.train_data import ManifestDataset, build_query_table
    from manifests.bank_set import BankSet
    from manifests.schema import read_manifest
    from synth.queries.registry import open_encoder

    paths = {p.name.removesuffix(".jsonl"): p for p in manifests}
    opened = BankSet.open([banks])
    settings = TrainSettings(
        out="",
        banks=[str(banks)],
        val=str(paths["val"]),
        workers=2 if workers is None else workers,
        encoder=str(workdir / "encoders" / "builtin"),
        cache=str(workdir / "embeddings"),
        **DEMO_TRAINING,
    )
    key = json.dumps({**DEMO_TRAINING, "banks": {n: b.fingerprint for n, b in sorted(opened.banks.items())}},
                     sort_keys=True)  # fmt: skip
    run = workdir / "runs" / f"bsast-tiny-{hashlib.sha256(key.encode()).hexdigest()[:8]}"
    settings.out = str(run)
    if run_is_complete(run, settings.steps):
        print(f"[demo] reusing the finished run {run}")
    else:
        resume = (run / "checkpoints" / "last.pt").is_file()
        print(f"[demo] {'resuming' if resume else 'training'} BSAST-tiny: {settings.steps} steps -> {run}")
        train(settings, resume=resume, progress=progress)
    model, info = load_trained(run)
    test_rows = read_manifest(paths["test"]).rows
    texts = [e["query"]["text"] for r in test_rows for e in r["events"] if e.get("query")]
    table = build_query_table(open_encoder(settings.encoder), opened, settings.cache, texts)
    dataset = ManifestDataset(test_rows, [str(banks)], table, model.config.n_channels)
    scores = evaluate(model, dataset, torch.device("cpu"))
    print(
        f"[demo] BSAST-tiny ({info['parameters']:,} parameters, {info['step']} steps) on the starter test split: "
        f"SI-SDRi {scores['audio_query_si_sdri']:+.2f} dB (audio queries), "
        f"{scores['text_query_si_sdri']:+.2f} dB (text queries); mixture SI-SDR {scores['mixture_si_sdr']:.2f} dB"
    )
    return scores


def make_queries(banks: Path, workdir: Path, manifests: list[Path], progress: bool):
    """Train (or reuse) the built-in encoder on the starter bank and export each split's query embeddings."""
    from manifests.bank_set import BankSet
    from synth.queries.cli import ensure_encoder
    from synth.queries.export import export_queries
    from synth.queries.retrieval import format_report

    encoder, trained = ensure_encoder(workdir / "encoders" / "builtin", banks / "starter", DEMO_ENCODER_STEPS, progress)
    training = encoder.info["training"]
    how = f"trained in {training['train_seconds']} s" if trained else "reused (same starter bank)"
    print(f"[demo] encoder {encoder.name} {encoder.hash[:12]}… {how}; held-out retrieval:")
    print(format_report(encoder.info["held_out_retrieval"]))
    opened = BankSet.open([banks])
    for path in manifests:
        out = workdir / "queries" / f"{path.name.removesuffix('.jsonl')}.npz"
        n = export_queries(path, encoder, opened, workdir / "embeddings", out, progress=progress)
        print(f"[demo] {n} target queries of {path.name} -> {out}")
    return encoder


def make_splits(banks: Path, manifest_dir: Path, render_dir: Path, workers: int | None, progress: bool) -> list[Path]:
    """Sample, check (schema, hashes, leakage) and render the demo's train/val/test manifests."""
    from manifests.bank_set import BankSet
    from manifests.check import check_manifests, format_report
    from manifests.schema import write_manifest
    from synth.render_dataset import render_manifest
    from synth.scene_sampler import sample_manifest
    from synth.scene_spec import load_spec

    spec = load_spec(DEMO_SPEC)
    opened = list(BankSet.open([banks]).banks.values())
    paths = []
    for split, n in DEMO_SPLITS:
        header, rows = sample_manifest(spec, opened, split, n, seed=0)
        paths.append(write_manifest(manifest_dir / f"{split}.jsonl", header, rows)[0])
    report = check_manifests(paths, banks=[banks])
    print(format_report(report))
    if not report.ok:
        raise ValueError("the demo splits failed their check (see above)")
    for path, (split, _) in zip(paths, DEMO_SPLITS, strict=True):
        result = render_manifest(path, render_dir / split, [banks], workers=workers, progress=progress)
        print(f"[demo] {split}: {dict(result.counts)} -> {render_dir / split}")
    return paths


def _cmd_demo(args: argparse.Namespace) -> int:
    return run_demo(Path(args.workdir), workers=args.workers, progress=not args.no_progress)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the main job end to end on the starter bank")
    p.add_argument("--workdir", default="foabench-data", help="where banks and outputs go")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_demo)
