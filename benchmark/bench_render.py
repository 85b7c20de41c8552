"""Benchmark: rendering speed on one core against a straightforward renderer and a SpatialScaper-like path.

Run: ``.venv/bin/python -m foabench.benchmark.bench_render [--banks foabench-data/banks] [--spec dcase2025] [--n 100]``
(build the banks first with ``foabench demo``). On the same rows, timed row by row and interleaved (so that a
change in machine load hits every path alike), the fastest of ``--passes`` passes, inputs decoded before timing:

- foabench ``Renderer.render``: the mixture only; the mixture and every target's ``direct``; the mixture and
  all references (``direct``, ``dry``, ``wet``). RIR spectra are cold at the start of every pass (as for a
  fresh worker); ``warm`` repeats the pass with the spectra of the previous one (a worker that has rendered
  before: a long split, dynamic mixing). The renderers' caches hold 2 GB of spectra, so that a pass's spectra
  (about 550 MB for 100 ``dcase2025`` mixtures) all stay: with the default 512 MB the least recently used were
  evicted before their reuse and the warm phase measured cold spectra.
- straightforward: the same scene, plainly: the noise looped and set to its level, then per event
  ``scipy.signal.fftconvolve`` of the float32 excerpt with its 4-channel float32 RIR, tails kept to the
  mixture's end, at its level (W RMS over its active samples), summed.
- SpatialScaper-like: the same noise (in float64), then its static path,
  ``fftconvolve(audio, ir, mode="full", axes=0)[:len(audio)]`` per event with float64 RIRs (as its SOFA files
  store them), each event at its level, summed.

Goals (issue 18): mixture + ``direct`` at most 0.8x the straightforward path and at least 2x faster than the
SpatialScaper-like one; all references at most 1.2x the straightforward path.
"""

from __future__ import annotations

import os

from foabench.synth.cli_args import positive_int

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core, before numpy loads its BLAS

import argparse  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402
from scipy.signal import fftconvolve  # noqa: E402

from foabench.synth.banks.bank_set import BankSet  # noqa: E402
from foabench.synth.scenes.levels import gain_for_level, rms  # noqa: E402
from foabench.synth.scenes.mix import level_reference  # noqa: E402
from foabench.synth.scenes.render import REFERENCES, Renderer  # noqa: E402
from foabench.synth.scenes.render_split import encoded_files  # noqa: E402
from foabench.synth.scenes.sampler import sample_manifest  # noqa: E402
from foabench.synth.scenes.spec import load_spec  # noqa: E402


def _background(renderer: Renderer, row: dict, dtype: type) -> np.ndarray:
    """The row's diffuse noise looped from its offset and set to its level (zeros without noise)."""
    n, noise = row["num_frames"], row["noise"]
    if noise is None:
        return np.zeros((n, 4), dtype=dtype)
    clip = renderer.audio(noise, 4)
    looped = np.take(clip, (noise["offset"] + np.arange(n)) % len(clip), axis=0).astype(dtype)
    looped *= dtype(gain_for_level(rms(looped[:, 0]), noise["level_dbfs"]))
    return looped


def straightforward(renderer: Renderer, row: dict) -> np.ndarray:
    """The mixture's events, convolved one by one with ``fftconvolve`` (tails kept), at their levels, summed."""
    n = row["num_frames"]
    mixture = _background(renderer, row, np.float32)
    for ev in row["events"]:
        x = renderer.audio(ev["source"], 1)[ev["source_offset"] : ev["source_offset"] + ev["length"]]
        y = fftconvolve(x, renderer.audio(ev["rir"], 4), axes=0)[: n - ev["onset"]]
        y *= np.float32(gain_for_level(rms(y[: ev["length"], 0]), level_reference(row) + ev["snr_db"]))
        mixture[ev["onset"] : ev["onset"] + len(y)] += y
    return mixture


def spatialscaper_like(renderer: Renderer, rirs64: dict, row: dict) -> np.ndarray:
    """SpatialScaper's static spatialization per event (float64 RIR, output cut to the excerpt), summed."""
    n = row["num_frames"]
    mixture = _background(renderer, row, np.float64)
    for ev in row["events"]:
        x = renderer.audio(ev["source"], 1)[ev["source_offset"] : ev["source_offset"] + ev["length"]]
        y = fftconvolve(x, rirs64[ev["rir"]["path"]], mode="full", axes=0)[: len(x)][: n - ev["onset"]]
        y *= gain_for_level(rms(y[:, 0]), level_reference(row) + ev["snr_db"])
        mixture[ev["onset"] : ev["onset"] + len(y)] += y
    return mixture


