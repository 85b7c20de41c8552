"""Point-cloud queries: "that object", the target's shape as a depth sensor at the microphone captures it.

A spec asks for them with ``queries.pointcloud: {sensor: {resolution_deg, max_range_m, noise_m, dropout},
yaw_deg: <dist>}`` and a ``meshes`` bank among the banks. Then

- every event (targets and interferers) records ``object = {"mesh": <ref to a mesh of its class in this split>,
  "match": "object" | "similar" | "player", "yaw_deg"}``, or ``{"mesh": null, "reason": "..."}`` when its
  class has no shape (the mesh table says so) or no mesh of it is in this split;
- the row records ``capture = {"sensor": {...}, "seed"}``: one whole-scene capture (room walls and every object,
  per-point object ids; see :mod:`foabench.synth.pointclouds`);
- every target records ``query.pointcloud = {"seed", "num_points", "centroid"}``: the capture's points of its
  object (occluded parts hidden by the other objects), their count and centroid (metres, AmbiX frame), and a
  ``reason`` when it has none.

Meshes are split by asset like clips (a mesh's ``group`` is the asset), so a test mixture never shows a shape
seen in training. Everything is a pure function of the row and the banks; ``manifests check`` with banks
re-captures and compares (:func:`check_pointcloud_capture`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from foabench.synth.banks.bank_set import BankSet
from foabench.synth.banks.format import Bank, MeshRecord, RirRecord
from foabench.synth.pointclouds.scene import MeshCache, capture_scene, room_box
from foabench.synth.pointclouds.sensor import Capture, DepthSensor

QUERY_KEYS = {"seed", "num_points", "centroid"}
DECIMALS = 4
#: a recorded centroid may differ from a re-capture by rounding on another machine's maths library (metres)
CHECK_TOLERANCE_M = 1e-3


@dataclass(frozen=True)
class PointcloudQuerySpec:
    """``queries.pointcloud`` of a scene spec: the sensor and the distribution of the objects' yaw jitter."""

    sensor: DepthSensor
    yaw_deg: object  # a Dist (foabench.synth.scenes.spec)


def assign_objects(events: list[dict], meshes: dict[str, list[tuple[str, MeshRecord]]], no_shape: set[str],
                   split: str, spec: PointcloudQuerySpec, rng: np.random.Generator) -> None:  # fmt: skip
    """Give every event an ``object``: a mesh of its class from this split's ``meshes`` (class -> [(bank,
    record)]), drawn from ``rng``, or none with the reason."""
    for ev in events:
        pool = meshes.get(ev["label"], [])
        if not pool:
            why = ("the mesh table gives this class no shape" if ev["label"] in no_shape
                   else f"no mesh of class {ev['label']!r} in split {split!r}")  # fmt: skip
            ev["object"] = {"mesh": None, "reason": why}
            continue
        bank, rec = pool[int(rng.integers(len(pool)))]
        ev["object"] = {
            "mesh": {"bank": bank, "path": rec.path, "sha256": rec.sha256, "group": rec.split_group},
            "match": rec.classes[ev["label"]],
            "yaw_deg": round(float(spec.yaw_deg.sample(rng)), DECIMALS),
        }


def target_queries(events: list[dict], cap: Capture, seed: int) -> None:
    """Record ``query.pointcloud`` of every target from the row's capture."""
    for k, ev in enumerate(events):
        if ev["role"] != "target":
            continue
        points = cap.of(k)
        record: dict = {"seed": int(seed), "num_points": len(points),
                        "centroid": [round(float(x), DECIMALS) for x in points.astype(np.float64).mean(axis=0)]
                        if len(points) else None}  # fmt: skip
        if ev["object"]["mesh"] is None:
            record["reason"] = ev["object"]["reason"]
        elif not len(points):
            record["reason"] = "its object is hidden behind others or out of the sensor's range"
        ev["query"]["pointcloud"] = record


def room_geometry(rirs: list[RirRecord]) -> tuple[np.ndarray, np.ndarray] | None:
    """The walls of a room (see :func:`room_box`) from its RIR records: the first by path, as the sampler uses."""
    return room_box(min(rirs, key=lambda r: r.path)) if rirs else None


def row_capture(row: dict, bank_of: Callable[[str], Bank], cache: MeshCache, only: int | None = None) -> Capture:
    """Re-capture a row's scene from its ``capture`` record (``bank_of(name)``: an opened bank — the row's RIR and
    mesh banks; ``only``: just that event's points)."""
    info = row["capture"]
    room = row["room"]
    rirs = [r for r in bank_of(room["bank"]).records if r.room == room["room"]]
    sensor = DepthSensor.from_dict(info["sensor"])
    return capture_scene(row["events"], room_geometry(rirs), sensor, int(info["seed"]), bank_of, cache, only)


_SHARED_CACHE = MeshCache()  # keyed by bank root, path and sha256: safe to share between bank sets


def scene_capture(row: dict, banks: BankSet, cache: MeshCache | None = None, only: int | None = None) -> Capture:
    """The whole-scene capture of a row with a ``capture`` record, from a :class:`BankSet` (RIR and mesh banks);
    with ``only`` the points of that event's object alone."""
    return row_capture(row, banks.bank, cache or _SHARED_CACHE, only)


def check_pointcloud_structure(row: dict, where: str) -> str | None:
    """A problem with the recorded objects, capture and point-cloud queries of a row (no banks needed), or None."""
    if "capture" not in row:
        return None
    info = row["capture"]
    if not isinstance(info, dict) or set(info) != {"sensor", "seed"}:
        return f"{where}: capture needs exactly sensor and seed"
    try:
        DepthSensor.from_dict(info["sensor"])
    except (TypeError, ValueError) as exc:
        return f"{where}: capture {exc}"
    for k, ev in enumerate(row["events"]):
        obj = ev.get("object")
        if not isinstance(obj, dict) or "mesh" not in obj:
            return f"{where}: event {k}: a row with a capture records every event's object"
        if obj["mesh"] is None and not obj.get("reason"):
            return f"{where}: event {k}: an object without a mesh says why"
        query = (ev.get("query") or {}).get("pointcloud")
        if ev["role"] == "target" and (not isinstance(query, dict) or not set(query) >= QUERY_KEYS):
            return f"{where}: event {k}: point-cloud query needs {sorted(QUERY_KEYS)}"
    return None


def check_pointcloud_capture(row: dict, cap: Capture, where: str) -> str | None:
    """A recorded point-cloud query that the re-captured scene does not give (edited, or other meshes), or None."""
    for k, ev in enumerate(row["events"]):
        query = (ev.get("query") or {}).get("pointcloud")
        if ev["role"] != "target" or query is None:
            continue
        points = cap.of(k).astype(np.float64)
        if len(points) != query["num_points"]:
            return (f"{where}: event {k}: point-cloud query records {query['num_points']} points, the capture gives "
                    f"{len(points)}")  # fmt: skip
        if len(points) and np.abs(points.mean(axis=0) - np.asarray(query["centroid"])).max() > CHECK_TOLERANCE_M:
            return f"{where}: event {k}: point-cloud centroid {query['centroid']} differs from the capture's"
    return None
