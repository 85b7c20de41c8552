"""Instrument notes and short phrases from two General MIDI soundfonts (FluidR3 from Debian's
fluid-soundfont-gm, TimGM6mb shipped with pretty_midi), rendered dry by FluidSynth.

Every clip stays inside one *key cell* of its preset: a run of keys that plays the same set of samples.
Split groups are the connected components of clips that share any sample, so no sampled recording is
shared across groups (and therefore across splits).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pretty_midi

from foabench.synth.banks.builder import ClipSource
from foabench.synth.banks.starter.render import render_midi_notes
from foabench.synth.banks.starter.soundfont import SoundFont

FLUID_R3 = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
TIM_GM6MB = Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"

SOUNDFONTS = {  # short name -> (path, licence, attribution)
    "fluidr3": (FLUID_R3, "MIT", "Fluid (R3) GM SoundFont by Frank Wen et al. (Debian fluid-soundfont-gm)"),
    "timgm6mb": (TIM_GM6MB, "GPL-2", "TimGM6mb SoundFont by Tim Brechbill (shipped with pretty_midi)"),
}

VELOCITIES = {"softly": 60, "": 100}


@dataclass(frozen=True)
class Instrument:
    """A starter class rendered from GM programs within a playable key range."""

    label: str
    noun: str
    program: int
    lo: int
    hi: int


INSTRUMENTS = (
    Instrument("piano", "a piano", 0, 36, 96),
    Instrument("acoustic guitar", "an acoustic guitar", 24, 40, 84),
    Instrument("violin", "a violin", 40, 55, 100),
    Instrument("cello", "a cello", 42, 36, 76),
    Instrument("trumpet", "a trumpet", 56, 54, 84),
    Instrument("flute", "a flute", 73, 60, 96),
    Instrument("church organ", "a church organ", 19, 36, 84),
    Instrument("saxophone", "a saxophone", 65, 49, 81),
    Instrument("clarinet", "a clarinet", 71, 50, 89),
    Instrument("marimba", "a marimba", 12, 45, 96),
)


def _register(key: float) -> str:
    return "low" if key < 55 else "high" if key > 74 else "middle"


def _notes(kind: str, cell: tuple[int, int], vel: int, rng: np.random.Generator) -> tuple:
    lo, hi = cell
    if kind == "note":
        length = float(rng.choice([0.8, 1.2, 1.8]))
        return ((int(rng.integers(lo, hi + 1)), 0.0, length, vel),)
    step = float(rng.choice([0.18, 0.25, 0.45, 0.6]))
    count = int(rng.integers(4, 8))
    pitches = rng.integers(lo, hi + 1, size=count)
    return tuple((int(p), i * step, i * step + step * 0.95, vel) for i, p in enumerate(pitches))


def _caption(inst: Instrument, kind: str, notes: tuple, dynamic: str) -> str:
    reg = _register(float(np.mean([n[0] for n in notes])))
    soft = f" {dynamic}" if dynamic else ""
    if kind == "note":
        return f"{inst.noun} playing a single {reg} note{soft}"
    pace = "fast" if notes[1][1] - notes[0][1] < 0.3 else "slow"
    distinct = len({n[0] for n in notes})
    what = "repeated note" if distinct == 1 else "melody"
    return f"{inst.noun} playing a {pace} {what} in a {reg} register{soft}"


class _Groups:
    """Union-find over sample names: clips sharing any sample end up in one group."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, names: list[str]) -> None:
        roots = sorted(self.find(n) for n in names)
        for r in roots[1:]:
            self.parent[r] = roots[0]


def gm_sources(per_class: int = 30, classes: set[str] | None = None) -> list[ClipSource]:
    """Candidate clips for every instrument class (deterministic; ``per_class`` clips each)."""
    out: list[ClipSource] = []
    for inst in INSTRUMENTS:
        if classes is not None and inst.label not in classes:
            continue
        rng = np.random.default_rng(zlib.crc32(inst.label.encode()))
        candidates = []
        for sf_name, (sf_path, _, _) in SOUNDFONTS.items():
            sf = SoundFont(sf_path)
            for dynamic, vel in VELOCITIES.items():
                for lo, hi, names in sf.key_cells(inst.program, vel, inst.lo, inst.hi):
                    for kind in ("note", "phrase"):
                        candidates.append((sf_name, dynamic, vel, (lo, hi), sorted(names), kind))
        order = rng.permutation(len(candidates))[:per_class]
        groups = _Groups()
        chosen = [candidates[i] for i in sorted(order)]
        for sf_name, *_, names, _ in chosen:
            groups.union([f"{sf_name}:{n}" for n in names])
        for n, (sf_name, dynamic, vel, cell, names, kind) in enumerate(chosen):
            notes = _notes(kind, cell, vel, rng)
            sf_path, licence, attribution = SOUNDFONTS[sf_name]
            group = groups.find(f"{sf_name}:{names[0]}")
            slug = inst.label.replace(" ", "_")
            out.append(
                ClipSource(
                    key=f"gm:{sf_name}:{inst.program}:{n:03d}",
                    rel_path=f"audio/{slug}/{slug}_{sf_name}_{n:03d}",
                    labels=[inst.label],
                    caption=_caption(inst, kind, notes, dynamic),
                    license=licence,
                    attribution=attribution,
                    split_group=f"gm:{sf_name}:{inst.program}:{group}",
                    loader=render_midi_notes,
                    loader_args=(str(sf_path), inst.program, notes),
                    extra={
                        "generator": "fluidsynth",
                        "soundfont": sf_name,
                        "program": inst.program,
                        "notes": [list(x) for x in notes],
                        "samples": names,
                    },
                )
            )
    return out
