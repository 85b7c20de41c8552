"""``foabench eval``: score any separator on a published split.

For every (mixture, target, query type) of a manifest the harness renders the mixture (the manifests'
deterministic renderer), builds the query the manifest records for that target (the audio query clip's
embedding, or the text query's embedding, through the embedding cache), hands the separator a batch, and
scores the estimate against the target's reference (``direct`` by default) with :mod:`foabench.benchmark.metrics`.

A results folder holds

- ``provenance.json`` — the separator (spec, name, what it uses, whether that is oracle information, its
  checkpoint and sha256), the manifest (path, rows hash, split), the encoder (name, hash), the bank
  fingerprints, the reference, the query types and the foabench/torch versions;
- ``rows.jsonl`` — one row per (mixture, target, query type): metrics and the metadata breakdowns need
  (label, counts of targets/interferers, RT60, DRR, SNR, direction, room, noise);
- ``summary.json`` — per query type: means with bootstrap intervals and breakdowns by class, number of
  sources and interferers, RT60, DRR and SNR bins (:mod:`foabench.benchmark.breakdowns`); written atomically at the end;
- ``labelled.jsonl`` — for a separator that labels what it extracts (``segment`` or ``detect``, see
  :mod:`foabench.benchmark.labelled_eval`): one record per mixture with the labels on both sides, CA-SDRi,
  CAPI-SDRi and label accuracy; the summary's ``class_aware`` holds their means with intervals;
- ``examples/`` — listening material for the first ``examples`` mixtures (24-bit FLAC, mono):
  ``{mixture}_mixture.flac`` (the W channel), and per target event ``k``: ``{mixture}_{k}_reference.flac``,
  ``{mixture}_{k}_query.flac`` (the audio query clip) and ``{mixture}_{k}_{audio|text}.flac`` (the estimate), with
  ``{mixture}_{k}_{audio|text}_stereo.flac`` (the estimate heard from its source's direction on headphones).

With ``save_estimates`` every estimate is also written in DCASE's naming (:mod:`foabench.benchmark.estimate_files`).

Resumable: rows are appended a batch at a time (whole lines, flushed and fsynced); a rerun with the same
provenance skips the keys already written and drops a torn last line. The provenance identifies the
computation (:data:`RUN_FIELDS`: the separator spec, its arguments and a fingerprint of its code, the
checkpoint, the manifest's rows as they are on disk, the encoder, the banks, the reference, the query types and
foabench's version), and every row carries its hash as ``run``: a folder computed differently in any of them is
refused, naming what differs, unless ``overwrite``, which deletes its rows, summary and examples first.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from foabench import synth
from foabench.benchmark.breakdowns import summarize_rows
from foabench.benchmark.estimate_files import EstimateWriter, rule_layout
from foabench.benchmark.eval_inputs import EvalInputs, InputsError
from foabench.benchmark.input_sources import open_inputs
from foabench.benchmark.labelled_eval import answer, class_rule, labelling_mode, score_answer, summarize_labelled
from foabench.benchmark.metrics import score
from foabench.benchmark.result_rows import read_result_rows
from foabench.benchmark.separator import QueryBatch, SeparatorContext, SeparatorError, is_oracle
from foabench.benchmark.separator_code import code_fingerprint
from foabench.benchmark.separator_spec import load_separator
from foabench.synth.audio_io import AudioError, atomic_write_bytes, atomic_write_text, sha256_file, write_audio_atomic
from foabench.synth.banks.bank_set import InputError
from foabench.synth.cli_args import check_device
from foabench.synth.foa import direction_of
from foabench.synth.headphones import placed_preview
from foabench.synth.scenes.manifest import audio_query_ref
from foabench.synth.scenes.render import RenderError

QUERY_KINDS = ("audio", "text")
ROWS = "rows.jsonl"
PROVENANCE = "provenance.json"
SUMMARY = "summary.json"
LABELLED = "labelled.jsonl"
EXAMPLES = "examples"
METRICS = ("si_sdr", "sdr", "si_sdri", "sdri", "mixture_si_sdr", "mixture_sdr")


@dataclass
class EvalSettings:
    """One evaluation: which separator, on which split, with which queries, into which folder."""

    separator: str
    split: str | None  # a manifest (None with ``benchmark`` or ``hf``)
    out: str
    banks: list[str] = field(default_factory=lambda: ["foabench-data/banks"])
    query: str = "both"  # audio | text | both
    reference: str = "direct"  # direct | dry
    separator_args: dict = field(default_factory=dict)
    encoder: str = "foabench-data/encoders/builtin"
    cache: str = "foabench-data/embeddings"
    batch_size: int = 4
    device: str = "cpu"
    examples: int = 3
    overwrite: bool = False
    benchmark: str | None = None  # a built benchmark folder: score on its rendered files (``split`` unused)
    hf: str | None = None  # a Hugging Face shard folder: score on the shards alone
    benchmark_split: str = "test"  # the split of ``benchmark`` or ``hf``
    dcase: str | None = None  # a DCASE Task 4 test folder (soundscape/, oracle_target/): score on it, no banks
    dcase_layout: str | None = None  # 2025 | 2026 (None: guessed from the folder)
    query_bank: list[str] | None = None  # with ``dcase``: source bank(s) the audio queries come from
    save_estimates: str | None = None  # also write the estimates in DCASE naming under this folder
    labels: str | None = None  # "oracle": also score DCASE's class-aware metrics with the true labels as the tagger
    pointclouds: str | None = None  # a folder of user point clouds replacing the recorded point-cloud queries

    def kinds(self) -> tuple[str, ...]:
        if self.query == "both":
            return QUERY_KINDS
        if self.query not in QUERY_KINDS:
            raise ValueError(f"--query must be audio, text or both, not {self.query!r}")
        return (self.query,)


@dataclass
class _Item:
    key: str
    row: dict
    event: int  # index into row["events"]
    target: int  # index among the row's targets (reference files target{t}_*)
    kind: str


def _items(rows: list[dict], kinds: tuple[str, ...]) -> list[_Item]:
    out = []
    for row in rows:
        targets = [k for k, e in enumerate(row["events"]) if e["role"] == "target"]
        for t, k in enumerate(targets):
            out += [_Item(f"{row['id']}/{k}/{kind}", row, k, t, kind) for kind in kinds]
    return out


def _needs_encoder(sep) -> bool:
    return "query_embedding" in sep.uses or bool(getattr(sep, "needs_encoder", False))


class _Queries:
    """Query embeddings of a split's targets, embedded when first needed, through the cache."""

    def __init__(self, encoder, inputs: EvalInputs, cache_root: str, user_clouds=None):
        from foabench.synth.queries.cache import EmbeddingCache

        self.encoder, self.inputs = encoder, inputs
        self.user_clouds = user_clouds  # a UserClouds folder that replaces the recorded point-cloud queries
        self.cache = EmbeddingCache(cache_root, encoder.hash) if encoder is not None else None
        self.audio: dict[str, np.ndarray] = {}
        self.text: dict[str, np.ndarray] = {}

    def embeddings(self, events: list[dict], kind: str) -> np.ndarray:
        """One embedding per event's query of ``kind`` (``(len(events), dim)``)."""
        from foabench.synth.queries.cache import cached_audio, cached_text

        if kind == "audio":
            missing = {audio_query_ref(ev)["sha256"]: ev for ev in events}
            missing = {k: ev for k, ev in missing.items() if k not in self.audio}
            if missing:
                evs = list(missing.values())
                fresh = cached_audio(self.cache, self.encoder, list(missing), lambda i: self.inputs.query_clip(evs[i]),
                                     self.inputs.sample_rate)  # fmt: skip
                self.audio.update(zip(missing, fresh, strict=True))
            return np.stack([self.audio[audio_query_ref(ev)["sha256"]] for ev in events])
        texts = sorted({ev["query"]["text"] for ev in events} - set(self.text))
        if texts:
            self.text.update(zip(texts, cached_text(self.cache, self.encoder, texts), strict=True))
        return np.stack([self.text[ev["query"]["text"]] for ev in events])


