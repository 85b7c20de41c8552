"""Benchmark: Hugging Face shard export throughput, shard sizes, and 1 -> 2 worker scaling (local and Ray).

Run: ``.venv/bin/python -m foabench.benchmark.bench_export MANIFEST... [--banks foabench-data/banks]
[--encoder foabench-data/encoders/builtin] [--cache foabench-data/embeddings] [--shard-size-mb 500]``
(build a workspace first with ``foabench demo``). It exports the manifests once in this process (which also
fills the embedding cache, so later passes time rendering, encoding and writing, not the encoder), then times,
with 1 and 2 workers: the machine's own ceiling (independent processes rendering and encoding disjoint rows
from cold caches, no engine, no writing), the local engine's export, and, on a fresh local Ray instance with
that many CPUs after a warm-up that lets every Ray worker import foabench and open the banks (start-up is
reported separately), Ray encoding alone (``ray_map``, results dropped), ``foabench render --engine ray`` and
``export-hf --engine ray``. Every export must give the same shard sha256s. Throughput: mixtures/s and MB/s of
bytes written; scaling: 2-worker over 1-worker throughput.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core per worker, before numpy loads its BLAS

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

from foabench.manifests.hf_export import DEFAULT_CACHE, DEFAULT_ENCODER, ExportReport, export_hf  # noqa: E402
from foabench.synth.scenes.manifest import read_manifest  # noqa: E402
from foabench.synth.scenes.ray_engine import ray_map, ray_session  # noqa: E402
from foabench.synth.scenes.render_split import encode_row, render_manifest, renderer_for  # noqa: E402


def _shards(report: ExportReport) -> dict[str, str]:
    return {s["file"]: s["sha256"] for split in report.index["splits"].values() for s in split["shards"]}


def _encode_chunk(bank_paths: list[str], rows: list[dict]) -> tuple[int, float]:
    """Render and encode ``rows`` in this process with a fresh renderer (as a new worker would); returns (rows,
    seconds), not counting process start-up and opening the banks."""
    renderer = renderer_for(bank_paths)
    t0 = time.perf_counter()
    for row in rows:
        encode_row(renderer, row)
    return len(rows), time.perf_counter() - t0


def ceiling(bank_paths: list[str], rows: list[dict], k: int) -> float:
    """Aggregate mixtures/s of ``k`` independent processes, each encoding its own share of the rows."""
    with ProcessPoolExecutor(k) as pool:
        done = list(pool.map(_encode_chunk, [bank_paths] * k, [rows[i::k] for i in range(k)]))
    return sum(n / secs for n, secs in done)


def _line(name: str, rows: int, seconds: float, nbytes: int) -> str:
    """One result line: mixtures, seconds, mixtures/s and (when bytes were written) MB/s."""
    rate = f"{rows / seconds:>7.2f} mix/s" + (f" {nbytes / 1e6 / seconds:>7.2f} MB/s" if nbytes else "")
    return f"{name:<34} {rows:>5} mix {seconds:>7.2f} s {rate}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("manifests", nargs="+", help="manifests to export (one per split)")
    ap.add_argument("--banks", nargs="+", default=["foabench-data/banks"], help="bank folders")
    ap.add_argument("--encoder", default=DEFAULT_ENCODER)
    ap.add_argument("--cache", default=DEFAULT_CACHE)
    ap.add_argument("--shard-size-mb", type=float, default=500.0)
    ap.add_argument("--out", default=None, help="scratch folder (default: a temporary one)")
    args = ap.parse_args(argv)

    rows = [r for m in args.manifests for r in read_manifest(m).rows]
    paths = [str(Path(b).resolve()) for b in args.banks]
    common = dict(encoder=args.encoder, cache=args.cache, shard_size_mb=args.shard_size_mb, progress=False)
    rate: dict[str, float] = {}  # mixtures/s per measurement and worker count

    def record(name: str, k: int, n: int, seconds: float, nbytes: int) -> None:
        rate[f"{name} {k}"] = n / seconds
        print(_line(f"{name}, {k} worker(s)", n, seconds, nbytes))

    with tempfile.TemporaryDirectory(dir=args.out) as tmp:
        scratch = Path(tmp)
        print(f"{len(rows)} mixtures from {', '.join(map(str, args.manifests))}; {os.cpu_count()} CPUs here")
        first = export_hf(args.manifests, scratch / "first", args.banks, workers=1, **common)
        sizes = [s["bytes"] for split in first.index["splits"].values() for s in split["shards"]]
        print(f"shards: {len(sizes)}, sizes {', '.join(f'{b / 1e6:.2f} MB' for b in sizes)}; "
              f"{sum(sizes) / len(rows) / 1e6:.3f} MB per mixture (target {args.shard_size_mb:g} MB)")  # fmt: skip
        print(_line("export, first pass (fills caches)", first.rows_rendered, first.seconds, first.bytes_written))
        reference = _shards(first)
        for k in (1, 2):
            rate[f"ceiling {k}"] = ceiling(paths, rows, k)
            print(f"{f'ceiling: {k} independent process(es)':<34} {rate[f'ceiling {k}']:>23.2f} mix/s (encode only)")
        for k in (1, 2):
            report = export_hf(args.manifests, scratch / f"local{k}", args.banks, workers=k, **common)
            assert _shards(report) == reference, "the local engine's export differs"
            record("export, local engine", k, report.rows_rendered, report.seconds, report.bytes_written)
        for k in (1, 2):
            t0 = time.perf_counter()
            with ray_session(None, k):
                started = time.perf_counter() - t0
                list(ray_map(renderer_for, encode_row, rows[: 2 * k], setup_args=(paths,), workers=k))
                print(f"ray, {k} CPU(s): start {started:.1f} s, warm-up {time.perf_counter() - t0 - started:.1f} s")
                t1 = time.perf_counter()
                list(ray_map(renderer_for, encode_row, rows, setup_args=(paths,), workers=k))
                record("encode only, ray engine", k, len(rows), time.perf_counter() - t1, 0)
                t1 = time.perf_counter()
                for m in args.manifests:
                    render_manifest(m, scratch / f"render{k}" / Path(m).stem, args.banks, workers=k, engine="ray",
                                    progress=False)  # fmt: skip
                seconds = time.perf_counter() - t1
                nbytes = sum(p.stat().st_size for p in (scratch / f"render{k}").rglob("*.flac"))
                record("render, ray engine", k, len(rows), seconds, nbytes)
                report = export_hf(args.manifests, scratch / f"ray{k}", args.banks, workers=k, engine="ray", **common)
                assert _shards(report) == reference, "the ray engine's export differs from the local one"
                record("export, ray engine", k, report.rows_rendered, report.seconds, report.bytes_written)
        print("shard sha256s identical across the local and ray exports")
        names = ("ceiling", "export, local engine", "encode only, ray engine", "render, ray engine",
                 "export, ray engine")  # fmt: skip
        print("1 -> 2 workers: " + ", ".join(f"{n} x{rate[f'{n} 2'] / rate[f'{n} 1']:.2f}" for n in names))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
