"""Benchmark: size, compute and CPU inference speed of the trainable separators per preset.

Run: ``.venv/bin/python -m foabench.benchmark.bench_models [--models bsast bsast-w resunet] [--configs paper tiny]
[--seconds 10]`` (each model runs the presets it has among ``--configs``).

For each model and preset: parameter count; MACs per second of audio, counted with
``torch.utils.flop_counter.FlopCounterMode`` (MACs = FLOPs / 2) on a 4 s and on a ``--seconds`` clip with
SDPA forced to its math backend so the attention products are counted (the CPU flash kernel is not in the
counter's registry); the STFT/iSTFT FFTs are not counted (a few MFLOP per second of audio). Time attention
is quadratic in the number of frames, so MACs per second grow slowly with clip length. Real-time factor =
wall time of one forward pass / audio duration, on a ``--seconds`` clip under ``torch.inference_mode``, float32,
with as many intra-op threads as the machine has cores (printed); the median of ``--repeats`` runs after one
warm-up run.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from foabench.benchmark.model_registry import MODELS
from foabench.benchmark.train import make_model
from foabench.model.bsast_config import PRESETS as BSAST_PRESETS
from foabench.model.resunet_config import PRESETS as RESUNET_PRESETS
from foabench.synth.cli_args import positive_int

PRESETS = {"bsast": BSAST_PRESETS, "bsast-w": BSAST_PRESETS, "resunet": RESUNET_PRESETS}


def macs_per_second(model: torch.nn.Module, channels: int, seconds: float) -> float:
    """Multiply-accumulates of one forward pass on a ``seconds`` clip, divided by ``seconds``."""
    sr = model.config.sample_rate
    x = torch.randn(1, channels, round(seconds * sr)) * 0.1
    q = torch.nn.functional.normalize(torch.randn(1, model.config.query_dim), dim=-1)
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), sdpa_kernel(SDPBackend.MATH), counter:
        model(x, q)
    return counter.get_total_flops() / 2 / seconds


def real_time_factor(model: torch.nn.Module, channels: int, seconds: float, repeats: int) -> float:
    sr = model.config.sample_rate
    x = torch.randn(1, channels, round(seconds * sr)) * 0.1
    q = torch.nn.functional.normalize(torch.randn(1, model.config.query_dim), dim=-1)
    times = []
    with torch.inference_mode():
        model(x, q)  # warm-up
        for _ in range(repeats):
            t0 = time.perf_counter()
            model(x, q)
            times.append(time.perf_counter() - t0)
    return statistics.median(times) / seconds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=sorted(MODELS), choices=sorted(MODELS))
    ap.add_argument("--configs", nargs="+", default=["paper", "small", "tiny"])
    ap.add_argument("--seconds", type=float, default=10.0, help="clip length for the RTF and second MAC count")
    ap.add_argument("--repeats", type=positive_int, default=3)
    ap.add_argument("--threads", type=positive_int, default=os.cpu_count() or 1)
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {platform.processor() or platform.machine()}, threads {torch.get_num_threads()}")
    print(f"RTF on a {args.seconds:g} s clip, median of {args.repeats} runs, float32, inference_mode\n")
    s = f"{args.seconds:g}"
    print(f"| model | config | C | params | GMAC/s audio (4 s clip) | GMAC/s audio ({s} s clip) | RTF ({s} s, CPU) |")
    print("|---|---|---|---|---|---|---|")
    for model_name in args.models:
        for name in [c for c in args.configs if c in PRESETS[model_name]]:
            model = make_model(model_name, name, {}, 384).eval()
            channels = model.config.n_channels
            m4 = macs_per_second(model, channels, 4.0)
            mlong = macs_per_second(model, channels, args.seconds)
            rtf = real_time_factor(model, channels, args.seconds, args.repeats)
            n_params = model.num_parameters()
            cells = [model_name, name, channels, f"{n_params:,}", f"{m4 / 1e9:.2f}", f"{mlong / 1e9:.2f}", f"{rtf:.3f}"]
            print("| " + " | ".join(map(str, cells)) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
