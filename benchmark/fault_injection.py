"""Faults survived, measured: ``render``, ``export-hf``, ``eval`` and ``train`` killed with SIGKILL at random
moments, resumed, and compared with an uninterrupted run.

Each command first runs once uninterrupted into ``WORK/reference/<command>`` (its wall time ``T`` sets the
kill window). Then, in ``WORK/faulted/<command>``, the same command is started again and again, each time
killed (the whole process group, pool and DataLoader workers included) after a random delay drawn uniformly
from ``[0.05 T, T]`` with a seeded generator, and finally run to completion; when a run finishes before its
kill, the folder is compared and a new cycle starts in a fresh folder, until ``--kills`` kills have landed.
What is compared, per cycle, with the reference:

- ``render``: every file of the render folder, byte for byte;
- ``export-hf``: every shard, ``shards.json`` and the dataset card, byte for byte;
- ``eval``: the result rows (as parsed JSON, by key) and the summary without its timing;
- ``train``: the loss of every step (``metrics.jsonl``, the last record of each step) and every tensor of
  the final checkpoint's model and optimizer state.

Run: ``python -m foabench.benchmark.fault_injection --banks B --manifest M --encoder E --spec S --work DIR
[--kills 20] [--seed 0] [--commands render export-hf eval train]`` (options: ``--separator``,
``--train-steps``, ``--model-overrides``). It prints kills landed and differences found per command, and exits
1 when any difference is found.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from foabench.synth.cli_args import positive_int

COMMANDS = ("render", "export-hf", "eval", "train")
#: a tiny BSAST for the train command (16 kHz, one block): the fault check is about resuming, not learning
TINY_MODEL = {"sample_rate": 16000, "n_fft": 512, "hop": 256, "band_edges_hz": [1000 * (k + 1) for k in range(7)],
              "dim": 8, "depth": 1, "heads": 2, "film_hidden": 8}  # fmt: skip


@dataclass
class Setup:
    """The inputs every command reads."""

    banks: list[str]
    manifest: str
    encoder: str
    cache: str
    spec: str
    separator: str = "cardioid:oracle"
    train_steps: int = 8
    model_overrides: dict = field(default_factory=lambda: dict(TINY_MODEL))


@dataclass
class Outcome:
    command: str
    kills: int = 0
    cycles: int = 0
    differences: list[str] = field(default_factory=list)
    reference_s: float = 0.0


def argv(command: str, setup: Setup, out: Path) -> list[str]:
    """The ``foabench`` arguments of ``command`` writing into ``out`` (the same on every (re)start)."""
    banks = ["--banks", *setup.banks]
    if command == "render":
        return ["render", "--manifest", setup.manifest, *banks, "--out", str(out), "--workers", "2", "--no-progress"]
    if command == "export-hf":
        return ["export-hf", "--manifest", setup.manifest, *banks, "--out", str(out), "--encoder", setup.encoder,
                "--cache", setup.cache, "--workers", "2", "--shard-size-mb", "0.5", "--no-progress"]  # fmt: skip
    if command == "eval":
        return ["eval", "--separator", setup.separator, "--manifest", setup.manifest, *banks, "--out", str(out),
                "--encoder", setup.encoder, "--cache", setup.cache, "--batch-size", "1", "--no-progress"]  # fmt: skip
    if command == "train":
        return ["train", "--model", "bsast", "--model-overrides", json.dumps(setup.model_overrides), *banks,
                "--spec", setup.spec, "--out", str(out), "--steps", str(setup.train_steps), "--batch-size", "2",
                "--warmup", "1", "--workers", "1", "--ckpt-every", "2", "--val-every", str(setup.train_steps),
                "--log-every", "1", "--encoder", setup.encoder, "--cache", setup.cache, "--resume",
                "--no-progress"]  # fmt: skip
    raise ValueError(f"unknown command {command!r} (known: {', '.join(COMMANDS)})")


def _start(args: list[str]) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "foabench.benchmark.cli", *args]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def _finish(args: list[str]) -> float:
    """Run to completion; the wall time. A failure is an error with the command's stderr."""
    t0 = time.perf_counter()
    proc = _start(args)
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"foabench {' '.join(args[:1])} failed ({proc.returncode}): {err.decode()[-2000:]}")
    return time.perf_counter() - t0


