"""Benchmark: a rendered split written to disk, per mixture on one core: render, encode, write.

Run: ``.venv/bin/python -m foabench.benchmark.bench_render_disk --benchmark DIR [--split test] [--n 100]``
(a folder of ``foabench benchmark build``), or ``--manifest M.jsonl --banks BANKS``. On the same rows, in one
process and interleaved row by row, the fastest of ``--passes`` passes:

- ``all references``: what ``foabench render`` writes by default — the mixture and every target's ``direct``,
  ``dry`` and 4-channel ``wet`` reference, 24-bit FLAC;
- ``benchmark``: the references a benchmark definition names (``starter-v1``: ``direct`` and ``dry``), the
  references not written are not built either.

Each is split into render (``Renderer.render`` and building the references), FLAC encode and write
(atomic writes of every file and ``meta.json`` into a scratch folder). Printed: ms per mixture for each
part, the encode share, and mixtures/s per core end to end (issue 16's goal: encoding at most half the time).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core, before numpy loads its BLAS

import argparse  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from foabench.synth.audio_io import atomic_write_bytes, atomic_write_text  # noqa: E402
from foabench.synth.banks.bank_set import BankSet  # noqa: E402
from foabench.synth.cli_args import positive_int  # noqa: E402
from foabench.synth.scenes.manifest import read_manifest  # noqa: E402
from foabench.synth.scenes.render import REFERENCES, Renderer  # noqa: E402
from foabench.synth.scenes.render_split import encode_flac  # noqa: E402


def _one(renderer: Renderer, row: dict, references: tuple[str, ...], scratch: Path) -> tuple[float, float, float]:
    """(render, encode, write) seconds for one row."""
    t0 = time.perf_counter()
    rendered = renderer.render(row)
    waves = {"mixture.flac": rendered.mixture}
    for k, refs in enumerate(rendered.references):
        waves.update({f"target{k}_{name}.flac": refs[name] for name in references})
    t1 = time.perf_counter()
    files = {name: encode_flac(w, rendered.sample_rate) for name, w in waves.items()}
    t2 = time.perf_counter()
    folder = scratch / row["id"]
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        atomic_write_bytes(folder / name, data)
    atomic_write_text(folder / "meta.json", json.dumps({"files": sorted(files)}))
    return t1 - t0, t2 - t1, time.perf_counter() - t2


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--benchmark", default=None, help="a built benchmark folder (its banks, split and references)")
    p.add_argument("--split", default="test")
    p.add_argument("--manifest", default=None)
    p.add_argument("--banks", nargs="+", default=None)
    p.add_argument("--n", type=positive_int, default=100)
    p.add_argument("--passes", type=positive_int, default=3)
    args = p.parse_args(argv)
    if args.benchmark:
        from foabench.benchmark.published.build import read_record

        record = read_record(args.benchmark)
        manifest = Path(args.benchmark) / record["manifests"][args.split]["path"]
        banks = [str(Path(args.benchmark) / "banks")]
        chosen = tuple(record["rendered"][args.split]["references"])
    else:
        if not (args.manifest and args.banks):
            p.error("give --benchmark DIR, or --manifest and --banks")
        manifest, banks, chosen = Path(args.manifest), args.banks, ("direct", "dry")
    rows = read_manifest(manifest).rows[: args.n]
    bank_set = BankSet.open(banks)
    paths = {"all references": REFERENCES, f"benchmark ({', '.join(chosen)})": chosen}
    best = {name: [float("inf")] * 3 for name in paths}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.passes):
            renderers = {name: Renderer(bank_set) for name in paths}  # cold RIR spectra every pass
            totals = {name: [0.0, 0.0, 0.0] for name in paths}
            for row in rows:
                for name, refs in paths.items():
                    parts = _one(renderers[name], row, refs, Path(tmp) / name.split()[0])
                    totals[name] = [a + b for a, b in zip(totals[name], parts, strict=True)]
            for name in paths:
                if sum(totals[name]) < sum(best[name]):
                    best[name] = totals[name]
    seconds = sum(r["num_frames"] / r["sample_rate"] for r in rows) / len(rows)
    print(f"{len(rows)} mixtures of {manifest} ({seconds:.2f} s each), one core, fastest of {args.passes} passes")
    print(
        f"{'path':<28} {'render ms':>10} {'encode ms':>10} {'write ms':>9} {'total ms':>9} {'encode':>7} {'mix/s':>7}"
    )
    for name, (r, e, w) in best.items():
        n = len(rows)
        total = r + e + w
        print(f"{name:<28} {1e3 * r / n:>10.1f} {1e3 * e / n:>10.1f} {1e3 * w / n:>9.1f} {1e3 * total / n:>9.1f} "
              f"{e / total:>7.0%} {n / total:>7.1f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
