"""Rendering a manifest to files: one folder per mixture, written atomically, resumable, shardable, verifiable.

``OUT/<row id>/`` holds ``mixture.flac`` (4-channel, 24-bit), ``target{k}_direct.flac``, ``target{k}_dry.flac``
(mono) and ``target{k}_wet.flac`` (4-channel) for the k-th target event, and ``meta.json`` — written last, so a
mixture is finished exactly when its ``meta.json`` exists. ``meta.json`` records the row's hash and the
sha256 of every file; a rerun skips mixtures whose row hash and files still match, and ``verify`` re-renders
in memory and compares the encoded bytes with those checksums.

Two engines give the same bytes: ``local`` (a process pool; each worker writes its mixtures) and ``ray``
(:mod:`foabench.synth.scenes.ray_engine`: Ray tasks render and encode, and return the bytes to the driver, which writes
them; the output folder needs to be visible to the driver only, the banks to every worker at the same path).
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import soundfile as sf
from tqdm import tqdm

from foabench.synth.audio_io import atomic_write_bytes, atomic_write_text, sha256_file
from foabench.synth.banks.bank_set import BankSet
from foabench.synth.pointclouds.cloud_files import cloud_npz_bytes
from foabench.synth.scenes.manifest import Manifest, read_manifest, row_sha256
from foabench.synth.scenes.pointcloud_query import scene_capture
from foabench.synth.scenes.render import REFERENCES, RenderedMixture, Renderer

META_NAME = "meta.json"
#: which manifest a render folder holds (written before the first mixture)
RENDER_INDEX = "render.json"


def encode_flac(wave, sample_rate: int) -> bytes:
    """24-bit FLAC bytes of float audio (deterministic: the same samples give the same bytes)."""
    buf = io.BytesIO()
    sf.write(buf, wave, sample_rate, format="FLAC", subtype="PCM_24")
    return buf.getvalue()


def check_references(references: tuple[str, ...] | list[str] | None) -> tuple[str, ...] | None:
    """``references`` in canonical order (None: all of them); refuses unknown names or an empty choice."""
    if references is None:
        return None
    unknown = sorted(set(references) - set(REFERENCES))
    if unknown or not references:
        raise ValueError(f"references must be some of {list(REFERENCES)}, got {list(references)}")
    return tuple(r for r in REFERENCES if r in references)


def encoded_files(rendered: RenderedMixture, references: tuple[str, ...] | None = None) -> dict[str, bytes]:
    """File name -> encoded bytes for a rendered mixture (``references``: which reference files; None: all;
    only those are built)."""
    files = {"mixture.flac": encode_flac(rendered.mixture, rendered.sample_rate)}
    for k, refs in enumerate(rendered.references):
        for name in references or REFERENCES:
            files[f"target{k}_{name}.flac"] = encode_flac(refs[name], rendered.sample_rate)
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


def _finished(folder: Path, digest: str, references: tuple[str, ...] | None = None) -> bool:
    meta_path = folder / META_NAME
    if not meta_path.is_file():
        return False
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError:
        return False
    if meta.get("row_sha256") != digest or meta.get("references", list(REFERENCES)) != list(references or REFERENCES):
        return False
    files = meta.get("files", {})
    return bool(files) and all((folder / n).is_file() and sha256_file(folder / n) == h for n, h in files.items())


_RENDERER: Renderer | None = None


def renderer_for(bank_paths: list[str]) -> Renderer:
    """A renderer over the banks at ``bank_paths`` (a worker's state, in a process pool or a Ray worker process)."""
    return Renderer(BankSet.open(bank_paths))


def _init_worker(bank_paths: list[str]) -> None:
    global _RENDERER
    _RENDERER = renderer_for(bank_paths)


def encode_row(renderer: Renderer, row: dict, references: tuple[str, ...] | None = None
               ) -> tuple[dict[str, bytes], dict]:  # fmt: skip
    """Render one row and encode it: (file name -> FLAC bytes, the renderer's metadata), plus, for a row with a
    depth capture, ``scene_cloud.npz`` (points and object ids) and each target's ``target{k}_pointcloud.npz``."""
    rendered = renderer.render(row)
    files = encoded_files(rendered, references)
    if "capture" in row:
        cap = scene_capture(row, renderer.banks)
        files["scene_cloud.npz"] = cloud_npz_bytes(cap.points, cap.ids)
        targets = [j for j, ev in enumerate(row["events"]) if ev["role"] == "target"]
        for k, j in enumerate(targets):
            files[f"target{k}_pointcloud.npz"] = cloud_npz_bytes(cap.of(j))
    return files, rendered.metadata


def _encode_job(job: tuple[dict, tuple[str, ...] | None]) -> tuple[dict[str, bytes], dict]:
    assert _RENDERER is not None
    return encode_row(_RENDERER, *job)


def iter_encoded(rows: list[dict], bank_paths: list[str], *, engine: str = "local", workers: int | None = 1,
                 address: str | None = None, references: tuple[str, ...] | None = None
                 ) -> Iterator[tuple[dict[str, bytes], dict]]:  # fmt: skip
    """``encode_row`` of each row, in order: in this process, a local process pool, or as Ray tasks."""
    paths = [str(Path(p).resolve()) for p in bank_paths]
    references = check_references(references)
    if engine == "ray":
        from foabench.synth.scenes.ray_engine import ray_map

        encode = functools.partial(encode_row, references=references)
        yield from ray_map(renderer_for, encode, rows, setup_args=(paths,), workers=workers, address=address)
    elif engine != "local":
        raise ValueError(f"unknown engine {engine!r} (use local or ray)")
    elif (workers or 1) <= 1:
        renderer = renderer_for(paths)
        for row in rows:
            yield encode_row(renderer, row, references)
    else:
        with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(paths,)) as pool:
            yield from pool.map(_encode_job, [(row, references) for row in rows], chunksize=2)