def _render(renderer: Renderer, names: tuple[str, ...]) -> Callable[[dict], None]:
    """Render a row and read the named references of every target."""

    def run(row: dict) -> None:
        for refs in renderer.render(row).references:
            for name in names:
                refs[name]

    return run


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--banks", nargs="+", default=["foabench-data/banks"], help="bank folders")
    ap.add_argument("--spec", default="dcase2025", help="scene spec")
    ap.add_argument("--split", default="train", help="split the rows are sampled from")
    ap.add_argument("--n", type=positive_int, default=100, help="mixtures")
    ap.add_argument("--passes", type=positive_int, default=3, help="timed passes; the fastest is reported")
    args = ap.parse_args(argv)

    banks = BankSet.open(args.banks)
    spec = load_spec(args.spec)
    _, rows = sample_manifest(spec, list(banks.banks.values()), args.split, args.n, seed=2026)
    # caches large enough to hold a pass's spectra, so that the warm phase is warm
    renderers = {
        name: Renderer(banks, cache_mb=4096) for name in ("mixture only", "mixture + direct", "all references")
    }
    renderer = renderers["all references"]
    rirs64 = {}
    for row in rows:  # decode every input once (excluded from every timing)
        for r in renderers.values():
            for ev in row["events"]:
                r.audio(ev["source"], 1)
                r.audio(ev["rir"], 4)
            if row["noise"]:
                r.audio(row["noise"], 4)
        for ev in row["events"]:
            rirs64[ev["rir"]["path"]] = renderer.audio(ev["rir"], 4).astype(np.float64)

    reads = {"mixture only": (), "mixture + direct": ("direct",), "all references": REFERENCES}
    ours = {f"foabench, {k}": _render(renderers[k], names) for k, names in reads.items()}
    peers = {
        "straightforward fftconvolve": lambda row: straightforward(renderer, row),
        "SpatialScaper-like (float64)": lambda row: spatialscaper_like(renderer, rirs64, row),
    }
    best: dict[str, float] = {}
    for _ in range(args.passes):
        for r in renderers.values():
            r.reset_spectra()  # cold, then warm with the spectra of the cold phase
        total: dict[str, float] = {}
        for phase, paths in (("", {**ours, **peers}), (" (warm)", ours)):
            for row in rows:
                for name, run in paths.items():
                    t0 = time.perf_counter()
                    run(row)
                    total[name + phase] = total.get(name + phase, 0.0) + time.perf_counter() - t0
        best = {k: min(v, best.get(k, v)) for k, v in total.items()}

    t0 = time.perf_counter()
    for row in rows[:20]:
        encoded_files(renderer.render(row))
    t_encode = (time.perf_counter() - t0) / min(20, len(rows)) - best["foabench, all references (warm)"] / len(rows)

    events = sum(len(r["events"]) for r in rows)
    seconds = sum(r["num_frames"] / r["sample_rate"] for r in rows)
    ref = best["straightforward fftconvolve"]
    ss = best["SpatialScaper-like (float64)"]
    print(f"{len(rows)} mixtures ({spec.name}, {seconds / len(rows):g} s each, {events} events, "
          f"{len(rirs64)} RIRs), one core, fastest of {args.passes} passes")  # fmt: skip
    print(f"{'path':<40} {'ms/mixture':>10} {'/ straight':>10} {'SpatialScaper /':>16}")
    for name, t in best.items():
        print(f"{name:<40} {1000 * t / len(rows):>10.1f} {t / ref:>10.2f} {ss / t:>16.2f}")
    print(f"FLAC encoding per mixture with its references: {t_encode * 1000:.0f} ms")
    for when in ("", " (warm)"):
        direct, every = best[f"foabench, mixture + direct{when}"], best[f"foabench, all references{when}"]
        goals = {
            "mixture + direct <= 0.8x straightforward": direct <= 0.8 * ref,
            "mixture + direct >= 2x faster than SpatialScaper-like": ss >= 2 * direct,
            "all references <= 1.2x straightforward": every <= 1.2 * ref,
        }
        for goal, met in goals.items():
            print(f"goal, {'warm' if when else 'cold'} spectra: {goal}: {'met' if met else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
