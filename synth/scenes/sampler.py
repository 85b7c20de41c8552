"""Sampling scenes of one split into manifest rows.

Row ``i`` draws everything from its own generator, seeded with ``SeedSequence([seed, i])`` (the 32-bit row
seed is stored in the row), in a fixed order over inputs sorted by bank and path, so a manifest depends only
on the spec, the banks, the split, ``n`` and ``seed`` — never on directory listing or global random state.
For each mixture: the targets (count, possibly 0; distinct classes unless the spec repeats them, plus same-class
duplicates where the spec allows them, each from another recording; a clip of each class, an excerpt of at
most ``max_event_s``, an onset that keeps the event inside the mixture, an SNR), then the interferers (classes
that are not targets of this mixture), then one room and a distinct RIR per event whose directions are at
least ``min_separation_deg`` apart (and ``duplicates.min_angle_deg`` between targets of one class), then the
background noise clip, offset and level. A spec without duplicates draws exactly the numbers it drew before
they existed, so its rows are unchanged. Spatial queries (direction, region, point cloud) come from streams of
their own, so a spec that asks for them samples exactly the rows (and audio and text queries) of one that does
not, plus the spatial queries and the objects.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from foabench import synth
from foabench.synth.banks.format import Bank, ClipRecord, MeshRecord, NoiseRecord, RirRecord
from foabench.synth.foa import angular_distance
from foabench.synth.pointclouds.scene import MeshCache, capture_scene
from foabench.synth.scenes.direction_query import make_direction_query
from foabench.synth.scenes.pointcloud_query import assign_objects, room_geometry, target_queries
from foabench.synth.scenes.query_plan import TEMPLATES, class_phrase, make_recipe
from foabench.synth.scenes.region_query import make_region_query
from foabench.synth.scenes.spec import EventSpec, SceneSpec, SpecError
from foabench.synth.scenes.splits import SplitPlan, plan_splits

MAX_ROOM_TRIES = 50


@dataclass
class _Pools:
    """The inputs of one split, in a fixed order."""

    clips: dict[str, list[tuple[str, ClipRecord]]]  # class -> [(bank, record)]
    rooms: list[tuple[str, str, list[RirRecord]]]  # [(bank, room, rirs)]
    noise: list[tuple[str, NoiseRecord]]
    meshes: dict[str, list[tuple[str, MeshRecord]]] = field(default_factory=dict)  # class -> [(bank, mesh)]
    no_shape: set[str] = field(default_factory=set)  # classes a mesh table gives no shape
    mesh_banks: dict[str, Bank] = field(default_factory=dict)
    mesh_cache: MeshCache = field(default_factory=MeshCache)


def _ref(bank: str, rec, group: str) -> dict:
    return {"bank": bank, "path": rec.path, "sha256": rec.sha256, "group": group}


def _pools(banks: list[Bank], plan: SplitPlan, split: str, spec: SceneSpec) -> _Pools:
    clips: dict[str, list[tuple[str, ClipRecord]]] = defaultdict(list)
    by_room: dict[tuple[str, str], list[RirRecord]] = defaultdict(list)
    noise = []
    meshes: dict[str, list[tuple[str, MeshRecord]]] = defaultdict(list)
    mesh_banks, no_shape = {}, set()
    for bank in sorted(banks, key=lambda b: b.name):
        if bank.kind == "meshes":
            mesh_banks[bank.name] = bank
            no_shape.update(bank.header.get("classes_without_shape", []))
            for rec in sorted(bank.records, key=lambda r: r.path):
                if plan.meshes.get((bank.name, rec.split_group)) == split:
                    for label in rec.labels:
                        meshes[label].append((bank.name, rec))
            continue
        if bank.sample_rate != spec.sample_rate:
            raise SpecError(f"bank {bank.name!r} is at {bank.sample_rate} Hz, the spec at {spec.sample_rate} Hz")
        for rec in sorted(bank.records, key=lambda r: r.path):
            if bank.kind == "sources" and plan.sources.get((bank.name, rec.split_group)) == split:
                if rec.num_frames >= round(spec.min_event_s * spec.sample_rate):
                    clips[rec.labels[0]].append((bank.name, rec))
            elif bank.kind == "rirs" and plan.rooms.get((bank.name, rec.room)) == split:
                if spec.rooms == "any" or rec.simulated == (spec.rooms == "simulated"):
                    by_room[(bank.name, rec.room)].append(rec)
            elif bank.kind == "noise" and plan.noise.get((bank.name, rec.split_group)) == split:
                noise.append((bank.name, rec))
    rooms = [(b, room, rirs) for (b, room), rirs in sorted(by_room.items())]
    if spec.query_pointcloud is not None and not mesh_banks:
        raise SpecError("the spec asks for point-cloud queries but no meshes bank was given "
                        "(build one with `foabench bank meshes --out DIR` and pass it with --banks)")  # fmt: skip
    return _Pools(dict(clips), rooms, noise, dict(meshes), no_shape, mesh_banks)


def _classes(wanted: tuple[str, ...] | None, available: list[str], where: str) -> list[str]:
    if wanted is None:
        return available
    missing = sorted(set(wanted) - set(available))
    if missing:
        raise SpecError(f"{where}: classes {missing} have no clips in this split (available: {available})")
    return sorted(wanted)


def _labels(rng: np.random.Generator, role: str, es: EventSpec, classes: list[str], pools: _Pools,
            count: int) -> list[str]:  # fmt: skip
    """The classes of ``count`` events: distinct ones (unless repeated), then any same-class duplicates, each of a
    class with a clip left to draw (a class of its own where no class of the mixture has one)."""
    dup = es.duplicates
    n_dup = 0
    if dup is not None and count >= 2 and rng.uniform() < dup.rate:
        n_dup = int(rng.integers(1, min(count - 1, dup.max) + 1))
    distinct = count - n_dup
    if not es.repeat_classes and distinct > len(classes):
        raise SpecError(f"{distinct} {role} events of distinct classes, but this split has only {len(classes)} classes")
    labels = [classes[int(ci)] for ci in rng.choice(len(classes), size=distinct, replace=es.repeat_classes)]
    for _ in range(n_dup):  # a duplicate needs another recording of its class than those already used
        eligible = [c for c in labels[:distinct] if len(pools.clips[c]) > labels.count(c)]
        if not eligible:  # every class in the mixture has used all its clips: a target of a new class instead
            eligible = [c for c in classes if c not in labels]
        if not eligible:
            raise SpecError(f"{count} {role} events: the classes {sorted(set(labels))} have no clip left in this split")
        labels.append(eligible[int(rng.integers(len(eligible)))])
    return labels


def _clip(rng: np.random.Generator, pools: _Pools, label: str, same_class: list[dict]) -> tuple[str, ClipRecord]:
    """A clip of ``label``; for a duplicate (``same_class`` non-empty) one of another recording than those of
    ``same_class``: another split group where the split has one, another clip otherwise."""
    pool = pools.clips[label]
    if same_class:
        used = {(e["source"]["bank"], e["source"]["path"]) for e in same_class}
        groups = {e["source"]["group"] for e in same_class}
        other = [(b, r) for b, r in pool if (b, r.path) not in used]
        pool = [(b, r) for b, r in other if r.split_group not in groups] or other
    return pool[int(rng.integers(len(pool)))]


def _sample_events(
    rng: np.random.Generator, spec: SceneSpec, role: str, es: EventSpec, classes: list[str], pools: _Pools
) -> list[dict]:
    count = int(es.count.sample(rng))
    if count == 0:
        return []
    if not classes:
        raise SpecError(f"no classes left for {role} events in this split")
    n = spec.num_frames
    max_len = round(spec.max_event_s * spec.sample_rate)
    min_len = round(spec.min_event_s * spec.sample_rate)
    events: list[dict] = []
    for label in _labels(rng, role, es, classes, pools, count):
        same_class = [e for e in events if e["label"] == label] if es.duplicates is not None else []
        bank, rec = _clip(rng, pools, label, same_class)
        length = min(rec.num_frames, max_len, n)
        if es.duration_s is not None:
            wanted = max(min_len, round(float(es.duration_s.sample(rng)) * spec.sample_rate))
            length = min(length, wanted)
        offset = int(rng.integers(rec.num_frames - length + 1))
        if es.onset_s is None:
            onset = int(rng.integers(n - length + 1))
        else:
            onset = min(max(0, round(float(es.onset_s.sample(rng)) * spec.sample_rate)), n - length)
        events.append(
            {
                "role": role,
                "label": label,
                "source": _ref(bank, rec, rec.split_group),
                "source_offset": offset,
                "onset": onset,
                "length": int(length),
                "snr_db": round(float(es.snr_db.sample(rng)), 4),
            }
        )
    return events


def _min_angles(spec: SceneSpec, events: list[dict]) -> np.ndarray:
    """``(n, n)`` least angle (degrees) between the directions of every two events."""
    need = np.full((len(events), len(events)), spec.min_separation_deg)
    dup = spec.targets.duplicates
    if dup is not None:
        for i, a in enumerate(events):
            for j, b in enumerate(events):
                if i != j and a["role"] == b["role"] == "target" and a["label"] == b["label"]:
                    need[i, j] = max(need[i, j], dup.min_angle_deg)
    return need


def _place(rng: np.random.Generator, spec: SceneSpec, events: list[dict], pools: _Pools) -> dict:
    """Pick one room and a distinct, separated RIR for every event; returns the room reference."""
    if not pools.rooms:
        raise SpecError("this split has no rooms (RIR bank missing, or the spec's rooms filter removes them all)")
    if not events:  # no target and no interferer (only noise): the row still names one room of the split
        bank, room, _ = pools.rooms[int(rng.integers(len(pools.rooms)))]
        return {"bank": bank, "room": room}
    need = _min_angles(spec, events)
    for _ in range(MAX_ROOM_TRIES):
        bank, room, rirs = pools.rooms[int(rng.integers(len(pools.rooms)))]
        chosen: list[RirRecord] = []
        for idx in rng.permutation(len(rirs)):
            r = rirs[int(idx)]
            if all(
                angular_distance(r.azimuth, r.elevation, c.azimuth, c.elevation) >= need[k, len(chosen)]
                for k, c in enumerate(chosen)
            ):
                chosen.append(r)
                if len(chosen) == len(events):
                    break
        if len(chosen) == len(events):
            for ev, rir in zip(events, chosen, strict=True):
                ev["rir"] = _ref(bank, rir, rir.room)
                ev["azimuth"], ev["elevation"], ev["distance"] = rir.azimuth, rir.elevation, rir.distance
            return {"bank": bank, "room": room}
    raise SpecError(
        f"no room of this split has {len(events)} RIRs at least {spec.min_separation_deg} deg apart "
        f"(same-class targets: {need.max():g} deg) in {MAX_ROOM_TRIES} tries; add positions per room or lower "
        "min_separation_deg"
    )


def _add_queries(spec: SceneSpec, pools: _Pools, events: list[dict], rng: np.random.Generator) -> None:
    """Give every target an audio query (another clip of its class in this split, from another split group
    when there is one), a text query and a seeded pseudo-query recipe; drawn from their own random stream."""
    for ev in events:
        if ev["role"] != "target":
            continue
        same_class = [
            (b, r) for b, r in pools.clips[ev["label"]] if (b, r.path) != (ev["source"]["bank"], ev["source"]["path"])
        ]
        other_group = [(b, r) for b, r in same_class if r.split_group != ev["source"]["group"]]
        candidates = other_group or same_class
        audio = None
        if candidates:
            bank, rec = candidates[int(rng.integers(len(candidates)))]
            audio = _ref(bank, rec, rec.split_group)
        caption = _caption_of(pools, ev)
        template = int(rng.integers(len(TEMPLATES)))
        use_caption = spec.query_text == "caption" and bool(caption)
        recipe = dict(spec.query_recipe)
        ev["query"] = {
            "audio": audio,
            "text": caption if use_caption else class_phrase(ev["label"], template),
            "text_source": "caption" if use_caption else "template",
            "recipe": make_recipe(recipe.pop("name"), int(rng.integers(2**31)), **recipe),
        }


def _add_spatial_queries(spec: SceneSpec, events: list[dict], rng: np.random.Generator) -> None:
    """Give every target the direction and region queries the spec asks for, from their own random stream (so a
    spec with them draws the same audio and text queries as one without)."""
    for k, ev in enumerate(events):
        if ev["role"] != "target":
            continue
        if spec.query_direction is not None:
            spread = float(spec.query_direction.spread_deg.sample(rng))
            ev["query"]["direction"] = make_direction_query(ev, spec.query_direction.model, spread,
                                                            int(rng.integers(2**31)))  # fmt: skip
        if spec.query_region is not None:
            region = spec.query_region
            size = float(region.size_deg.sample(rng))
            ev["query"]["region"] = make_region_query(events, k, region.shape, size, region.jitter,
                                                      int(rng.integers(2**31)))  # fmt: skip


def _caption_of(pools: _Pools, ev: dict) -> str:
    for bank, rec in pools.clips[ev["label"]]:
        if (bank, rec.path) == (ev["source"]["bank"], ev["source"]["path"]):
            return rec.caption.strip()
    return ""


def sample_row(spec: SceneSpec, pools: _Pools, split: str, index: int, seed: int) -> dict:
    """One mixture's row (see :mod:`foabench.synth.scenes.manifest`)."""
    row_seed = int(np.random.SeedSequence([seed, index]).generate_state(1)[0])
    rng = np.random.default_rng(row_seed)
    available = sorted(pools.clips)
    target_classes = _classes(spec.targets.classes, available, "targets.classes")
    targets = _sample_events(rng, spec, "target", spec.targets, target_classes, pools)
    used = {e["label"] for e in targets}
    other = [c for c in _classes(spec.interferers.classes, available, "interferers.classes") if c not in used]
    events = targets + _sample_events(rng, spec, "interference", spec.interferers, other, pools)
    room = _place(rng, spec, events, pools)
    noise = None
    if pools.noise and rng.uniform() < spec.noise_probability:
        bank, rec = pools.noise[int(rng.integers(len(pools.noise)))]
        noise = {
            **_ref(bank, rec, rec.split_group),
            "offset": int(rng.integers(rec.num_frames)),
            "level_dbfs": round(float(spec.noise_level_dbfs.sample(rng)), 4),
        }
    elif spec.noise_probability > 0 and not pools.noise:
        raise SpecError("the spec asks for background noise but this split has no noise clips (pass a noise bank)")
    _add_queries(spec, pools, events, np.random.default_rng(np.random.SeedSequence([seed, index, 1])))
    _add_spatial_queries(spec, events, np.random.default_rng(np.random.SeedSequence([seed, index, 3])))
    extra = {}
    if spec.query_pointcloud is not None:  # its own stream: the rest of the row is drawn as without it
        extra["capture"] = _capture(spec, pools, split, room, events, np.random.SeedSequence([seed, index, 2]))
    return {
        "id": f"{split}-{index:06d}",
        "split": split,
        "index": index,
        "seed": row_seed,
        "sample_rate": spec.sample_rate,
        "num_frames": spec.num_frames,
        "reference_dbfs": spec.reference_dbfs,
        "room": room,
        "events": events,
        "noise": noise,
        **extra,
    }


