"""Seeded sampling of shoebox rooms and source/microphone positions for a simulated RIR bank.

A :class:`RoomSpec` holds ranges; :func:`plan_rirs` turns it into concrete :class:`PlannedRir` items, each with
its own :class:`~foabench.synth.rooms.simulate.RoomParams` and seed. Every room draws from its own random stream
(``SeedSequence([seed, room_index])``), so room ``k`` is the same whatever the number of rooms requested.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from foabench.synth.rooms.simulate import ABSORPTION_PROFILES, RoomError, RoomParams, solve_absorption

MAX_POSITION_TRIES = 200
MAX_MIC_TRIES = 20
MAX_ROOM_TRIES = 20


@dataclass
class RoomSpec:
    """Ranges from which rooms, reverberation and positions are drawn (lengths in metres, times in s)."""

    rooms: int = 12
    rirs_per_room: int = 4
    seed: int = 0
    length: tuple[float, float] = (3.0, 10.0)
    width: tuple[float, float] = (3.0, 8.0)
    height: tuple[float, float] = (2.5, 4.0)
    rt60: tuple[float, float] = (0.2, 1.0)
    profiles: tuple[str, ...] = tuple(ABSORPTION_PROFILES)
    wall_margin: float = 0.5
    distance: tuple[float, float] = (1.0, 3.0)
    mic_height: tuple[float, float] = (1.0, 2.0)
    ism_order: int = 12
    sample_rate: int = 32000
    max_length_s: float = 2.0

    def validate(self) -> None:
        """Raise :class:`RoomError` naming the first field that is out of range."""
        if self.rooms < 1 or self.rirs_per_room < 1:
            raise RoomError(f"rooms and rirs_per_room must be >= 1 (got {self.rooms}, {self.rirs_per_room})")
        for name in ("length", "width", "height", "rt60", "distance", "mic_height"):
            lo, hi = getattr(self, name)
            if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo <= hi):
                raise RoomError(f"{name} range must satisfy 0 < low <= high, got {(lo, hi)}")
        unknown = set(self.profiles) - set(ABSORPTION_PROFILES)
        if not self.profiles or unknown:
            raise RoomError(f"profiles must be some of {sorted(ABSORPTION_PROFILES)}, got {list(self.profiles)}")
        if self.wall_margin < 0.05:
            raise RoomError(f"wall_margin must be at least 0.05 m, got {self.wall_margin}")
        if 2 * self.wall_margin >= min(self.length[0], self.width[0], self.height[0]):
            raise RoomError(f"wall_margin {self.wall_margin} m leaves no room inside the smallest room")
        widest = math.dist((0, 0, 0), [hi - 2 * self.wall_margin for _, hi in (self.length, self.width, self.height)])
        if self.distance[0] > widest:
            raise RoomError(
                f"distance range starts at {self.distance[0]} m but no two points {self.wall_margin} m from the "
                f"walls of the largest room are more than {widest:.2f} m apart"
            )

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> RoomSpec:
        """Build from a dict (e.g. a JSON spec file); unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise RoomError(f"unknown room spec keys {sorted(unknown)}; known: {sorted(known)}")
        values = {k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items()}
        spec = cls(**values)
        spec.validate()
        return spec

    @classmethod
    def from_file(cls, path: str | Path) -> RoomSpec:
        p = Path(path)
        try:
            data = json.loads(p.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise RoomError(f"{p}: cannot read room spec ({exc})") from exc
        if not isinstance(data, dict):
            raise RoomError(f"{p}: a room spec is a JSON object")
        return cls.from_dict(data)


@dataclass
class PlannedRir:
    """One RIR to simulate: where it goes in the bank, its parameters and its seed."""

    room_id: str
    rel_path: str
    params: RoomParams
    seed: int


def _draw_positions(rng: np.random.Generator, dim: np.ndarray, spec: RoomSpec, count: int) -> tuple:
    m = spec.wall_margin
    z_lo, z_hi = max(m, spec.mic_height[0]), min(dim[2] - m, spec.mic_height[1])
    if z_lo > z_hi:
        z_lo, z_hi = m, dim[2] - m
    for _ in range(MAX_MIC_TRIES):
        mic = np.array([rng.uniform(m, dim[0] - m), rng.uniform(m, dim[1] - m), rng.uniform(z_lo, z_hi)])
        sources = []
        for _ in range(MAX_POSITION_TRIES):
            v = rng.standard_normal(3)
            src = mic + v / np.linalg.norm(v) * rng.uniform(*spec.distance)
            if np.all(src > m) and np.all(src < dim - m):
                sources.append(src)
                if len(sources) == count:
                    return mic, sources
    raise RoomError(
        f"cannot place {count} sources {spec.distance[0]}-{spec.distance[1]} m from a microphone with "
        f"{m} m to every wall in a {dim[0]:.2f} x {dim[1]:.2f} x {dim[2]:.2f} m room; "
        "widen the room ranges or shrink distance / wall_margin"
    )


def _round(values: np.ndarray) -> list[float]:
    return [round(float(v), 4) for v in values]


def plan_rirs(spec: RoomSpec) -> list[PlannedRir]:
    """Every RIR of the spec, in bank order, with concrete rooms, positions and seeds."""
    spec.validate()
    plan = []
    for r in range(spec.rooms):
        rng = np.random.default_rng(np.random.SeedSequence([spec.seed, r]))
        last_error: RoomError | None = None
        for _ in range(MAX_ROOM_TRIES):
            dim = np.array([rng.uniform(*spec.length), rng.uniform(*spec.width), rng.uniform(*spec.height)])
            rt60 = round(float(rng.uniform(*spec.rt60)), 4)
            profile = spec.profiles[int(rng.integers(len(spec.profiles)))]
            probe = RoomParams(_round(dim), rt60, profile, [1e-3] * 3, [1e-3] * 3, spec.sample_rate)
            try:
                solve_absorption(probe)
                mic, sources = _draw_positions(rng, np.array(_round(dim)), spec, spec.rirs_per_room)
                break
            except RoomError as exc:
                last_error = exc
        else:
            raise RoomError(f"room {r}: no feasible room in {MAX_ROOM_TRIES} draws ({last_error})")
        room_id = f"room{r:04d}"
        for k, src in enumerate(sources):
            params = RoomParams(
                room_dim=_round(dim),
                rt60=rt60,
                profile=profile,
                source_position=_round(src),
                mic_position=_round(mic),
                sample_rate=spec.sample_rate,
                ism_order=spec.ism_order,
                max_length_s=spec.max_length_s,
            )
            seed = int(np.random.SeedSequence([spec.seed, r, k]).generate_state(1)[0])
            plan.append(PlannedRir(room_id, f"{room_id}/src{k:02d}.wav", params, seed))
    return plan
