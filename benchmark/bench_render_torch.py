"""Benchmark: dynamic mixing on a torch device against the numpy renderer, on the same scenes.

Run: ``.venv/bin/python -m foabench.benchmark.bench_render_torch --banks foabench-data/banks [--spec dcase2025]
[--n 24] [--device cuda] [--batch 16 64 256]``. The scenes' inputs are gathered (decoded, checked) first, then
timed: the numpy path (:func:`~foabench.synth.scenes.mix.mix_scene`, one core, cold caches, mixture and the
chosen target's ``direct``: what a training step reads) scene by scene, and
:class:`~foabench.synth.scenes.render_torch.DeviceMixer` on ``--device`` for batches of each size (the scenes
repeated to fill them; a warm-up first, which also leaves the RIRs and noise clips on the device as in a
training run over one bank, unless ``--upload-all``; the fastest of ``--passes``; excerpts uploaded inside the
timing). Printed:
mixtures per second and seconds of audio mixed per second for each path, and the largest difference between the
two paths' mixtures and directs relative to their peaks.

``--save-inputs FILE`` writes the gathered inputs (float16: both paths then read the same rounded inputs) for a
machine without the banks, which runs with ``--inputs FILE`` instead of ``--banks``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # the numpy path on one core, before numpy loads its BLAS

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from foabench.synth.scenes.mix import LRUCache, SceneInputs, mix_scene  # noqa: E402
from foabench.synth.scenes.render_torch import DeviceMixer  # noqa: E402


def gather(banks: list[str], spec_name: str, n: int) -> list[SceneInputs]:
    """The inputs of ``n`` scenes of ``spec_name`` (train split, seed 2026) that have a target."""
    from foabench.synth.banks.bank_set import BankSet
    from foabench.synth.scenes.render import Renderer
    from foabench.synth.scenes.sampler import sample_manifest
    from foabench.synth.scenes.spec import load_spec

    bank_set = BankSet.open(banks)
    _, rows = sample_manifest(load_spec(spec_name), list(bank_set.banks.values()), "train", 4 * n, seed=2026)
    renderer = Renderer(bank_set)
    return [renderer.inputs(r) for r in rows if any(e["role"] == "target" for e in r["events"])][:n]


def save_inputs(path: str, scenes: list[SceneInputs]) -> None:
    """``scenes`` as one ``.npz``: rows as JSON, arrays as float16, each RIR and noise clip once."""
    arrays: dict[str, np.ndarray] = {}
    index = []
    for s, scene in enumerate(scenes):
        entry = {"row": scene.row, "direct_samples": scene.direct_samples, "rirs": [], "noise": None}
        for k, x in enumerate(scene.excerpts):
            arrays[f"x{s}_{k}"] = x.astype(np.float16)
            name = "rir:" + "/".join(scene.rir_keys[k])
            arrays.setdefault(name, scene.rirs[k].astype(np.float16))
            entry["rirs"].append(name)
        if scene.noise is not None:
            entry["noise"] = "noise:" + "/".join(scene.noise_key)
            arrays.setdefault(entry["noise"], scene.noise.astype(np.float16))
        index.append(entry)
    np.savez(path, index=np.frombuffer(json.dumps(index).encode(), dtype=np.uint8), **arrays)


def load_inputs(path: str) -> list[SceneInputs]:
    """Scenes written by :func:`save_inputs` (float32 again)."""
    data = np.load(path)
    scenes = []
    for s, entry in enumerate(json.loads(data["index"].tobytes())):
        k_count = len(entry["rirs"])
        scenes.append(SceneInputs(
            row=entry["row"],
            excerpts=[data[f"x{s}_{k}"].astype(np.float32) for k in range(k_count)],
            rirs=[data[name].astype(np.float32) for name in entry["rirs"]],
            rir_keys=[tuple(name.split(":", 1)[1].split("/", 1)) for name in entry["rirs"]],
            direct_samples=entry["direct_samples"],
            noise=None if entry["noise"] is None else data[entry["noise"]].astype(np.float32),
            noise_key=None if entry["noise"] is None else tuple(entry["noise"].split(":", 1)[1].split("/", 1)),
        ))  # fmt: skip
    return scenes


def _choice(scene: SceneInputs) -> int:
    return scene.row["seed"] % sum(e["role"] == "target" for e in scene.row["events"])


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = ap.add_mutually_exclusive_group(required=True)
    source.add_argument("--banks", nargs="+", help="bank folders (the scenes are sampled from them)")
    source.add_argument("--inputs", help="an .npz of --save-inputs")
    ap.add_argument("--spec", default="dcase2025", help="scene spec (with --banks)")
    ap.add_argument("--n", type=int, default=24, help="distinct scenes")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batch", type=int, nargs="+", default=[16, 64, 256], help="scenes per device batch")
    ap.add_argument("--passes", type=int, default=3, help="timed passes; the fastest is reported")
    ap.add_argument(
        "--upload-all",
        action="store_true",
        help="upload every RIR and noise clip with every batch (a bank too large to stay on the device)",
    )
    ap.add_argument("--save-inputs", help="write the gathered inputs here and stop")
    args = ap.parse_args(argv)

    scenes = load_inputs(args.inputs) if args.inputs else gather(args.banks, args.spec, args.n)
    if args.save_inputs:
        save_inputs(args.save_inputs, scenes)
        print(f"{len(scenes)} scenes -> {args.save_inputs} ({os.path.getsize(args.save_inputs) / 1e6:.1f} MB)")
        return 0
    device = torch.device(args.device)
    seconds = scenes[0].row["num_frames"] / scenes[0].row["sample_rate"]
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"{len(scenes)} scenes of {seconds:g} s, {sum(len(s.excerpts) for s in scenes)} events; device {name}")

    reference = {}
    best = float("inf")
    for _ in range(args.passes):
        cache = LRUCache(1 << 30)  # cold at the start of every pass, as in a fresh DataLoader worker
        t0 = time.perf_counter()
        for i, scene in enumerate(scenes):
            out = mix_scene(scene, cache)
            reference[i] = (out.mixture, out.references[_choice(scene)]["direct"])
        best = min(best, time.perf_counter() - t0)
    per = best / len(scenes)
    print(f"{'path':<34} {'mixtures/s':>11} {'audio s/s':>10} {'max |diff| / peak':>18}")
    print(f"{'numpy, one core':<34} {1 / per:>11.1f} {seconds / per:>10.1f} {'':>18}")

    for size in args.batch:
        batch = [scenes[i % len(scenes)] for i in range(size)]
        choices = [_choice(s) for s in batch]
        mixer = DeviceMixer(device, cache_mb=0 if args.upload_all else 4096)  # resident RIRs and noise, or not
        mixer.mix(batch, choices)  # warm-up: kernels, plans, allocator
        _sync(device)
        best = float("inf")
        for _ in range(args.passes):
            t0 = time.perf_counter()
            out = mixer.mix(batch, choices)
            _sync(device)
            best = min(best, time.perf_counter() - t0)
        worst = 0.0
        for b in range(min(size, len(scenes))):
            mixture, direct = reference[b]
            got_mixture, got_direct = out.mixtures[b].cpu().numpy(), out.directs[b].cpu().numpy()
            worst = max(worst, float(np.abs(got_mixture - mixture).max() / np.abs(mixture).max()),
                        float(np.abs(got_direct - direct).max() / max(np.abs(direct).max(), 1e-12)))  # fmt: skip
        label = f"torch {device.type}, batch {size}" + (", uploads all" if args.upload_all else "")
        print(f"{label:<34} {size / best:>11.1f} {size * seconds / best:>10.1f} {worst:>18.2e}")
        del out
        if device.type == "cuda":
            print(f"{'':<34} peak device memory {torch.cuda.max_memory_allocated(device) / 2**30:.1f} GiB")
            torch.cuda.reset_peak_memory_stats(device)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