def provenance(settings: EvalSettings, sep, inputs: EvalInputs, encoder) -> dict:
    """What a results folder was computed from: everything its rows depend on (compared on resume)."""
    info = getattr(sep, "info", {})
    prov = {
        "separator": {
            "spec": settings.separator,
            "name": sep.name,
            "uses": list(sep.uses),
            "oracle": is_oracle(sep),
            "bound": bool(getattr(sep, "is_bound", False)),
            "args": settings.separator_args,
            "labels": settings.labels,
            "code": code_fingerprint(sep),
            "checkpoint": info.get("checkpoint"),
            "checkpoint_sha256": info.get("checkpoint_sha256"),
            "parameters": info.get("parameters"),
            "train_steps": info.get("step"),
            "train_seconds": info.get("train_seconds"),
            "model": info.get("settings", {}).get("model"),
            "model_config": info.get("model_config"),
        },
        "manifest": inputs.manifest,
        "benchmark": inputs.benchmark,
        "inputs": inputs.source,
        "encoder": None if encoder is None else {"name": encoder.name, "hash": encoder.hash},
        "banks": inputs.banks,
        "reference": settings.reference,
        "queries": list(settings.kinds()),
        "expected_rows": len(_items(inputs.rows, settings.kinds())),
        "pointclouds": _folder_identity(settings.pointclouds) if settings.pointclouds else None,
        "foabench": synth.__version__,
        "torch": torch.__version__,
    }
    prov["run"] = run_key(prov)
    return prov


