"""The demo's separator stages: train the tiny models on the starter stream, then evaluate every separator.

Runs are named by a hash of their settings and the bank fingerprints, so a rerun reuses a finished run and
resumes an interrupted one. Evaluations go to ``results/<name>`` and resume the same way.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

#: the demo's trainable separators: (model, settings that differ from DEMO_COMMON)
DEMO_COMMON = {"config": "tiny", "spec": "tiny", "batch_size": 4, "warmup": 10, "val_every": 50, "ckpt_every": 50}
DEMO_MODELS = (
    ("bsast", {"steps": 150, "lr": 2e-3, "l1_weight": 10.0}),
    ("bsast-w", {"steps": 150, "lr": 2e-3, "l1_weight": 10.0}),
    ("resunet", {"steps": 600, "lr": 3e-3}),
)
#: the training-free baselines and bounds the demo scores beside the models
DEMO_BASELINES = (
    "mixture",
    "oracle-irm",
    "oracle-mwf",
    "cardioid:oracle",
    "hypercardioid:oracle",
    "max-re:oracle",
    "mpdr:oracle",
    "max-re:query",
    "mpdr:query",
)


def train_demo_models(banks: Path, workdir: Path, val: Path, workers: int | None, progress: bool,
                      steps_scale: float = 1.0) -> dict[str, Path]:  # fmt: skip
    """Train (or reuse/resume) each of :data:`DEMO_MODELS` for ``steps_scale`` times its steps; returns model
    name -> run folder."""
    from foabench.benchmark.train import TrainSettings, run_is_complete, train
    from foabench.synth.banks.bank_set import BankSet

    fingerprints = {n: b.fingerprint for n, b in sorted(BankSet.open([banks]).banks.items())}
    runs = {}
    for model, extra in DEMO_MODELS:
        fields = {"model": model, **DEMO_COMMON, **extra}
        if steps_scale != 1.0:
            steps = max(2, round(fields["steps"] * steps_scale))
            every = min(fields["val_every"], steps)
            fields.update(steps=steps, val_every=every, ckpt_every=every, warmup=min(fields["warmup"], steps // 2))
        key = json.dumps({**fields, "banks": fingerprints}, sort_keys=True)
        run = workdir / "runs" / f"{model}-tiny-{hashlib.sha256(key.encode()).hexdigest()[:8]}"
        settings = TrainSettings(out=str(run), banks=[str(banks)], val=str(val),
                                 workers=2 if workers is None else workers,
                                 encoder=str(workdir / "encoders" / "builtin"), cache=str(workdir / "embeddings"),
                                 **fields)  # fmt: skip
        if run_is_complete(run, settings.steps):
            print(f"[demo] reusing the finished run {run}")
        else:
            resume = (run / "checkpoints" / "last.pt").is_file()
            print(f"[demo] {'resuming' if resume else 'training'} {model}-tiny: {settings.steps} steps -> {run}")
            t0 = time.perf_counter()
            train(settings, resume=resume, progress=progress)
            print(f"[demo] {model}-tiny trained in {time.perf_counter() - t0:.1f} s")
        runs[model] = run
    return runs


def evaluate_demo(banks: Path, workdir: Path, test: Path, runs: dict[str, Path], progress: bool) -> list[Path]:
    """Score every trained model and baseline on the test split with audio and text queries; returns the
    results folders."""
    from foabench.benchmark.evaluate import EvalSettings, ResultsMismatch, evaluate_separator, format_summary
    from foabench.benchmark.separator_spec import load_separator
    from foabench.synth.queries.registry import open_encoder

    encoder = open_encoder(str(workdir / "encoders" / "builtin"))
    specs = [f"{model}:{run}" for model, run in runs.items()] + list(DEMO_BASELINES)
    folders = []
    for spec in specs:
        sep = load_separator(spec)
        model = spec.split(":")[0]
        slug = runs[model].name if model in runs else spec.replace(":", "-")  # a retrained run gets a new folder
        settings = EvalSettings(separator=spec, split=str(test), out=str(workdir / "results" / slug),
                                banks=[str(banks)], encoder=str(workdir / "encoders" / "builtin"),
                                cache=str(workdir / "embeddings"))  # fmt: skip
        t0 = time.perf_counter()
        try:
            summary = evaluate_separator(settings, progress=progress, encoder=encoder, separator=sep)
        except ResultsMismatch as exc:  # the demo owns its results: computed otherwise, they are redone
            print(f"[demo] {exc}\n[demo] evaluating {spec} again")
            settings.overwrite = True
            summary = evaluate_separator(settings, progress=progress, encoder=encoder, separator=sep)
        print(format_summary(summary, sep.name) + f"  [{time.perf_counter() - t0:.1f} s]")
        folders.append(Path(settings.out))
    return folders


def run_leaderboard(results: list[Path], out: Path):
    """Tables, plots and the HTML report of the demo's results (the CLI's path, which prints the table). The
    demo owns its leaderboard folder: a rerun replaces the board of its previous results."""
    from foabench.benchmark.leaderboard_cli import run_leaderboard as build

    return build(results, out, plots=True, report=True, overwrite=True)
