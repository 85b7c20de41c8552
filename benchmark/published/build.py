"""``foabench benchmark build``: a benchmark definition -> a folder anyone can rebuild, verify and be scored on.

``DIR/`` holds

- ``banks/<key>/`` — the banks the definition names (built, copied, or reused when already built by the same
  plan: ``banks/.plans.json`` records each bank's builder and options);
- ``scene_spec.yaml`` — the definition's scene spec, for ``foabench train --spec`` on the dynamic split;
- ``splits.json`` — every source group, room and noise group with the split it belongs to (the training
  split's groups are what dynamic mixing draws from);
- ``manifests/<split>.jsonl`` — one fixed manifest per fixed split, checked (schema, hashes, leakage between
  the fixed splits and against the groups of every other split);
- ``render/<split>/`` — the rendered mixtures with the references the definition names (resumable);
- ``hf/`` — with ``--hf``: Hugging Face shards and dataset card of the fixed splits, their index
  (``shards.json``, with every shard's sha256) and a copy of ``benchmark.json`` (so the shards alone say which
  benchmark they hold; adding them later does not change the benchmark's record);
- ``benchmark.json`` — the definition, foabench's version, every bank fingerprint, every manifest's rows
  hash, the splits' hash and the sha256 of every rendered file. It holds no time and no
  absolute path: two builds of one definition give identical files. Keys keep their order (the definition's
  split order deals the groups), so it is written unsorted.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from foabench import synth
from foabench.benchmark.published.definition import BankPlan, Definition, DefinitionError, load_definition
from foabench.synth.audio_io import atomic_copy_tree, atomic_write_text, sha256_file
from foabench.synth.banks.format import HEADER_NAME, Bank
from foabench.synth.schema_version import check_schema_version

BENCHMARK_FILE = "benchmark.json"
BENCHMARK_SCHEMA = 1
PLANS = ".plans.json"
SPLITS_FILE = "splits.json"
SCENE_SPEC_FILE = "scene_spec.yaml"
HF_DIR = "hf"


@dataclass
class BuildReport:
    out: Path
    record: dict
    seconds: dict[str, float] = field(default_factory=dict)
    counts: dict[str, dict] = field(default_factory=dict)


def _build_bank(plan: BankPlan, out: Path, sample_rate: int, workers: int | None, progress: bool) -> None:
    if plan.builder == "starter":
        from foabench.synth.banks.starter.build import build_starter_bank

        build_starter_bank(out, sample_rate=sample_rate, classes=plan.options.get("classes"),
                           max_per_class=plan.options.get("max_per_class"), workers=workers,
                           progress=progress)  # fmt: skip
    elif plan.builder == "simulated":
        from foabench.synth.rooms.bank import build_room_bank
        from foabench.synth.rooms.sampler import RoomSpec

        spec = RoomSpec.from_dict({"sample_rate": sample_rate, **dict(plan.options.get("spec") or {})})
        build_room_bank(out, spec, name=plan.key, workers=workers, progress=progress)
    elif plan.builder == "starter-noise":
        from foabench.synth.noise.starter import build_starter_noise_bank

        build_starter_noise_bank(out, sample_rate=sample_rate, seed=int(plan.options.get("seed", 0)),
                                 progress=progress, workers=workers)  # fmt: skip
    else:
        assert plan.path is not None
        Bank.open(plan.path)  # refuse a folder that is not a bank before copying anything
        atomic_copy_tree(plan.path, out)


def _plan_key(plan: BankPlan, sample_rate: int) -> dict:
    return {"builder": plan.builder, "options": plan.options, "sample_rate": sample_rate}


def build_banks(
    defn: Definition, banks_dir: Path, workers: int | None = None, progress: bool = True
) -> dict[str, Bank]:
    """Build (or reuse) every bank of ``defn`` under ``banks_dir``; returns them by folder name."""
    banks_dir.mkdir(parents=True, exist_ok=True)
    plans_path = banks_dir / PLANS
    done = json.loads(plans_path.read_text()) if plans_path.is_file() else {}
    opened = {}
    for plan in defn.banks:
        out = banks_dir / plan.key
        key = _plan_key(plan, defn.scene.sample_rate)
        if not ((out / HEADER_NAME).is_file() and done.get(plan.key) == key):
            done.pop(plan.key, None)
            atomic_write_text(plans_path, json.dumps(done, indent=2, sort_keys=True) + "\n")
            _build_bank(plan, out, defn.scene.sample_rate, workers, progress)
            done[plan.key] = key
            atomic_write_text(plans_path, json.dumps(done, indent=2, sort_keys=True) + "\n")
        bank = Bank.open(out)
        if bank.sample_rate != defn.scene.sample_rate:
            raise DefinitionError(f"bank {plan.key} is at {bank.sample_rate} Hz, the scene spec at "
                                  f"{defn.scene.sample_rate} Hz")  # fmt: skip
        opened[plan.key] = bank
    names = Counter(b.name for b in opened.values())
    if any(c > 1 for c in names.values()):
        raise DefinitionError(f"banks of one benchmark need distinct names, got {dict(names)}")
    return opened


def split_groups(defn: Definition, banks: list[Bank]) -> dict:
    """Every group of every bank with its split: ``{kind: {split: ["bank/group", ...]}}`` (sorted)."""
    from foabench.synth.scenes.splits import plan_splits

    plan = plan_splits(banks, list(defn.scene.splits), defn.scene.split_seed)
    out: dict[str, dict[str, list[str]]] = {}
    for kind, assigned in (("sources", plan.sources), ("rooms", plan.rooms), ("noise", plan.noise)):
        by_split: dict[str, list[str]] = {name: [] for name, _ in defn.scene.splits}
        for (bank, group), split in assigned.items():
            by_split[split].append(f"{bank}/{group}")
        out[kind] = {s: sorted(v) for s, v in by_split.items()}
    return out


def sample_fixed_splits(defn: Definition, banks: list[Bank]) -> dict[str, tuple[dict, list[dict]]]:
    """Header and rows of every fixed split (deterministic in the definition and the banks)."""
    from foabench.synth.scenes.sampler import sample_manifest

    return {s.name: sample_manifest(defn.scene, banks, s.name, s.mixtures, s.seed) for s in defn.fixed}


def group_leaks(rows_by_split: dict[str, list[dict]], groups: dict) -> list[str]:
    """Rows that use a source group, room or noise group assigned to another split."""
    owner = {(kind, g): split for kind, by in groups.items() for split, gs in by.items() for g in gs}
    leaks = []
    for split, rows in rows_by_split.items():
        for row in rows:
            uses = [("sources", ev["source"]["bank"], ev["source"]["group"]) for ev in row["events"]]
            uses.append(("rooms", row["room"]["bank"], row["room"]["room"]))
            if row.get("noise"):
                uses.append(("noise", row["noise"]["bank"], row["noise"]["group"]))
            for kind, bank, group in uses:
                if owner.get((kind, f"{bank}/{group}")) != split:
                    leaks.append(f"{split} row {row['id']}: {kind} group {bank}/{group} belongs to split "
                                 f"{owner.get((kind, f'{bank}/{group}'))}")  # fmt: skip
    return leaks


def rendered_hashes(render_dir: Path, rows: list[dict]) -> dict[str, str]:
    """``"<row id>/<file>" -> sha256`` of every audio file of the rendered rows (sorted)."""
    out = {}
    for row in rows:
        folder = render_dir / row["id"]
        for f in sorted(folder.glob("*.flac")):
            out[f"{row['id']}/{f.name}"] = sha256_file(f)
    return out


def split_stats(rows: list[dict], banks: list[Bank]) -> dict:
    """Counts a benchmark's card quotes: mixtures, targets per mixture, classes, rooms, RT60 range, duration."""
    rirs = {(b.name, r.path): r for b in banks if b.kind == "rirs" for r in b.records}
    targets = [ev for r in rows for ev in r["events"] if ev["role"] == "target"]
    per_mixture = Counter(sum(ev["role"] == "target" for ev in r["events"]) for r in rows)
    interferers = Counter(sum(ev["role"] == "interference" for ev in r["events"]) for r in rows)
    rt60 = [rirs[(r["room"]["bank"], r["events"][0]["rir"]["path"])].rt60_measured for r in rows]
    rooms = {(r["room"]["bank"], r["room"]["room"]) for r in rows}
    durations = {round(r["num_frames"] / r["sample_rate"], 6) for r in rows}
    return {
        "mixtures": len(rows),
        "targets": len(targets),
        "targets_per_mixture": {str(k): v for k, v in sorted(per_mixture.items())},
        "interferers_per_mixture": {str(k): v for k, v in sorted(interferers.items())},
        "classes": dict(sorted(Counter(ev["label"] for ev in targets).items())),
        "rooms": len(rooms),
        "rt60_s": [round(min(rt60), 3), round(max(rt60), 3)] if rt60 else None,
        "duration_s": sorted(durations),
    }


