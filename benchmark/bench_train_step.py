"""Benchmark: training steps per second of the trainable separators, fast path against reference path.

Run: ``.venv/bin/python -m foabench.benchmark.bench_train_step [--configs tiny small] [--batch-size 4]
[--seconds 2] [--threads 2] [--rounds 5] [--compile]``

One training step = forward, ``-SI-SDR + lambda L1`` loss, backward, gradient clipping and an AdamW step, on a
batch of random FOA mixtures (``--batch-size`` x ``--seconds`` at 32 kHz) and unit-norm queries; data loading
is not included. For each preset, the variants run interleaved (round-robin, ``--rounds`` rounds of
``--steps`` steps each after one warm-up round) on the same batch and threads, and the table gives the median
steps/s of each and its ratio to the reference path:

- BSAST ``reference``: the band-split encoder and spectrum heads band by band, RoPE on permuted queries and
  keys, SDPA on every axis (``model.reference_path = True``),
- BSAST ``fast``: the same model with the bands batched in padded groups (the default),
- ``fast + compiled blocks`` (with ``--compile``): the fast path with its transformer blocks under
  ``torch.compile``, as ``foabench train --compile`` runs it (the first step, which compiles, is in the last column),
- ResUNet (``--models resunet``): eager against ``torch.compile`` of the whole model (``foabench train --compile``).

Both BSAST paths share one set of weights; ``tests/test_bsast.py`` checks that they compute the same outputs and
gradients.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

from foabench.benchmark.train import compile_blocks, make_model
from foabench.model.loss import bsast_loss
from foabench.synth.cli_args import positive_int


def _step_fn(model: torch.nn.Module, forward, x: torch.Tensor, q: torch.Tensor, ref: torch.Tensor):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step() -> None:
        loss, _ = bsast_loss(forward(x, q), ref, lam=10.0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()

    return step


def variants(model_name: str, config: str, use_compile: bool) -> list[tuple[str, torch.nn.Module, object]]:
    """``(label, model, forward)`` of each variant of one preset; BSAST variants share their weights."""
    torch.manual_seed(0)
    model = make_model(model_name, config, {}, 384)
    out: list[tuple[str, torch.nn.Module, object]] = []
    if hasattr(model, "reference_path"):
        reference = make_model(model_name, config, {}, 384)
        reference.load_state_dict(model.state_dict())
        reference.reference_path = True
        out.append(("reference (per band)", reference, reference))
        out.append(("fast (batched bands)", model, model))
    else:
        out.append(("eager", model, model))
    if use_compile:
        compiled_model = make_model(model_name, config, {}, 384)
        compiled_model.load_state_dict(model.state_dict())
        compile_blocks(compiled_model)  # as `foabench train --compile` does
        label = "fast + compiled blocks" if hasattr(compiled_model, "blocks") else "torch.compile"
        out.append((label, compiled_model, compiled_model))
    return out


def measure(model_name: str, config: str, batch: int, seconds: float, rounds: int, steps: int,
            use_compile: bool) -> list[tuple[str, float, float]]:  # fmt: skip
    """``(label, median steps/s, first-round seconds)`` per variant, interleaved round by round."""
    found = variants(model_name, config, use_compile)
    channels = found[0][1].config.n_channels
    gen = torch.Generator().manual_seed(1)
    length = round(seconds * found[0][1].config.sample_rate)
    x = torch.randn(batch, channels, length, generator=gen) * 0.1
    q = torch.nn.functional.normalize(torch.randn(batch, 384, generator=gen), dim=-1)
    ref = torch.randn(batch, length, generator=gen) * 0.05
    steps_fns = [_step_fn(model, fwd, x, q, ref) for _, model, fwd in found]
    first = []
    for fn in steps_fns:  # warm-up (and compilation)
        t0 = time.perf_counter()
        fn()
        first.append(time.perf_counter() - t0)
    rates: list[list[float]] = [[] for _ in found]
    for _ in range(rounds):
        for i, fn in enumerate(steps_fns):
            t0 = time.perf_counter()
            for _ in range(steps):
                fn()
            rates[i].append(steps / (time.perf_counter() - t0))
    return [(label, statistics.median(r), f) for (label, _, _), r, f in zip(found, rates, first, strict=True)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["bsast"], choices=["bsast", "bsast-w", "resunet"])
    ap.add_argument("--configs", nargs="+", default=["tiny", "small"])
    ap.add_argument("--batch-size", type=positive_int, default=4)
    ap.add_argument("--seconds", type=float, default=2.0, help="length of each training mixture")
    ap.add_argument("--threads", type=positive_int, default=2, help="intra-op threads (torch.set_num_threads)")
    ap.add_argument("--rounds", type=positive_int, default=5)
    ap.add_argument("--steps", type=positive_int, default=3, help="steps per variant per round")
    ap.add_argument("--compile", action="store_true", help="add a torch.compile variant of the fast path")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {platform.processor() or platform.machine()}, threads {torch.get_num_threads()}")
    print(f"batch {args.batch_size} x {args.seconds:g} s, median of {args.rounds} interleaved rounds of "
          f"{args.steps} steps\n")  # fmt: skip
    print("| model | config | path | steps/s | vs reference | first step (s) |")
    print("|---|---|---|---|---|---|")
    for model_name in args.models:
        for config in args.configs:
            rows = measure(model_name, config, args.batch_size, args.seconds, args.rounds, args.steps, args.compile)
            base = rows[0][1]
            for label, rate, first in rows:
                print(f"| {model_name} | {config} | {label} | {rate:.3f} | {rate / base:.2f}x | {first:.1f} |",
                      flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
