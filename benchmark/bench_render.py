"""Benchmark: rendering speed on one core, against the bare FFT convolutions the same scenes need.

Run: ``.venv/bin/python -m foabench.benchmark.bench_render [--banks foabench-data/banks] [--spec dcase2025] [--n 100]``
(build the banks first with ``foabench demo``). Targets (issue 4): at least 10 mixtures/s on one core, and
end-to-end rendering no slower than 1.5x the bare convolutions (``scipy.signal.fftconvolve`` of every event
excerpt with each of its RIR's 4 channels and with its windowed W channel), measured in the same run. Inputs
are decoded before timing (file decoding and encoding are excluded from both sides); the render includes
level measurement, RIR spectra (cold in every pass), references, mixing and the clipping guard. Render and
reference are timed row by row, interleaved; the fastest of ``--passes`` passes is reported.
"""

from __future__ import annotations

import os

from foabench.synth.cli_args import positive_int

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core, before numpy loads its BLAS

import argparse  # noqa: E402
import time  # noqa: E402

from scipy.signal import fftconvolve  # noqa: E402

from foabench.synth.banks.bank_set import BankSet  # noqa: E402
from foabench.synth.scenes.render import Renderer, direct_window  # noqa: E402
from foabench.synth.scenes.render_split import encoded_files  # noqa: E402
from foabench.synth.scenes.sampler import sample_manifest  # noqa: E402
from foabench.synth.scenes.spec import load_spec  # noqa: E402


def bare_convolutions(renderer: Renderer, row: dict) -> None:
    """The plain FFT convolutions one row needs: every event with its RIR's 4 channels and its direct window."""
    for ev in row["events"]:
        src = renderer.audio(ev["source"], 1)[:, 0]
        x = src[ev["source_offset"] : ev["source_offset"] + ev["length"]]
        rir = renderer.audio(ev["rir"], 4)
        win = direct_window(int(renderer.banks.record(ev["rir"]).direct_sample), len(rir), row["sample_rate"])
        for c in range(4):
            fftconvolve(x, rir[:, c])
        fftconvolve(x, rir[win, 0])


def timed_pass(renderer: Renderer, rows: list[dict]) -> tuple[float, float]:
    """Seconds spent rendering and in bare convolutions over all rows, interleaved row by row so that any
    change in machine load hits both alike; RIR spectra start cold in every pass."""
    renderer.reset_spectra()
    t_render = t_conv = 0.0
    for row in rows:
        t0 = time.perf_counter()
        renderer.render(row)
        t1 = time.perf_counter()
        bare_convolutions(renderer, row)
        t_render += t1 - t0
        t_conv += time.perf_counter() - t1
    return t_render, t_conv


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--banks", nargs="+", default=["foabench-data/banks"], help="bank folders")
    ap.add_argument("--spec", default="dcase2025", help="scene spec (default dcase2025)")
    ap.add_argument("--split", default="train")
    ap.add_argument("--n", type=positive_int, default=100, help="mixtures (default 100)")
    ap.add_argument("--passes", type=positive_int, default=3, help="timed passes; the fastest is reported (default 3)")
    args = ap.parse_args(argv)

    banks = BankSet.open(args.banks)
    spec = load_spec(args.spec)
    _, rows = sample_manifest(spec, list(banks.banks.values()), args.split, args.n, seed=2026)
    renderer = Renderer(banks)
    t0 = time.perf_counter()
    for row in rows:  # decode every input once (excluded from both timings)
        for ev in row["events"]:
            renderer.audio(ev["source"], 1)
            renderer.audio(ev["rir"], 4)
        if row["noise"]:
            renderer.audio(row["noise"], 4)
    t_decode = time.perf_counter() - t0

    passes = [timed_pass(renderer, rows) for _ in range(args.passes)]
    t_render, t_conv = min(passes)  # the least disturbed pass (as timeit does)
    t0 = time.perf_counter()
    for row in rows[:20]:
        encoded_files(renderer.render(row))
    t_encode = (time.perf_counter() - t0) / min(20, len(rows)) - t_render / len(rows)

    events = sum(len(r["events"]) for r in rows)
    seconds = sum(r["num_frames"] / r["sample_rate"] for r in rows)
    per_pass = ", ".join(f"{len(rows) / r:.1f}" for r, _ in passes)
    print(f"{len(rows)} mixtures ({spec.name}, {seconds / len(rows):g} s each, {events} events), one core")
    print(f"passes: {per_pass} mixtures/s; the fastest is reported")
    print(f"render (no file I/O): {t_render:.2f} s -> {len(rows) / t_render:.1f} mixtures/s "
          f"({seconds / t_render:.0f}x real time)")  # fmt: skip
    print(
        f"bare FFT convolutions of the same events: {t_conv:.2f} s -> render / convolutions = {t_render / t_conv:.2f}"
    )
    print(
        f"decoding inputs once: {t_decode:.2f} s; FLAC encoding per mixture with references: {t_encode * 1000:.0f} ms"
    )
    ok = len(rows) / t_render >= 10 and t_render / t_conv <= 1.5
    print(f"targets (>= 10 mixtures/s, ratio <= 1.5): {'met' if ok else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