Job = tuple[dict, str, bool, "tuple[str, ...] | None"]  # (row, out folder, verify, references)


def _render_one(job: Job) -> tuple[str, str, list[str]]:
    """Render (or verify) one row; returns (row id, status, problems)."""
    row, out, verify, references = job
    assert _RENDERER is not None
    if not verify and _finished(Path(out) / row["id"], row_sha256(row), references):
        return row["id"], "skipped", []
    return _store(row, Path(out), verify, *encode_row(_RENDERER, row, references), references=references)


def _store(row: dict, out: Path, verify: bool, files: dict[str, bytes], metadata: dict,
           references: tuple[str, ...] | None = None) -> tuple[str, str, list[str]]:  # fmt: skip
    """Write one encoded row to ``out/<row id>/`` (``meta.json`` last), or with ``verify`` compare it."""
    folder = out / row["id"]
    digest = row_sha256(row)
    hashes = {name: _sha256_bytes(data) for name, data in files.items()}
    if verify:
        meta_path = folder / META_NAME
        if not meta_path.is_file():
            return row["id"], "mismatch", [f"{folder}: not rendered (no {META_NAME})"]
        stored_meta = json.loads(meta_path.read_text())
        stored = stored_meta.get("files", {})
        problems = [f"{folder / n}: re-render differs" for n in sorted(hashes) if stored.get(n) != hashes[n]]
        if problems and stored_meta.get("mixer", 1) != metadata.get("mixer"):
            problems.insert(0, f"{folder}: rendered with mixer version {stored_meta.get('mixer', 1)}, re-rendered with "
                               f"version {metadata.get('mixer')} (the arithmetic changed, so the bytes differ within "
                               "float32 rounding): delete the folder and render again to verify it with this "
                               "foabench")  # fmt: skip
        problems += [f"{folder / n}: file differs from meta.json" for n in sorted(stored) if (folder / n).is_file()
                     and sha256_file(folder / n) != stored[n]]  # fmt: skip
        return row["id"], ("mismatch" if problems else "verified"), problems
    folder.mkdir(parents=True, exist_ok=True)
    (folder / META_NAME).unlink(missing_ok=True)
    for old in folder.iterdir():  # files of an earlier version of this row (say, one more target) go
        if old.is_file() and old.name not in files:
            old.unlink()
    for name, data in files.items():
        atomic_write_bytes(folder / name, data)
    meta = {**metadata, "row_sha256": digest, "files": hashes}
    if references is not None:
        meta["references"] = list(references)
    atomic_write_text(folder / META_NAME, json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return row["id"], "rendered", []


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def claim_render_folder(out: Path, manifest: Manifest, overwrite: bool = False) -> None:
    """Make ``out`` the render folder of ``manifest`` (``render.json`` names it), or refuse: mixture folders whose
    id is not a row of this manifest, or whose ``meta.json`` records another version of the row, are an error
    unless ``overwrite``, which deletes them, so no stale mixture stays beside the new ones. Mixtures of rows
    this manifest shares are kept. A folder holding anything but mixture folders is refused, and never touched."""
    index = {"manifest": str(manifest.rows_path), "split": manifest.split, "num_rows": len(manifest.rows),
             "rows_sha256": manifest.header["rows_sha256"]}  # fmt: skip
    hashes = {r["id"]: row_sha256(r) for r in manifest.rows}
    previous = _read_json(out / RENDER_INDEX)
    if previous is not None and previous.get("rows_sha256") == index["rows_sha256"]:
        return
    foreign, stale = [], []
    for entry in sorted(out.iterdir()) if out.is_dir() else []:
        if entry.name == RENDER_INDEX:
            continue
        meta = _read_json(entry / META_NAME) if entry.is_dir() else None
        if entry.is_dir() and (
            meta is not None or all(f.suffix == ".flac" or f.name.startswith(".") for f in entry.iterdir())
        ):
            if entry.name not in hashes or (meta is not None and meta.get("row_sha256") != hashes[entry.name]):
                stale.append(entry)  # an unfinished folder of one of these rows (no meta.json yet) is not stale
        else:
            foreign.append(entry.name)
    if foreign:
        raise ValueError(f"{out}: not a render folder (it holds {', '.join(foreign[:3])}"
                         f"{' ...' if len(foreign) > 3 else ''}); choose an empty or new --out")  # fmt: skip
    if stale and not overwrite:
        held = f"mixtures of {previous['manifest']}" if previous else "mixtures"
        raise ValueError(f"{out} holds {held} that are not rows of {manifest.rows_path} ({len(stale)} folders, "
                         f"e.g. {stale[0].name}); pass --overwrite to delete them, or choose another "
                         "--out")  # fmt: skip
    for folder in stale:
        shutil.rmtree(folder, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / RENDER_INDEX, json.dumps(index, indent=2, sort_keys=True) + "\n")


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


@dataclass
class RenderReport:
    counts: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)


