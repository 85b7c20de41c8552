"""Benchmark: seconds per simulated AmbiX RIR on one core, against pyroomacoustics' own SH-directivity FOA RIR.

Run: ``.venv/bin/python -m foabench.benchmark.bench_rooms`` (options: ``--rirs``, ``--rt60``, ``--reference``).
Target (issue 3): <= 0.5 s per RIR for RT60 up to 1 s at 32 kHz on one core. The script also prints the
direction error of the direct part (pseudo-intensity, +/- 0.25 ms around the direct peak), the worst channel
ratio error at the direct peak against the closed-form plane wave, and the measured-vs-requested RT60 error.
"""

from __future__ import annotations

import os

from foabench.synth.cli_args import positive_int

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core, before numpy loads its BLAS

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import pyroomacoustics as pra  # noqa: E402

from foabench.synth.foa import angular_distance, encode_direction, intensity_direction  # noqa: E402
from foabench.synth.rooms.acoustics import analyse_rir  # noqa: E402
from foabench.synth.rooms.sampler import RoomSpec, plan_rirs  # noqa: E402
from foabench.synth.rooms.simulate import RoomParams, shoebox, simulate_rir, solve_absorption  # noqa: E402


def pyroomacoustics_sh_rir(params: RoomParams) -> np.ndarray:
    """The same room through pyroomacoustics' ISM with its real-SH microphone directivities (ACN 0..3)."""
    _, alpha, _, _ = solve_absorption(params)
    room = shoebox(params, alpha, air_absorption=params.air_absorption)
    acn = [(0, 0), (-1, 1), (0, 1), (1, 1)]
    mics = np.tile(np.asarray(params.mic_position, dtype=float)[:, None], (1, 4))
    room.add_microphone_array(
        pra.MicrophoneArray(
            mics, params.sample_rate, [pra.directivities.RealSphericalHarmonicsDirectivity(m, n) for m, n in acn]
        )
    )
    room.compute_rir()
    return np.stack([np.asarray(r[0]) for r in room.rir[:4]], axis=-1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rirs", type=positive_int, default=32, help="RIRs to simulate (default 32)")
    ap.add_argument("--rt60", type=float, default=1.0, help="requested RT60 of every room (default 1.0 s)")
    ap.add_argument("--reference", type=int, default=4, help="RIRs also made by pyroomacoustics (default 4)")
    args = ap.parse_args(argv)

    spec = RoomSpec(rooms=max(1, args.rirs // 4), rirs_per_room=4, seed=2026, rt60=(args.rt60, args.rt60))
    plan = plan_rirs(spec)[: args.rirs]
    simulate_rir(plan[0].params, plan[0].seed)  # warm-up (imports, FFT plans)
    times, dir_err, ratio_err, rt_err = [], [], [], []
    for item in plan:
        t0 = time.perf_counter()
        sim = simulate_rir(item.params, item.seed)
        times.append(time.perf_counter() - t0)
        fig = analyse_rir(sim.foa, sim.sample_rate)
        d = fig["direct_sample"]
        dir_err.append(angular_distance(*intensity_direction(sim.foa[d - 8 : d + 9]), sim.azimuth, sim.elevation))
        peak = sim.foa[d].astype(np.float64)
        ratio_err.append(float(np.max(np.abs(peak / peak[0] - encode_direction(sim.azimuth, sim.elevation)))))
        rt_err.append((fig["rt60_measured"] - item.params.rt60) / item.params.rt60)
    ref_times = []
    for item in plan[: args.reference]:
        t0 = time.perf_counter()
        pyroomacoustics_sh_rir(item.params)
        ref_times.append(time.perf_counter() - t0)

    t = np.array(times)
    print(
        f"simulated {len(t)} RIRs, RT60 {args.rt60:.2f} s, {spec.sample_rate} Hz, ISM order {spec.ism_order}, one core"
    )
    stats = f"mean {t.mean():.3f}  median {np.median(t):.3f}  p95 {np.percentile(t, 95):.3f}  max {t.max():.3f}"
    print(f"seconds per RIR: {stats}")
    if ref_times:
        ours = float(np.mean(t[: len(ref_times)]))
        print(
            f"pyroomacoustics SH-directivity FOA RIR (same rooms, ISM only): {np.mean(ref_times):.3f} s per RIR "
            f"-> foabench is {np.mean(ref_times) / ours:.1f}x faster"
        )
    e = np.array(dir_err)
    print(f"direct-part direction error (deg): mean {e.mean():.3f}  median {np.median(e):.3f}  max {e.max():.3f}")
    print(f"direct-peak channel ratio error vs plane wave: max {max(ratio_err):.2e}")
    r = np.abs(rt_err)
    print(f"RT60 measured vs requested: mean |err| {100 * r.mean():.1f} %  max {100 * r.max():.1f} %")
    print(f"target <= 0.5 s per RIR: {'met' if t.max() <= 0.5 else 'MISSED'} (worst {t.max():.3f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
