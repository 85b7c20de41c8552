"""Where an evaluation's mixtures, references, query clips and RIR figures come from.

Four sources give :func:`foabench.benchmark.evaluate.evaluate_separator` the same things:

- :class:`RenderedInputs` — a manifest and its banks, each mixture rendered in memory (``eval --manifest``);
- :class:`BenchmarkInputs` — a built benchmark folder (``eval --benchmark DIR``): the mixtures and references
  are read from its rendered files, each checked against the sha256 ``benchmark.json`` records;
- :class:`ShardInputs` — Hugging Face shards (``eval --hf DIR``): everything from the shards alone, the audio
  query clips included, so no bank is needed. Shards of a benchmark carry exactly the bytes of its rendered
  files, so ``--benchmark`` and ``--hf`` give the same figures;
- :class:`foabench.benchmark.dcase_inputs.DcaseInputs` — a DCASE Task 4 test folder (``eval --dcase DIR``);
  :func:`foabench.benchmark.input_sources.open_inputs` picks one.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from foabench.synth.audio_io import read_audio, sha256_file
from foabench.synth.banks.bank_set import BankSet
from foabench.synth.scenes.manifest import Manifest, audio_query_ref, read_manifest


class InputsError(ValueError):
    """Evaluation inputs that are missing or not what was published (named in the message)."""


@dataclass
class EvalInputs:
    """The rows of one split and what provenance records of them; subclasses say where the audio comes from."""

    rows: list[dict]
    manifest: dict  # path, rows_sha256, split, num_rows
    banks: dict[str, str]  # bank name -> fingerprint
    benchmark: dict | None = None  # name, version, sha256 of benchmark.json
    source: str = "render"

    @property
    def sample_rate(self) -> int:
        return int(self.rows[0]["sample_rate"]) if self.rows else 0

    def mixture(self, row: dict, reference: str) -> tuple[np.ndarray, list[np.ndarray]]:
        """``(frames, 4)`` float32 mixture and one ``(frames,)`` reference per target, in target order."""
        raise NotImplementedError

    def query_clip(self, ev: dict) -> np.ndarray:
        """The mono clip a target's audio query plays."""
        raise NotImplementedError

    def rir(self, row: dict, event: int) -> tuple[float | None, float | None]:
        """(RT60 s, DRR dB) of an event's RIR."""
        raise NotImplementedError

    def query_pointcloud(self, row: dict, event: int) -> np.ndarray:
        """The point cloud of an event's object as the row's depth capture saw it, ``(N, 3)`` float32."""
        raise InputsError(f"{self.source} inputs carry no point clouds")


@dataclass
class RenderedInputs(EvalInputs):
    """A manifest rendered in memory from its banks."""

    bank_set: BankSet | None = field(default=None, repr=False)

    @classmethod
    def open(cls, manifest_path: str | Path, bank_paths: list[str]) -> RenderedInputs:
        manifest = read_manifest(manifest_path)
        banks = BankSet.open(bank_paths)
        return cls(manifest.rows, manifest_info(manifest), {n: b.fingerprint for n, b in sorted(banks.banks.items())},
                   bank_set=banks)  # fmt: skip

    def __post_init__(self) -> None:
        from foabench.synth.scenes.render import Renderer

        self._renderer = Renderer(self.bank_set) if self.bank_set is not None else None
        self._capture_of: tuple[str | None, object] = (None, None)  # the last row's depth capture, by row id

    def mixture(self, row: dict, reference: str) -> tuple[np.ndarray, list[np.ndarray]]:
        rendered = self._renderer.render(row)
        return rendered.mixture, [refs[reference] for refs in rendered.references]

    def query_clip(self, ev: dict) -> np.ndarray:
        return self._renderer.audio(audio_query_ref(ev), 1)[:, 0]

    def rir(self, row: dict, event: int) -> tuple[float | None, float | None]:
        rec = self.bank_set.record(row["events"][event]["rir"])
        return rec.rt60_measured, rec.drr_db

    def query_pointcloud(self, row: dict, event: int) -> np.ndarray:
        from foabench.synth.scenes.pointcloud_query import scene_capture

        if "capture" not in row:
            raise InputsError(f"row {row['id']} has no point clouds (sample the split with queries.pointcloud)")
        if self._capture_of[0] != row["id"]:  # one capture per row, for all its targets
            self._capture_of = (row["id"], scene_capture(row, self.bank_set))
        return self._capture_of[1].of(event)


def manifest_info(manifest: Manifest) -> dict:
    return {"path": str(manifest.rows_path), "rows_sha256": sha256_file(manifest.rows_path),
            "split": manifest.header.get("split"), "num_rows": len(manifest.rows)}  # fmt: skip