def _capture(spec: SceneSpec, pools: _Pools, split: str, room: dict, events: list[dict],
             seeds: np.random.SeedSequence) -> dict:  # fmt: skip
    """Give every event an object, capture the scene once and record each target's point-cloud query."""
    rng = np.random.default_rng(seeds)
    query = spec.query_pointcloud
    assign_objects(events, pools.meshes, pools.no_shape, split, query, rng)
    seed = int(rng.integers(2**31))
    rirs = next(r for b, name, r in pools.rooms if (b, name) == (room["bank"], room["room"]))
    cap = capture_scene(events, room_geometry(rirs), query.sensor, seed, pools.mesh_banks.__getitem__,
                        pools.mesh_cache)  # fmt: skip
    target_queries(events, cap, seed)
    return {"sensor": query.sensor.to_dict(), "seed": seed}


class SceneStream:
    """Fresh scenes of one split on demand: ``row(i)`` is scene ``i`` of the stream ``seed`` (the same row
    :func:`sample_manifest` would write at index ``i``), so training can draw an endless, reproducible,
    resumable sequence of mixtures with the manifests' sampler."""

    def __init__(self, spec: SceneSpec, banks: list[Bank], split: str, seed: int):
        names = [name for name, _ in spec.splits]
        if split not in names:
            raise SpecError(f"split {split!r} is not one of the spec's splits {names}")
        self.spec, self.split, self.seed = spec, split, seed
        self.pools = _pools(banks, plan_splits(banks, list(spec.splits), spec.split_seed), split, spec)
        if not self.pools.clips:
            raise SpecError(f"split {split!r} has no source clips (pass a source bank with --banks)")

    def row(self, index: int) -> dict:
        return sample_row(self.spec, self.pools, self.split, index, self.seed)


def sample_manifest(spec: SceneSpec, banks: list[Bank], split: str, n: int, seed: int) -> tuple[dict, list[dict]]:
    """Header and ``n`` rows of ``split`` (rows ``0 .. n-1``; row i is the same for any ``n > i``)."""
    stream = SceneStream(spec, banks, split, seed)
    rows = [stream.row(i) for i in range(n)]
    used = sorted({ref["bank"] for r in rows for ref in _refs(r)} | {r["room"]["bank"] for r in rows})
    by_name = {b.name: b for b in banks}
    header = {
        "generator": f"foabench {synth.__version__}",
        "split": split,
        "seed": seed,
        "spec": spec.to_dict(),
        "banks": {name: {"kind": by_name[name].kind, "fingerprint": by_name[name].fingerprint} for name in used},
        "splits": {"fractions": dict(spec.splits), "seed": spec.split_seed},
    }
    return header, rows


def _refs(row: dict) -> list[dict]:
    refs = [ref for ev in row["events"] for ref in (ev["source"], ev["rir"])]
    refs += [ev["object"]["mesh"] for ev in row["events"] if (ev.get("object") or {}).get("mesh")]
    return refs + ([row["noise"]] if row["noise"] else [])
