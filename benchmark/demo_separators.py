"""The demo's separator stages: train the tiny models on the starter stream, then evaluate every separator.

Runs are named by a hash of their settings and the bank fingerprints, so a rerun reuses a finished run and
resumes an interrupted one. Evaluations go to ``results/<name>`` and resume the same way.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

#: the demo's briefly trained separators: (model, the shipped recipe it follows, demo steps); the recipe's settings
#: apply except its budget and machine settings (:data:`DEMO_COMMON` and the steps replace them)
DEMO_MODELS = (("bsast", "bsast-tiny", 60), ("bsast-w", "bsast-w-tiny", 60), ("resunet", "resunet-tiny", 200))
#: (``val_every`` beyond the steps: one validation, the one every run ends with)
DEMO_COMMON = {"config": "tiny", "batch_size": 4, "warmup": 10, "val_every": 100_000,
               "ckpt_every": 50, "threads": 0, "compile": False}  # fmt: skip
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


def train_demo_models(banks: Path, workdir: Path, spec: Path, val: Path, workers: int | None, progress: bool,
                      steps_scale: float = 1.0) -> dict[str, Path]:  # fmt: skip
    """Train (or reuse/resume) each of :data:`DEMO_MODELS` on scenes of the ``spec`` file for ``steps_scale`` times
    its steps; returns model name -> run folder."""
    from foabench.benchmark.references import load_recipe
    from foabench.benchmark.train import TrainSettings, run_is_complete, train
    from foabench.synth.banks.bank_set import BankSet

    fingerprints = {n: b.fingerprint for n, b in sorted(BankSet.open([banks]).banks.items())}
    spec_sha = hashlib.sha256(spec.read_bytes()).hexdigest()
    runs = {}
    for model, recipe, demo_steps in DEMO_MODELS:
        fields = {k: v for k, v in load_recipe(recipe).items() if k not in ("description", "workers")}
        steps = max(2, round(demo_steps * steps_scale))
        fields.update(DEMO_COMMON, model=model, steps=steps, ckpt_every=min(DEMO_COMMON["ckpt_every"], steps),
                      warmup=min(DEMO_COMMON["warmup"], steps // 2))  # fmt: skip
        key = json.dumps({**fields, "spec_sha256": spec_sha, "banks": fingerprints}, sort_keys=True)
        run = workdir / "runs" / f"{model}-tiny-{hashlib.sha256(key.encode()).hexdigest()[:8]}"
        settings = TrainSettings(out=str(run), banks=[str(banks)], val=str(val), spec=str(spec),
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
    specs = matching_references(encoder.hash) + [f"{model}:{run}" for model, run in runs.items()]
    specs += list(DEMO_BASELINES)
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


def matching_references(encoder_hash: str) -> list[str]:
    """``reference:NAME`` of every shipped reference trained with this encoder (the others are named and skipped:
    their queries would be meaningless to them)."""
    from foabench.benchmark.references import shipped

    refs = shipped()
    other = sorted(n for n, info in refs.items() if info.get("encoder_hash") != encoder_hash)
    if other:
        print(f"[demo] not scoring the shipped references {', '.join(other)}: they were trained with another query "
              f"encoder than this one ({encoder_hash[:12]}…; run the demo without --retrain-encoder)")  # fmt: skip
    if not refs:
        print("[demo] no reference checkpoint is shipped with this foabench")
    return [f"reference:{n}" for n in sorted(refs) if n not in other]


def run_leaderboard(results: list[Path], out: Path):
    """Tables, plots and the HTML report of the demo's results (the CLI's path, which prints the table). The
    demo owns its leaderboard folder: a rerun replaces the board of its previous results."""
    from foabench.benchmark.leaderboard_cli import run_leaderboard as build

    return build(results, out, plots=True, report=True, overwrite=True)