def _killed(args: list[str], delay: float) -> bool:
    """Start, and SIGKILL the process group after ``delay`` s; False when it finished first."""
    proc = _start(args)
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return True
    if proc.returncode != 0:
        raise RuntimeError(f"foabench {args[0]} failed ({proc.returncode}): {proc.stderr.read().decode()[-2000:]}")
    return False


def _tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}  # fmt: skip


def compare_files(ref: Path, got: Path) -> list[str]:
    """Files that differ, are missing or are extra, between two folders."""
    a, b = _tree(ref), _tree(got)
    return [f"{name}: {'missing' if name not in b else 'extra' if name not in a else 'bytes differ'}"
            for name in sorted(set(a) | set(b)) if a.get(name) != b.get(name)]  # fmt: skip


def compare_results(ref: Path, got: Path) -> list[str]:
    """Result rows (by key) and the summary without timing."""
    from foabench.benchmark.result_rows import read_result_rows

    diffs = []
    rows_a = {r["key"]: r for r in read_result_rows(ref / "rows.jsonl")}
    rows_b = {r["key"]: r for r in read_result_rows(got / "rows.jsonl")}
    if len(rows_b) != len(read_result_rows(got / "rows.jsonl")):
        diffs.append("rows.jsonl: a key is written twice")
    diffs += [f"rows.jsonl {key}: {'missing' if key not in rows_b else 'extra' if key not in rows_a else 'differs'}"
              for key in sorted(set(rows_a) | set(rows_b)) if rows_a.get(key) != rows_b.get(key)]  # fmt: skip

    def summary(folder: Path) -> dict:
        data = json.loads((folder / "summary.json").read_text())
        data.pop("separator_seconds", None)
        return data

    if summary(ref) != summary(got):
        diffs.append("summary.json differs")
    return diffs


def compare_runs(ref: Path, got: Path) -> list[str]:
    """Per-step losses and the final checkpoint's state, tensor by tensor."""
    import torch

    def losses(folder: Path) -> dict[int, float]:
        out = {}
        for line in (folder / "metrics.jsonl").read_text().splitlines():
            record = json.loads(line)
            if "loss" in record:
                out[record["step"]] = record["loss"]
        return out

    la, lb = losses(ref), losses(got)
    diffs = [f"metrics.jsonl step {s}: loss {la.get(s)} != {lb.get(s)}" for s in sorted(set(la) | set(lb))
             if la.get(s) != lb.get(s)]  # fmt: skip
    a = torch.load(ref / "checkpoints" / "last.pt", map_location="cpu", weights_only=False)
    b = torch.load(got / "checkpoints" / "last.pt", map_location="cpu", weights_only=False)
    if a["step"] != b["step"]:
        diffs.append(f"last.pt: step {a['step']} != {b['step']}")
    for name, tensor in a["model"].items():
        if not torch.equal(tensor, b["model"][name]):
            diffs.append(f"last.pt model {name} differs")
    flat_a = [t for s in a["optimizer"]["state"].values() for t in s.values() if torch.is_tensor(t)]
    flat_b = [t for s in b["optimizer"]["state"].values() for t in s.values() if torch.is_tensor(t)]
    if len(flat_a) != len(flat_b) or not all(torch.equal(x, y) for x, y in zip(flat_a, flat_b, strict=False)):
        diffs.append("last.pt optimizer state differs")
    return diffs


COMPARE: dict[str, Callable[[Path, Path], list[str]]] = {
    "render": compare_files, "export-hf": compare_files, "eval": compare_results, "train": compare_runs,
}  # fmt: skip