def _run_ray(jobs: list[Job], bank_paths: list[str], workers: int | None,
             address: str | None) -> Iterator[tuple[str, str, list]]:  # fmt: skip
    """The Ray engine: the driver skips finished rows, Ray tasks encode the rest, the driver writes the bytes."""
    todo = []
    for job in jobs:
        row, out, verify, references = job
        if not verify and _finished(Path(out) / row["id"], row_sha256(row), references):
            yield row["id"], "skipped", []
        else:
            todo.append(job)
    if not todo:
        return
    encoded = iter_encoded([j[0] for j in todo], bank_paths, engine="ray", workers=workers, address=address,
                           references=todo[0][3])  # fmt: skip
    for (row, out, verify, references), (files, metadata) in zip(todo, encoded, strict=True):
        yield _store(row, Path(out), verify, files, metadata, references)


def _run(jobs: list[Job], bank_paths: list[str], workers: int) -> Iterator[tuple[str, str, list]]:
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
    engine: str = "local",
    address: str | None = None,
    overwrite: bool = False,
    references: tuple[str, ...] | list[str] | None = None,
) -> RenderReport:
    """Render (or, with ``verify``, re-render and compare) the rows of one shard of a manifest.

    The folder is claimed for the manifest first (:func:`claim_render_folder`): a folder holding another
    manifest's mixtures is refused unless ``overwrite``, which removes them. ``references``: which reference
    files each target gets (None: direct, dry and wet); ``meta.json`` records a choice, and a mixture rendered
    with another choice is rendered again.

    ``engine`` is ``local`` (``workers`` processes, default up to 4) or ``ray`` (``workers`` concurrent Ray tasks,
    default every CPU of the cluster at ``address``, or of a local Ray instance when ``address`` is None)."""
    if engine not in ("local", "ray"):
        raise ValueError(f"unknown engine {engine!r} (use local or ray)")
    if address and engine != "ray":
        raise ValueError("a Ray address needs the ray engine (--engine ray)")
    m = read_manifest(manifest)
    banks = BankSet.open([str(p) for p in bank_paths])
    banks.check_fingerprints(m.header["banks"], str(manifest))
    out = Path(out)
    if not verify:
        claim_render_folder(out, m, overwrite)
    i, n = shard
    rows = [r for pos, r in enumerate(m.rows) if pos % n == i]
    if engine == "local":
        workers = workers if workers is not None else min(4, os.cpu_count() or 1)
    out.mkdir(parents=True, exist_ok=True)
    references = check_references(references)
    jobs = [(r, str(out), verify, references) for r in rows]
    report = RenderReport()
    desc = f"{'verify' if verify else 'render'} {m.split}" + (f" shard {i}/{n}" if n > 1 else "")
    paths = [str(Path(p).resolve()) for p in bank_paths]
    results = _run_ray(jobs, paths, workers, address) if engine == "ray" else _run(jobs, paths, workers or 1)
    for _, status, problems in tqdm(results, total=len(jobs), desc=desc, unit="mix", disable=not progress):
        report.counts[status] += 1
        report.problems += problems
    return report