#: the provenance fields a results row depends on: a folder resumes only when every one of them is equal
RUN_FIELDS = (("separator", "spec"), ("separator", "args"), ("separator", "code", "sha256"),
              ("separator", "checkpoint_sha256"), ("manifest", "rows_sha256"), ("encoder", "hash"), ("banks",),
              ("reference",), ("queries",), ("foabench",), ("benchmark", "sha256"),
              ("separator", "labels"), ("pointclouds", "sha256"))  # fmt: skip
#: fields added after results were first written: left out of the run key while unset, so old folders resume
OPTIONAL_RUN_FIELDS = (("benchmark", "sha256"), ("separator", "labels"), ("pointclouds", "sha256"))


def _folder_identity(folder: str) -> dict:
    """A folder of user point clouds as provenance: its path and a hash over its files' names and contents."""
    h = hashlib.sha256()
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        h.update(f"{path.relative_to(folder).as_posix()}\t{sha256_file(path)}\n".encode())
    return {"folder": str(folder), "sha256": h.hexdigest()}


def _field(prov: dict, path: tuple[str, ...]):
    value = prov
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def run_key(prov: dict) -> str:
    """A short hash of :data:`RUN_FIELDS`: every results row carries it as ``run``."""
    fields = {".".join(path): _field(prov, path) for path in RUN_FIELDS
              if path not in OPTIONAL_RUN_FIELDS or _field(prov, path) is not None}  # fmt: skip
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]


def run_differences(old: dict, new: dict) -> list[str]:
    """``field: old -> new`` for each :data:`RUN_FIELDS` entry that differs."""

    def show(value) -> str:
        text = json.dumps(value, sort_keys=True)
        return text if len(text) <= 60 else text[:57] + "..."

    return [f"{'.'.join(p)}: {show(_field(old, p))} -> {show(_field(new, p))}" for p in RUN_FIELDS
            if _field(old, p) != _field(new, p)]  # fmt: skip


def _read_done(path: Path) -> dict[str, dict]:
    """Rows already written, by key; a torn last line (interrupted write) is dropped from the file."""
    if not path.is_file():
        return {}
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        atomic_write_text(path, data[: data.rfind(b"\n") + 1].decode("utf-8"))
    return {r["key"]: r for r in read_result_rows(path)}


def _append_rows(path: Path, rows: list[dict]) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
        fh.flush()
        os.fsync(fh.fileno())


def _metadata(item: _Item, inputs: EvalInputs) -> dict:
    row, ev = item.row, item.row["events"][item.event]
    rt60, drr = inputs.rir(row, item.event)
    roles = [e["role"] for e in row["events"]]
    return {
        "key": item.key,
        "mixture": row["id"],
        "event": item.event,
        "target": item.target,
        "query": item.kind,
        "query_text": ev["query"]["text"],
        "label": ev["label"],
        "n_targets": roles.count("target"),
        "n_interferers": roles.count("interference"),
        "n_sources": len(roles),
        "snr_db": ev.get("snr_db"),
        "azimuth": ev.get("azimuth"),
        "elevation": ev.get("elevation"),
        "rt60": rt60,
        "drr_db": drr,
        "room": (row.get("room") or {}).get("room"),
        **_spatial_query(ev),
        "noise": row.get("noise") is not None,
    }