def inject(command: str, setup: Setup, work: Path, kills: int, rng: np.random.Generator,
           progress: Callable[[str], None] = print) -> Outcome:  # fmt: skip
    """Reference run, then killed-and-resumed cycles until ``kills`` kills landed; differences per cycle."""
    outcome = Outcome(command)
    ref = work / "reference" / command
    shutil.rmtree(ref, ignore_errors=True)
    outcome.reference_s = _finish(argv(command, setup, ref))
    while outcome.kills < kills:
        out = work / "faulted" / command / f"cycle{outcome.cycles:02d}"
        shutil.rmtree(out, ignore_errors=True)
        while outcome.kills < kills and _killed(
            argv(command, setup, out), rng.uniform(0.05, 1.0) * outcome.reference_s
        ):
            outcome.kills += 1
        _finish(argv(command, setup, out))  # resume to the end (a no-op when the last run finished)
        outcome.differences += [f"cycle {outcome.cycles}: {d}" for d in COMPARE[command](ref, out)]
        outcome.cycles += 1
        progress(f"[faults] {command}: {outcome.kills}/{kills} kills, {outcome.cycles} cycles, "
                 f"{len(outcome.differences)} differences")  # fmt: skip
    return outcome


def run_fault_injection(setup: Setup, work: str | Path, kills: int = 20, seed: int = 0,
                        commands: tuple[str, ...] = COMMANDS,
                        progress: Callable[[str], None] = print) -> list[Outcome]:  # fmt: skip
    """:func:`inject` for each command, each with its own seeded generator."""
    work = Path(work)
    return [inject(c, setup, work, kills, np.random.default_rng([seed, i]), progress) for i, c in enumerate(commands)]


def format_outcomes(outcomes: list[Outcome]) -> str:
    lines = ["| command | uninterrupted run | kills survived | cycles | differences |", "|---|---|---|---|---|"]
    lines += [f"| {o.command} | {o.reference_s:.1f} s | {o.kills} | {o.cycles} | {len(o.differences)} |"
              for o in outcomes]  # fmt: skip
    lines += [f"- {o.command} {d}" for o in outcomes for d in o.differences[:10]]
    return "\n".join(lines)


def main(argv_: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    ap.add_argument("--banks", nargs="+", default=["foabench-data/banks"], help="bank folders")
    ap.add_argument("--manifest", default="foabench-data/manifests/test.jsonl", help="the manifest to render and score")
    ap.add_argument("--encoder", default="foabench-data/encoders/builtin", help="query encoder")
    ap.add_argument("--cache", default="foabench-data/embeddings", help="embedding cache")
    ap.add_argument("--spec", default="tiny", help="scene spec of the training stream")
    ap.add_argument("--work", required=True, help="scratch folder for the reference and faulted outputs")
    ap.add_argument("--kills", type=positive_int, default=20, help="kills to land per command")
    ap.add_argument("--seed", type=int, default=0, help="seed of the kill times")
    ap.add_argument("--commands", nargs="+", choices=COMMANDS, default=list(COMMANDS), help="commands to fault")
    ap.add_argument("--separator", default="cardioid:oracle", help="separator the eval command scores")
    ap.add_argument("--train-steps", type=positive_int, default=8, help="steps of the train command")
    ap.add_argument("--model-overrides", default=json.dumps(TINY_MODEL), help="JSON config of the trained model")
    args = ap.parse_args(argv_)
    setup = Setup(banks=args.banks, manifest=args.manifest, encoder=args.encoder, cache=args.cache, spec=args.spec,
                  separator=args.separator, train_steps=args.train_steps,
                  model_overrides=json.loads(args.model_overrides))  # fmt: skip
    outcomes = run_fault_injection(setup, args.work, args.kills, args.seed, tuple(args.commands))
    print(format_outcomes(outcomes))
    return 1 if any(o.differences for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
