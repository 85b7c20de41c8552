"""Benchmark: point-cloud generation per mixture, against rendering the same mixture and a training step.

Run: ``.venv/bin/python -m foabench.benchmark.bench_pointclouds --manifest M --banks B [B ...] [--rows 50]
[--rounds 3] [--batch-size 4] [--threads 1]``

On the rows of a manifest sampled with ``queries.pointcloud`` (e.g. the shipped ``spatial`` spec), one core,
interleaved (each round times every path over all rows; the table gives the minimum over rounds):

- ``render``: the mixture and each target's ``direct`` reference (what a training step's data needs),
- ``scene cloud``: the whole-scene capture (room walls and every object, as ``render`` and ``export-hf`` store it),
- ``one target's cloud``: the capture restricted to one target (``only=``, what the training data path asks for),

and then one training step of BSAST-tiny conditioned on point clouds (forward, loss, backward, AdamW; batch
``--batch-size`` of the manifest's duration), so the last line gives the clouds' share of a step: the cloud time
of a batch over (that time + the step's compute + the batch's rendering).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from foabench.synth.banks.bank_set import BankSet
from foabench.synth.cli_args import positive_int
from foabench.synth.pointclouds.fixed_size import fixed_size_cloud
from foabench.synth.scenes.manifest import read_manifest
from foabench.synth.scenes.pointcloud_query import scene_capture
from foabench.synth.scenes.render import Renderer


def _time(fn, items) -> float:
    t = time.perf_counter()
    for it in items:
        fn(it)
    return (time.perf_counter() - t) / len(items)


def _train_step_seconds(rows: list[dict], batch: int, rounds: int) -> tuple[float, int]:
    from foabench.benchmark.train import make_model
    from foabench.model.loss import bsast_loss

    torch.manual_seed(0)
    model = make_model("bsast", "tiny", {"condition": "pointcloud", "output": "mask"}, 384)
    n = int(rows[0]["num_frames"])
    x, ref = torch.randn(batch, 4, n), torch.randn(batch, n)
    offset = np.array([2.0, 0.0, 0.0])  # a cloud of 300 points about 2 m in front
    q = torch.from_numpy(np.stack([fixed_size_cloud(np.random.default_rng(i).normal(size=(300, 3)) + offset,
                                                    model.config.cloud_points, i) for i in range(batch)]))  # fmt: skip
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    times = []
    for _ in range(rounds + 1):
        t = time.perf_counter()
        loss, _ = bsast_loss(model(x, q), ref, lam=10.0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t)
    return min(times[1:]), n


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--manifest", required=True, help="a manifest sampled with queries.pointcloud")
    p.add_argument("--banks", nargs="+", required=True, help="its banks, the meshes bank among them")
    p.add_argument("--rows", type=positive_int, default=50, help="rows timed (default 50)")
    p.add_argument("--rounds", type=positive_int, default=3, help="interleaved rounds (default 3)")
    p.add_argument("--batch-size", type=positive_int, default=4, help="training batch (default 4)")
    p.add_argument("--threads", type=positive_int, default=1, help="torch threads (default 1: one core)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = [r for r in read_manifest(args.manifest).rows if "capture" in r][: args.rows]
    if not rows:
        raise SystemExit(f"{args.manifest}: no rows with a point-cloud capture (sample it with queries.pointcloud)")
    banks = BankSet.open(args.banks)
    renderer = Renderer(banks)
    targets = [(r, j) for r in rows for j, ev in enumerate(r["events"]) if ev["role"] == "target"]
    paths = {
        "render (mixture + direct)": (lambda r: [refs["direct"] for refs in renderer.render(r).references], rows),
        "scene cloud": (lambda r: scene_capture(r, banks), rows),
        "one target's cloud": (lambda t: scene_capture(t[0], banks, only=t[1]), targets),
    }
    for fn, items in paths.values():  # warm-up: meshes and audio read once, caches filled
        fn(items[0])
    best = {name: float("inf") for name in paths}
    for _ in range(args.rounds):
        for name, (fn, items) in paths.items():
            best[name] = min(best[name], _time(fn, items))
    points = np.mean([len(scene_capture(r, banks).points) for r in rows])
    target_points = np.mean([len(scene_capture(r, banks, only=j).points) for r, j in targets])
    print(f"{len(rows)} mixtures, {len(targets)} targets; {points:.0f} points per scene, {target_points:.0f} per "
          f"target; sensor {json.dumps(rows[0]['capture']['sensor'], sort_keys=True)}")  # fmt: skip
    print(f"{'path':<28} {'ms':>8} {'x render':>9}")
    for name, seconds in best.items():
        print(f"{name:<28} {seconds * 1e3:>8.1f} {seconds / best['render (mixture + direct)']:>9.2f}")
    step, n = _train_step_seconds(rows, args.batch_size, args.rounds)
    clouds = args.batch_size * best["one target's cloud"]
    render = args.batch_size * best["render (mixture + direct)"]
    print(f"BSAST-tiny (point clouds) training step, batch {args.batch_size} x {n} samples, {args.threads} thread(s): "
          f"{step * 1e3:.0f} ms; the batch's clouds {clouds * 1e3:.0f} ms, its rendering {render * 1e3:.0f} ms: "
          f"clouds are {100 * clouds / (clouds + render + step):.1f} % of a step's work")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
