"""``foabench bank rooms``: a bank of simulated AmbiX RIRs (kind ``rirs``) from a seeded :class:`RoomSpec`.

RIRs are stored as 32-bit float WAV (lossless, physical "1 at 1 m" scale). Each row records the room
dimensions, absorption spectrum, requested and measured RT60, DRR, positions, direction and seed; the header
records the spec. An interrupted build resumes from its journal: finished RIRs are reused, not recomputed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path

from tqdm import tqdm

from foabench import synth
from foabench.synth.banks.format import RirRecord
from foabench.synth.banks.writer import BankWriter, BuildResult
from foabench.synth.rooms.acoustics import analyse_rir
from foabench.synth.rooms.sampler import PlannedRir, RoomSpec, plan_rirs
from foabench.synth.rooms.simulate import SimulatedRir, simulate_rir

LICENSE = "CC0-1.0"
ATTRIBUTION = "simulated by foabench (pyroomacoustics image sources, AmbiX encoding, diffuse late tail)"


def _params_key(item: PlannedRir) -> str:
    payload = json.dumps({"params": asdict(item.params), "seed": item.seed, "v": synth.__version__}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def _simulate(item: PlannedRir) -> tuple[SimulatedRir, dict]:
    sim = simulate_rir(item.params, item.seed)
    return sim, analyse_rir(sim.foa, sim.sample_rate)


def _simulate_all(items: list[PlannedRir], workers: int) -> Iterator[tuple[SimulatedRir, dict]]:
    if workers <= 1 or len(items) <= 1:
        yield from map(_simulate, items)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(_simulate, items, chunksize=2)


def _record(item: PlannedRir, sim: SimulatedRir, figures: dict, digest: str) -> RirRecord:
    p = item.params
    return RirRecord(
        path=item.rel_path,
        sha256=digest,
        sample_rate=sim.sample_rate,
        original_sample_rate=sim.sample_rate,
        channels=4,
        num_frames=int(sim.foa.shape[0]),
        duration=round(sim.foa.shape[0] / sim.sample_rate, 6),
        room=item.room_id,
        origin=f"simulated:{item.room_id}",
        license=LICENSE,
        attribution=ATTRIBUTION,
        source_convention="ambix",
        azimuth=round(sim.azimuth, 4),
        elevation=round(sim.elevation, 4),
        distance=round(sim.distance, 4),
        direct_sample=figures["direct_sample"],
        drr_db=figures["drr_db"],
        rt60_measured=figures["rt60_measured"],
        rt60_bands=figures["rt60_bands"],
        simulated=True,
        room_dim=list(p.room_dim),
        absorption={
            "profile": p.profile,
            "bands_hz": sim.band_centres_hz,
            "coeffs": sim.absorption,
            "air_absorption": p.air_absorption,
        },
        rt60_spec=p.rt60,
        source_position=list(p.source_position),
        mic_position=list(p.mic_position),
        seed=item.seed,
        extra={
            "rt60_bands_eyring": dict(
                zip([str(int(c)) for c in sim.band_centres_hz], sim.rt60_bands_theory, strict=True)
            ),
            "transition_s": round(sim.transition_s, 5),
            "early_images": sim.num_images,
            "ism_order": p.ism_order,
        },
    )


def build_room_bank(
    out: str | Path,
    spec: RoomSpec,
    name: str = "rooms",
    workers: int | None = None,
    progress: bool = True,
) -> BuildResult:
    """Simulate every RIR of ``spec`` into the bank at ``out`` (reusing RIRs an interrupted build finished)."""
    plan = plan_rirs(spec)
    writer = BankWriter(out, name, "rirs", spec.sample_rate, description="simulated shoebox rooms, AmbiX FOA RIRs")
    writer.claim()
    workers = workers if workers is not None else min(4, os.cpu_count() or 1)
    records: dict[str, RirRecord] = {}
    todo = []
    for item in plan:
        reused = writer.reuse(item.rel_path, _params_key(item))
        if reused is not None:
            records[item.rel_path] = reused
        else:
            todo.append(item)
    bar = tqdm(total=len(plan), initial=len(records), desc=f"bank {name}", unit="rir", disable=not progress)
    for item, (sim, figures) in zip(todo, _simulate_all(todo, workers), strict=True):
        digest = writer.write_audio(item.rel_path, sim.foa, subtype="FLOAT")
        rec = _record(item, sim, figures, digest)
        writer.journal(item.rel_path, _params_key(item), rec)
        records[item.rel_path] = rec
        bar.update(1)
    bar.close()
    ordered = [records[item.rel_path] for item in plan]
    header = {"spec": spec.to_dict(), "method": "shoebox image sources + diffuse tail (foabench.synth.rooms.simulate)"}
    return writer.finish(ordered, header)