@dataclass
class BenchmarkInputs(RenderedInputs):
    """A split of a built benchmark: rendered files checked against ``benchmark.json``; clips from its banks."""

    render_dir: Path | None = None
    files: dict[str, str] = field(default_factory=dict)  # "<row id>/<file>" -> sha256

    @classmethod
    def open_benchmark(cls, folder: str | Path, split: str) -> BenchmarkInputs:
        from foabench.benchmark.published.build import benchmark_identity, read_record

        folder = Path(folder)
        record = read_record(folder)
        if split not in record["manifests"]:
            raise InputsError(f"{folder}: benchmark {record['name']} has no split {split!r} "
                              f"(have {sorted(record['manifests'])})")  # fmt: skip
        manifest = read_manifest(folder / record["manifests"][split]["path"])
        info = manifest_info(manifest)
        if info["rows_sha256"] != record["manifests"][split]["rows_sha256"]:
            raise InputsError(f"{manifest.rows_path}: rows differ from the ones {folder}/benchmark.json records; "
                              f"run `foabench benchmark verify {folder}`")  # fmt: skip
        banks = BankSet.open([folder / "banks"])
        rendered = record["rendered"][split]
        return cls(manifest.rows, info, {n: b.fingerprint for n, b in sorted(banks.banks.items())},
                   benchmark=benchmark_identity(folder), source="benchmark files", bank_set=banks,
                   render_dir=folder / rendered["path"], files=rendered["files"])  # fmt: skip

    def _read(self, row_id: str, name: str) -> np.ndarray:
        key = f"{row_id}/{name}"
        path = self.render_dir / key
        if key not in self.files:
            raise InputsError(f"{path}: not a file of this benchmark (is the reference rendered?)")
        if not path.is_file() or sha256_file(path) != self.files[key]:
            raise InputsError(f"{path}: {'missing' if not path.is_file() else 'differs from benchmark.json'}; run "
                              f"`foabench benchmark verify` on the benchmark folder")  # fmt: skip
        return read_audio(path)[0]

    def mixture(self, row: dict, reference: str) -> tuple[np.ndarray, list[np.ndarray]]:
        n_targets = sum(ev["role"] == "target" for ev in row["events"])
        refs = [self._read(row["id"], f"target{k}_{reference}.flac")[:, 0] for k in range(n_targets)]
        return self._read(row["id"], "mixture.flac"), refs


#: target clouds a shard reader keeps after reading their row (more than any batch spans)
MAX_KEPT_CLOUDS = 4096


class ShardInputs(EvalInputs):
    """A split of Hugging Face shards (``foabench export-hf`` or ``benchmark build --hf``), read in row order."""

    def __init__(self, folder: str | Path, split: str):
        import pyarrow.parquet as pq

        from foabench.manifests.hf_reader import iter_rows, read_index

        self.folder = Path(folder)
        index = read_index(self.folder)
        if split not in index["splits"]:
            raise InputsError(f"{folder}: no split {split!r} in the shards (have {sorted(index['splits'])})")
        entry = index["splits"][split]
        rows = []
        for shard in entry["shards"]:
            rows += [json.loads(t) for t in pq.read_table(self.folder / shard["file"], columns=["row_json"])["row_json"]
                     .to_pylist()]  # fmt: skip
        if len(rows) != entry["num_rows"]:
            raise InputsError(f"{folder}: split {split!r} holds {len(rows)} rows, its index says {entry['num_rows']}")
        benchmark = None
        if (self.folder / "benchmark.json").is_file():
            from foabench.benchmark.published.build import benchmark_identity

            benchmark = benchmark_identity(self.folder)
        manifest = {"path": f"{self.folder}/{entry['manifest']}", "rows_sha256": entry["rows_sha256"],
                    "split": split, "num_rows": len(rows)}  # fmt: skip
        banks = {name: info.get("fingerprint") for name, info in sorted(entry["banks"].items())}
        super().__init__(rows, manifest, banks, benchmark, "hf shards")
        self._stream: Iterator[dict] = iter_rows(self.folder, split, decode=True)
        self._decoded: dict[str, dict] = {}
        self._clips: dict[str, np.ndarray] = {}
        self._rirs: dict[tuple[str, int], tuple[float | None, float | None]] = {}
        self._clouds: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()

    def _row(self, row_id: str) -> dict:
        while row_id not in self._decoded:
            try:
                decoded = next(self._stream)
            except StopIteration:
                raise InputsError(f"{self.folder}: row {row_id} not found in the shards (read out of order?)") from None
            self._decoded = {decoded["id"]: decoded}  # one row at a time: shards are read in order
            for t in decoded["targets"]:
                self._rirs[(decoded["id"], t["event"])] = (t.get("rt60"), t.get("drr_db"))
                if t.get("pointcloud") is not None:  # kept past their row: a batch spans several rows
                    self._clouds[(decoded["id"], t["event"])] = t["pointcloud"]
                    while len(self._clouds) > MAX_KEPT_CLOUDS:
                        self._clouds.popitem(last=False)
                if t.get("query_clip") is not None:
                    self._clips[audio_query_ref(decoded["row"]["events"][t["event"]])["sha256"]] = t["query_clip"]
        return self._decoded[row_id]

    def mixture(self, row: dict, reference: str) -> tuple[np.ndarray, list[np.ndarray]]:
        decoded = self._row(row["id"])
        refs = [t[reference] for t in decoded["targets"]]
        if any(r is None for r in refs):
            raise InputsError(f"{self.folder}: row {row['id']} carries no {reference!r} reference")
        return decoded["mixture"], refs

    def query_clip(self, ev: dict) -> np.ndarray:
        key = audio_query_ref(ev)["sha256"]
        if key not in self._clips:
            raise InputsError(f"{self.folder}: no audio query clip for {ev.get('label')!r} (shards of export "
                              "version 1 carry none; export them again)")  # fmt: skip
        return self._clips[key]

    def query_pointcloud(self, row: dict, event: int) -> np.ndarray:
        if (row["id"], event) not in self._clouds and row["id"] not in self._decoded:
            self._row(row["id"])
        if (row["id"], event) in self._clouds:
            return self._clouds[(row["id"], event)]
        raise InputsError(f"{self.folder}: row {row['id']} carries no point cloud for event {event} (shards of "
                          "export version < 4, or a split sampled without queries.pointcloud)")  # fmt: skip

    def rir(self, row: dict, event: int) -> tuple[float | None, float | None]:
        if (row["id"], event) not in self._rirs:
            self._row(row["id"])
        return self._rirs.get((row["id"], event), (None, None))