def _spatial_query(ev: dict) -> dict:
    """The target's recorded direction query, region centre and point-cloud centroid direction, for the report's
    direction maps (those it has)."""
    query = ev.get("query") or {}
    out = {}
    for key in ("direction", "region"):
        if query.get(key) is not None:
            out[f"{key}_query"] = [query[key]["azimuth"], query[key]["elevation"]]
    centroid = (query.get("pointcloud") or {}).get("centroid")
    if centroid is not None and any(centroid):
        az, el, _ = direction_of(np.asarray(centroid, dtype=np.float64))
        out["pointcloud_query"] = [round(float(az), 2), round(float(el), 2)]
    return out


def _nan_to_none(x: float) -> float | None:
    return None if not np.isfinite(x) else round(float(x), 4)


def evaluate_separator(
    settings: EvalSettings, progress: bool = True, stop_after: int | None = None, encoder=None, separator=None
) -> dict:
    """Run (or resume) an evaluation; returns the summary. ``encoder``/``separator``: already opened objects to
    use instead of opening ``settings.encoder``/``settings.separator`` (callers evaluating many separators);
    ``stop_after`` ends after that many new items, as an interruption would (for tests)."""
    from tqdm import tqdm

    from foabench.synth.queries.registry import open_encoder

    if settings.reference not in ("direct", "dry"):
        raise ValueError(f"--reference must be direct or dry (mono references), not {settings.reference!r}")
    if settings.batch_size < 1 or settings.examples < 0:
        raise ValueError(f"batch size {settings.batch_size} and examples {settings.examples}: need >= 1 and >= 0")
    check_device(settings.device)
    kinds = settings.kinds()
    inputs = open_inputs(settings.split, settings.banks, settings.benchmark, settings.hf, settings.benchmark_split,
                         settings.dcase, settings.dcase_layout, settings.query_bank, "audio" in kinds)  # fmt: skip
    sep = separator or load_separator(settings.separator, settings.separator_args, settings.device)
    if not _needs_encoder(sep):
        encoder = None
    elif encoder is None:
        encoder = open_encoder(getattr(sep, "encoder_folder", None) or settings.encoder)
    trained_with = getattr(sep, "encoder_hash", None)
    if encoder is not None and trained_with and encoder.hash != trained_with:
        raise SeparatorError(f"{settings.separator} was trained with query encoder {trained_with[:12]}…, the "
                             f"evaluation's encoder is {encoder.hash[:12]}…: its queries would be meaningless to it "
                             "(pass the encoder it was trained with, --encoder)")  # fmt: skip
    out = Path(settings.out)
    out.mkdir(parents=True, exist_ok=True)
    prov = provenance(settings, sep, inputs, encoder)
    rows_path = out / ROWS
    if settings.overwrite:
        for name in (ROWS, PROVENANCE, SUMMARY, LABELLED):
            (out / name).unlink(missing_ok=True)
        shutil.rmtree(out / EXAMPLES, ignore_errors=True)
    elif (out / PROVENANCE).is_file():
        diffs = run_differences(json.loads((out / PROVENANCE).read_text()), prov)
        if diffs:
            raise ResultsMismatch(f"{out} holds results of another computation, so they cannot be resumed: "
                             f"{'; '.join(diffs)}. Choose another --out, or pass --overwrite to discard "
                             "them")  # fmt: skip
    elif rows_path.exists():
        raise ValueError(f"{out}: {ROWS} without {PROVENANCE}; choose another --out or pass --overwrite")
    atomic_write_text(out / PROVENANCE, json.dumps(prov, indent=2, sort_keys=True) + "\n")
    done = _read_done(rows_path)
    rows = inputs.rows
    sample_rate = inputs.sample_rate
    mode = labelling_mode(sep, settings.labels)
    labelled_path = out / LABELLED
    labelled_done = _read_done(labelled_path) if mode else {}
    rule = getattr(inputs, "class_rule", None) or class_rule(rows)
    writer = (
        EstimateWriter(settings.save_estimates, rule_layout(rule), sample_rate) if settings.save_estimates else None
    )
    if hasattr(sep, "setup"):
        sep.setup(SeparatorContext(sample_rate, torch.device(settings.device), encoder))
    user_clouds = None
    if settings.pointclouds:
        from foabench.synth.pointclouds.user_clouds import UserClouds

        user_clouds = UserClouds(settings.pointclouds)
    queries = _Queries(encoder if "query_embedding" in sep.uses else None, inputs, settings.cache, user_clouds)
    example_ids = {r["id"] for r in rows[: settings.examples]}
    todo = [it for it in _items(rows, kinds) if it.key not in done]
    bar = tqdm(total=len(todo), desc=f"eval {sep.name}", unit="target", disable=not progress)
    seconds, new = 0.0, 0
    by_row: dict[str, list[_Item]] = {}
    for it in todo:
        by_row.setdefault(it.row["id"], []).append(it)
    pending: list[tuple[_Item, np.ndarray, np.ndarray]] = []

    def flush() -> None:
        nonlocal seconds
        if not pending:
            return
        for kind in kinds:
            group = [p for p in pending if p[0].kind == kind]
            for length in sorted({p[1].shape[0] for p in group}):
                batch = [p for p in group if p[1].shape[0] == length]
                est, took = _timed(f"{sep.name} on {_where(batch, kind)}", _separate, sep, batch, kind, sample_rate,
                                   queries, inputs)  # fmt: skip
                seconds += took
                _write(batch, est)
        pending.clear()

    def _write(batch, est: np.ndarray) -> None:
        nonlocal new
        out_rows = []
        for (it, mixture, ref), e in zip(batch, est, strict=True):
            m = score(e, ref, mixture[:, 0])
            silent = not np.isfinite(m["si_sdr"])
            out_rows.append({**_metadata(it, inputs), "run": prov["run"], "separator": sep.name,
                             "oracle": is_oracle(sep), "reference": settings.reference,
                             "silent_reference": bool(silent), **{k: _nan_to_none(m[k]) for k in METRICS}})  # fmt: skip
            if writer is not None:
                writer.target(it.kind, it.row, it.target, e)
            if it.row["id"] in example_ids:
                stem = out / EXAMPLES / f"{it.row['id']}_{it.event}"
                write_audio_atomic(f"{stem}_{it.kind}.flac", _safe_peak(e), sample_rate)
                ev = it.row["events"][it.event]
                if ev.get("azimuth") is not None:  # the estimate heard from where its source is
                    placed = placed_preview(e, ev["azimuth"], ev.get("elevation") or 0.0)
                    write_audio_atomic(f"{stem}_{it.kind}_stereo.flac", _safe_peak(placed), sample_rate)
                if not Path(f"{stem}_reference.flac").is_file():  # shared by the query types
                    write_audio_atomic(f"{stem}_reference.flac", _safe_peak(ref), sample_rate)
                    _write_mixture_example(out / EXAMPLES / it.row["id"], mixture, sample_rate)
                    if "audio" in kinds:  # text-only inputs may have no clip (a DCASE folder without a bank)
                        query_clip = inputs.query_clip(it.row["events"][it.event])
                        write_audio_atomic(f"{stem}_query.flac", _safe_peak(query_clip), sample_rate)
        _append_rows(rows_path, out_rows)
        new += len(out_rows)
        bar.update(len(out_rows))

    def text_queries(texts: list[str]) -> QueryBatch:
        return _query_batch(sep, [{"query": {"text": t}} for t in texts], "text", sample_rate, queries, inputs)

    def label_pass(row: dict, mixture: np.ndarray, refs: list[np.ndarray]) -> None:
        """The separator's labelled answer to one mixture, scored DCASE's way (:mod:`.labelled_eval`)."""
        nonlocal labelled_seconds
        labels = [e["label"] for e in row["events"] if e["role"] == "target"]
        pairs, took = _timed(f"{sep.name} labelling {row['id']}", answer, sep, mode, mixture, sample_rate,
                             text_queries, labels)  # fmt: skip
        labelled_seconds += took
        record = {**score_answer(row["id"], pairs, labels, refs, mixture), "run": prov["run"], "mode": mode}
        _append_rows(labelled_path, [record])
        if writer is not None:
            writer.labelled(row["id"], pairs)

    labelled_seconds = 0.0
    for row in rows:
        items = by_row.get(row["id"], [])
        labelling = mode is not None and row["id"] not in labelled_done
        if not items and not labelling:
            continue
        try:
            mixture, refs = inputs.mixture(row, settings.reference)
        except (InputError, AudioError, RenderError, InputsError) as exc:
            raise _kept(exc, f"reading {inputs.manifest['path']}") from exc
        if labelling:
            label_pass(row, mixture, refs)
        for it in items:
            pending.append((it, mixture, refs[it.target]))
        if len(pending) >= settings.batch_size * len(kinds):
            flush()
        if stop_after is not None and new >= stop_after:
            break
    else:
        flush()
    bar.close()
    if stop_after is not None and new >= stop_after and len(done) + new < len(_items(rows, kinds)):
        return {}
    summary = summarize_rows(list(_read_done(rows_path).values()))
    summary["separator_seconds"] = round(seconds, 3)
    if mode is not None:
        summary["labelled_seconds"] = round(labelled_seconds, 3)
    summary["class_aware"] = summarize_labelled(list(_read_done(labelled_path).values()), rule, mode) if mode else None
    summary["provenance"] = prov
    atomic_write_text(out / SUMMARY, json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return summary


def _where(batch: list, kind: str) -> str:
    """The items of a batch: mixture ids with target indices, and the query type."""
    items = ", ".join(f"{it.row['id']} target {it.target}" for it, _, _ in batch)
    return f"{items} ({kind} query)"


class ResultsMismatch(ValueError):
    """A results folder computed otherwise than the evaluation asked for (see :func:`run_differences`)."""


class EvaluationError(ValueError):
    """An evaluation stopped by an error, with where it happened and what was kept in the results folder."""


def _timed(where: str, call, *args):
    """``(call(*args), seconds)``; an error becomes an :class:`EvaluationError` naming ``where`` (rows kept)."""
    t0 = time.perf_counter()
    try:
        result = call(*args)
    except Exception as exc:
        raise _kept(exc, where) from exc
    return result, time.perf_counter() - t0


def _kept(exc: Exception, where: str) -> EvaluationError:
    return EvaluationError(f"{where}: {exc}. The rows finished so far are kept in the results folder; fix the "
                           "cause and run the same command again to resume")  # fmt: skip


def _write_mixture_example(stem: Path, mixture: np.ndarray, sample_rate: int) -> None:
    """``{stem}_mixture.flac`` (W), ``{stem}_mixture_stereo.flac`` (the headphone preview of the FOA mixture) and
    ``{stem}_directions.npz`` (where its directional energy comes from) for the report's listening examples."""
    from foabench.baselines.doa import direction_map
    from foabench.synth.headphones import stereo_preview

    write_audio_atomic(f"{stem}_mixture.flac", _safe_peak(mixture[:, 0]), sample_rate)
    write_audio_atomic(f"{stem}_mixture_stereo.flac", _safe_peak(stereo_preview(mixture)), sample_rate)
    grid, az_edges, el_edges = direction_map(mixture.T, sample_rate)
    buf = io.BytesIO()
    np.savez(buf, map=grid.astype(np.float32), az_edges=az_edges, el_edges=el_edges)
    atomic_write_bytes(f"{stem}_directions.npz", buf.getvalue())


def _safe_peak(wave: np.ndarray) -> np.ndarray:
    """An estimate scaled down (never up) to fit 24-bit FLAC without clipping."""
    peak = float(np.max(np.abs(wave), initial=0.0))
    return (wave / peak * 0.99 if peak > 0.99 else wave).astype(np.float32)


def _query_batch(sep, events: list[dict], kind: str, sample_rate: int, queries: _Queries, inputs: EvalInputs,
                 targets: list[np.ndarray] | None = None, places: list[tuple[dict, int]] | None = None,
                 ) -> QueryBatch:  # fmt: skip
    """The :class:`QueryBatch` of ``events`` (their recorded queries of ``kind``; ``places``: each event's row and
    index in it), with what ``sep.uses`` names."""
    uses = set(sep.uses)
    q = QueryBatch(kind=kind, sample_rate=sample_rate)
    if "query_embedding" in uses:
        q.embedding = torch.from_numpy(queries.embeddings(events, kind).astype(np.float32))
    if "query_text" in uses:
        q.text = [ev["query"]["text"] for ev in events]
    if "query_audio" in uses and kind == "audio":
        q.audio = [inputs.query_clip(ev) for ev in events]
    if "query_direction" in uses:
        if any((ev.get("query") or {}).get("direction") is None for ev in events):
            raise ValueError(f"{sep.name} reads the direction query, and these targets have none (sample the split "
                             "with queries.direction in its spec)")  # fmt: skip
        q.query_direction = np.array([[ev["query"]["direction"]["azimuth"], ev["query"]["direction"]["elevation"]]
                                      for ev in events], dtype=np.float64)  # fmt: skip
    if "query_region" in uses:
        if any((ev.get("query") or {}).get("region") is None for ev in events):
            raise ValueError(f"{sep.name} reads the region query, and these targets have none (sample the split "
                             "with queries.region in its spec)")  # fmt: skip
        q.query_region = [dict(ev["query"]["region"]) for ev in events]
    if "query_pointcloud" in uses:
        clouds = queries.user_clouds
        missing = any((ev.get("query") or {}).get("pointcloud") is None for ev in events)
        if places is None or (clouds is None and missing):
            raise ValueError(f"{sep.name} reads the point-cloud query, and these targets have none (sample the "
                             "split with queries.pointcloud and a meshes bank, or pass --pointclouds)")  # fmt: skip
        get = clouds.target_cloud if clouds is not None else inputs.query_pointcloud
        q.query_pointcloud = [get(row, j) for row, j in places]
    if "oracle_direction" in uses:
        if any(ev.get("azimuth") is None or ev.get("elevation") is None for ev in events):
            raise ValueError(f"{sep.name} reads the true direction, and these targets have none recorded (a DCASE "
                             "folder without foabench metadata)")  # fmt: skip
        q.direction = np.array([[ev["azimuth"], ev["elevation"]] for ev in events], dtype=np.float64)
    if "oracle_target" in uses:
        q.target = torch.from_numpy(np.stack(targets).astype(np.float32))
    return q


def _separate(sep, batch, kind: str, sample_rate: int, queries: _Queries, inputs: EvalInputs) -> np.ndarray:
    """Run the separator on one batch of equal-length items; returns ``(B, L)`` float64."""
    events = [it.row["events"][it.event] for it, _, _ in batch]
    mixture = torch.from_numpy(np.stack([m.T for _, m, _ in batch]).astype(np.float32))
    places = [(it.row, it.event) for it, _, _ in batch]
    query = _query_batch(sep, events, kind, sample_rate, queries, inputs, [r for _, _, r in batch], places)
    est = sep.separate(mixture, query)
    est = est.detach().cpu().numpy() if torch.is_tensor(est) else np.asarray(est)
    if est.shape != (len(batch), mixture.shape[-1]):
        raise ValueError(f"separate() returned shape {est.shape}, expected {(len(batch), mixture.shape[-1])}")
    if not np.isfinite(est).all():
        bad = sorted({i for i in np.argwhere(~np.isfinite(est))[:, 0].tolist()})
        items = ", ".join(f"{batch[i][0].row['id']} target {batch[i][0].target}" for i in bad)
        raise ValueError(f"separate() returned NaN/Inf for {items}")
    return est.astype(np.float64)


def format_summary(summary: dict, name: str) -> str:
    """One line per query type: ``name [query]: SI-SDR x dB, SDR y dB, SI-SDRi z dB (n targets)``."""
    lines = []
    for kind, e in summary["by_query"].items():
        lines.append(f"{name} [{kind} query]: SI-SDR {e['si_sdr']:.2f} dB, SDR {e['sdr']:.2f} dB, "
                     f"SI-SDRi {e['si_sdri']:+.2f} dB, SDRi {e['sdri']:+.2f} dB ({e['n']} targets)")  # fmt: skip
    return "\n".join(lines)