def read_record(folder: str | Path) -> dict:
    """``benchmark.json`` of a built benchmark folder (refuses a missing, malformed or future one)."""
    path = Path(folder) / BENCHMARK_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no {BENCHMARK_FILE} (build it with `foabench benchmark build`)")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: malformed JSON ({exc})") from exc
    check_schema_version(record.get("schema_version"), BENCHMARK_SCHEMA, "benchmark record", str(path), ValueError)
    return record


def benchmark_identity(folder: str | Path) -> dict:
    """What results record of the benchmark they were scored on: name, version and sha256 of benchmark.json."""
    record = read_record(folder)
    return {"name": record["name"], "version": record["version"],
            "sha256": sha256_file(Path(folder) / BENCHMARK_FILE)}  # fmt: skip


def _timed(seconds: dict, key: str, t0: float) -> float:
    now = time.perf_counter()
    seconds[key] = round(now - t0, 1)
    return now


def build_benchmark(definition: str | Path | Definition, out: str | Path, *, workers: int | None = None,
                    hf: bool = False, encoder: str | None = None, cache: str | Path | None = None,
                    progress: bool = True, overwrite: bool = False) -> BuildReport:  # fmt: skip
    """Build (or resume) a benchmark folder (see the module docstring); returns what was written and timings."""
    from foabench.manifests.check import check_manifests, format_report
    from foabench.synth.scenes.manifest import write_manifest
    from foabench.synth.scenes.render_split import render_manifest

    defn = definition if isinstance(definition, Definition) else load_definition(definition)
    out = Path(out)
    if (out / BENCHMARK_FILE).is_file() and not overwrite:
        previous = read_record(out)
        if previous.get("definition_sha256") != defn.sha256:
            raise ValueError(f"{out} holds benchmark {previous.get('name')!r} built from another definition; "
                             "choose another --out, or pass --overwrite to rebuild it")  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    t = time.perf_counter()
    banks = build_banks(defn, out / "banks", workers, progress)
    t = _timed(seconds, "banks", t)
    bank_list = list(banks.values())
    groups = split_groups(defn, bank_list)
    atomic_write_text(out / SPLITS_FILE, json.dumps(groups, indent=1, sort_keys=True) + "\n")
    atomic_write_text(out / SCENE_SPEC_FILE, yaml.safe_dump(defn.data["scene"], sort_keys=False))
    sampled = sample_fixed_splits(defn, bank_list)
    leaks = group_leaks({s: rows for s, (_, rows) in sampled.items()}, groups)
    if leaks:
        raise ValueError(f"benchmark {defn.name}: rows use groups of other splits: {'; '.join(leaks[:5])}")
    paths = {}
    for split, (header, rows) in sampled.items():
        paths[split] = write_manifest(out / "manifests" / f"{split}.jsonl", header, rows, overwrite=overwrite)[0]
    report = check_manifests(list(paths.values()), banks=[out / "banks"])
    if not report.ok:
        raise ValueError(f"benchmark {defn.name}: the manifests failed their check:\n{format_report(report)}")
    t = _timed(seconds, "manifests", t)
    rendered = {}
    for split, path in paths.items():
        render_manifest(path, out / "render" / split, [out / "banks"], workers=workers, progress=progress,
                        overwrite=overwrite, references=defn.references)  # fmt: skip
        rendered[split] = rendered_hashes(out / "render" / split, sampled[split][1])
    t = _timed(seconds, "render", t)
    record = {
        "schema_version": BENCHMARK_SCHEMA,
        "name": defn.name,
        "version": defn.version,
        "definition": defn.data,
        "definition_sha256": defn.sha256,
        "foabench": synth.__version__,
        "banks": {
            key: {"name": b.name, "kind": b.kind, "fingerprint": b.fingerprint, "files": len(b.records)}
            for key, b in sorted(banks.items())
        },
        "splits_sha256": sha256_file(out / SPLITS_FILE),
        "manifests": {
            split: {
                "path": f"manifests/{split}.jsonl",
                "rows_sha256": sha256_file(path),  # what the header records (write_manifest hashes the same text)
                "num_rows": len(sampled[split][1]),
            }
            for split, path in sorted(paths.items())
        },
        "rendered": {
            split: {"path": f"render/{split}", "references": list(defn.references), "files": files}
            for split, files in sorted(rendered.items())
        },
        "stats": {split: split_stats(rows, bank_list) for split, (_, rows) in sorted(sampled.items())},
    }
    if hf:
        _export_hf(defn, out, paths, encoder, cache, workers, progress, overwrite)
        t = _timed(seconds, "hf", t)
    text = json.dumps(record, indent=1) + "\n"  # key order as built (the definition's is significant)
    atomic_write_text(out / BENCHMARK_FILE, text)
    if hf or (out / HF_DIR / BENCHMARK_FILE).is_file():  # the shards carry the record: `eval --hf` knows its
        atomic_write_text(out / HF_DIR / BENCHMARK_FILE, text)  # benchmark; shards never change the record
    return BuildReport(out, record, seconds, record["stats"])


def _export_hf(defn: Definition, out: Path, paths: dict[str, Path], encoder: str | None, cache, workers, progress,
               overwrite: bool) -> None:  # fmt: skip
    from foabench.manifests.hf_export import export_hf

    kwargs = {} if cache is None else {"cache": cache}
    export_hf([paths[s] for s in sorted(paths)], out / HF_DIR, [out / "banks"], encoder=encoder, workers=workers,
              pretty_name=f"foabench benchmark {defn.name}", progress=progress, overwrite=overwrite,
              references=defn.references, benchmark={"name": defn.name, "version": defn.version,
                                                     "definition_sha256": defn.sha256}, **kwargs)  # fmt: skip
