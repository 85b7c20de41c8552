"""The scene a depth sensor at the microphone sees: every event's object placed at its source, facing the
microphone, inside its room's walls.

An event's ``object`` (recorded by the sampler) names a mesh of a ``meshes`` bank and a yaw jitter. The mesh is
turned so that its front faces the microphone (then by the jitter, counter-clockwise seen from above) and moved
so that its anchor point (centre of its footprint, at ``anchor`` × its height) sits at the source position
(``distance`` along the event's direction). Room walls come from the RIR bank's record of a simulated room
(``room_dim``, ``mic_position``); measured RIRs carry no geometry, and their scenes have no walls.
"""

from __future__ import annotations

import math

import numpy as np

from foabench.synth.banks.format import Bank, MeshRecord, RirRecord
from foabench.synth.foa import unit_vector
from foabench.synth.meshes.mesh_io import read_mesh
from foabench.synth.pointclouds.sensor import Capture, DepthSensor, Mesh, capture, face_areas


class MeshCache:
    """Meshes read once per file (keyed by bank root, path and sha256), with their triangle areas and records."""

    def __init__(self) -> None:
        self._meshes: dict[tuple[str, str, str], tuple[np.ndarray, np.ndarray, np.ndarray, MeshRecord]] = {}

    def get(self, bank: Bank, ref: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, MeshRecord]:
        """(vertices, faces, areas, record) of a mesh reference; a clear error when the bank does not list it."""
        key = (str(bank.root), ref["path"], ref["sha256"])
        if key not in self._meshes:
            record = next((r for r in bank.records if r.path == ref["path"]), None)
            if record is None:
                raise ValueError(f"mesh {ref['path']!r} is not in bank {bank.name!r}")
            if record.sha256 != ref["sha256"]:
                raise ValueError(f"mesh {ref['path']!r}: sha256 differs from bank {bank.name!r}'s index")
            vertices, faces = read_mesh(bank.resolve(ref["path"]))
            self._meshes[key] = (vertices, faces, face_areas(vertices, faces), record)
        return self._meshes[key]


def place(vertices: np.ndarray, record: MeshRecord, azimuth: float, elevation: float, distance: float,
          yaw_deg: float) -> np.ndarray:  # fmt: skip
    """Object-frame vertices moved to a source at (azimuth, elevation, distance), front towards the origin."""
    source = float(distance) * unit_vector(float(azimuth), float(elevation))
    heading = math.atan2(-source[1], -source[0]) + math.radians(float(yaw_deg))
    c, s = math.cos(heading), math.sin(heading)
    rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    anchor = np.array([0.0, 0.0, float(record.anchor) * float(record.size_m[2])])
    return (vertices - anchor) @ rot.T + source


def room_box(rir: RirRecord | None) -> tuple[np.ndarray, np.ndarray] | None:
    """The room's walls as (lo, hi) corners relative to the microphone, or None without geometry."""
    if rir is None or rir.room_dim is None or rir.mic_position is None:
        return None
    mic = np.asarray(rir.mic_position, dtype=np.float64)
    return -mic, np.asarray(rir.room_dim, dtype=np.float64) - mic


def placed_objects(events: list[dict], mesh_bank, cache: MeshCache) -> list[Mesh]:
    """Every event with a recorded mesh, placed, its object id the event's index (``mesh_bank(name) -> Bank``)."""
    out = []
    for k, ev in enumerate(events):
        obj = ev.get("object") or {}
        ref = obj.get("mesh")
        if ref is None:
            continue
        vertices, faces, areas, record = cache.get(mesh_bank(ref["bank"]), ref)
        moved = place(vertices, record, ev["azimuth"], ev["elevation"], ev["distance"], obj.get("yaw_deg", 0.0))
        out.append(Mesh(moved, faces, k, areas))
    return out


def capture_scene(events: list[dict], room: tuple[np.ndarray, np.ndarray] | None, sensor: DepthSensor, seed: int,
                  mesh_bank, cache: MeshCache, only: int | None = None) -> Capture:  # fmt: skip
    """The whole-scene capture of a row's events (object id = event index, room surfaces ``ROOM_ID``), or with
    ``only`` just the points of that event's object (the same points, found faster)."""
    return capture(placed_objects(events, mesh_bank, cache), sensor, seed, room, only)
