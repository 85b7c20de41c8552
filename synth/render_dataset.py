"""Rendering a manifest to files: one folder per mixture, written atomically, resumable, shardable, verifiable.

``OUT/<row id>/`` holds ``mixture.flac`` (4-channel, 24-bit), ``target{k}_direct.flac``, ``target{k}_dry.flac``
(mono) and ``target{k}_wet.flac`` (4-channel) for the k-th target event, and ``meta.json`` — written last, so a
mixture is finished exactly when its ``meta.json`` exists. ``meta.json`` records the row's hash and the
sha256 of every file; a rerun skips mixtures whose row hash and files still match, and ``verify`` re-renders
in memory and compares the encoded bytes with those checksums.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import soundfile as sf
from tqdm import tqdm

from manifests.bank_set import BankSet
from manifests.schema import read_manifest, row_sha256
from synth.audio_io import atomic_write_bytes, atomic_write_text, sha256_file
from synth.render import RenderedMixture, Renderer

META_NAME = "meta.json"


def encode_flac(wave, sample_rate: int) -> bytes:
    """24-bit FLAC bytes of float audio (deterministic: the same samples give the same bytes)."""
    buf = io.BytesIO()
    sf.write(buf, wave, sample_rate, format="FLAC", subtype="PCM_24")
    return buf.getvalue()


def encoded_files(rendered: RenderedMixture) -> dict[str, bytes]:
    """File name -> encoded bytes for a rendered mixture."""
    files = {"mixture.flac": encode_flac(rendered.mixture, rendered.sample_rate)}
    for k, refs in enumerate(rendered.references):
        for name, wave in refs.items():
            files[f"target{k}_{name}.flac"] = encode_flac(wave, rendered.sample_rate)
    return files


def parse_shard(text: str | None) -> tuple[int, int]:
    """'i/N' -> (i, N) with 0 <= i < N; None -> (0, 1)."""
    if text is None:
        return 0, 1
    try:
        i, n = (int(t) for t in text.split("/"))
    except ValueError as exc:
        raise ValueError(f"--shard must look like i/N (e.g. 0/4), got {text!r}") from exc
    if not 0 <= i < n:
        raise ValueError(f"--shard {text}: need 0 <= i < N")
    return i, n


def _finished(folder: Path, digest: str) -> bool:
    meta_path = folder / META_NAME
    if not meta_path.is_file():
        return False
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError:
        return False
    if meta.get("row_sha256") != digest:
        return False
    files = meta.get("files", {})
    return bool(files) and all((folder / n).is_file() and sha256_file(folder / n) == h for n, h in files.items())


_RENDERER: Renderer | None = None


def _init_worker(bank_paths: list[str]) -> None:
    global _RENDERER
    _RENDERER = Renderer(BankSet.open(bank_paths))


def _render_one(job: tuple[dict, str, bool]) -> tuple[str, str, list[str]]:
    """Render (or verify) one row; returns (row id, status, problems)."""
    row, out, verify = job
    assert _RENDERER is not None
    folder = Path(out) / row["id"]
    digest = row_sha256(row)
    if not verify and _finished(folder, digest):
        return row["id"], "skipped", []
    rendered = _RENDERER.render(row)
    files = encoded_files(rendered)
    hashes = {name: _sha256_bytes(data) for name, data in files.items()}
    if verify:
        meta_path = folder / META_NAME
        if not meta_path.is_file():
            return row["id"], "mismatch", [f"{folder}: not rendered (no {META_NAME})"]
        stored = json.loads(meta_path.read_text()).get("files", {})
        problems = [f"{folder / n}: re-render differs" for n in sorted(hashes) if stored.get(n) != hashes[n]]
        problems += [f"{folder / n}: file differs from meta.json" for n in sorted(stored) if (folder / n).is_file()
                     and sha256_file(folder / n) != stored[n]]  # fmt: skip
        return row["id"], ("mismatch" if problems else "verified"), problems
    folder.mkdir(parents=True, exist_ok=True)
    (folder / META_NAME).unlink(missing_ok=True)
    for name, data in files.items():
        atomic_write_bytes(folder / name, data)
    meta = {**rendered.metadata, "row_sha256": digest, "files": hashes}
    atomic_write_text(folder / META_NAME, json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return row["id"], "rendered", []


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class RenderReport:
    counts: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)


def _run(jobs: list[tuple[dict, str, bool]], bank_paths: list[str], workers: int) -> Iterator[tuple[str, str, list]]:
    if workers <= 1:
        _init_worker(bank_paths)
        yield from map(_render_one, jobs)
        return
    with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(bank_paths,)) as pool:
        yield from pool.map(_render_one, jobs, chunksize=4)


def render_manifest(
    manifest: str | Path,
    out: str | Path,
    bank_paths: list[str | Path],
    *,
    shard: tuple[int, int] = (0, 1),
    workers: int | None = None,
    verify: bool = False,
    progress: bool = True,
) -> RenderReport:
    """Render (or, with ``verify``, re-render and compare) the rows of one shard of a manifest."""
    m = read_manifest(manifest)
    banks = BankSet.open([str(p) for p in bank_paths])
    banks.check_fingerprints(m.header["banks"], str(manifest))
    i, n = shard
    rows = [r for pos, r in enumerate(m.rows) if pos % n == i]
    workers = workers if workers is not None else min(4, os.cpu_count() or 1)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(r, str(out), verify) for r in rows]
    report = RenderReport()
    desc = f"{'verify' if verify else 'render'} {m.split}" + (f" shard {i}/{n}" if n > 1 else "")
    for _, status, problems in tqdm(_run(jobs, [str(p) for p in bank_paths], workers), total=len(jobs), desc=desc,
                                    unit="mix", disable=not progress):  # fmt: skip
        report.counts[status] += 1
        report.problems += problems
    return report
