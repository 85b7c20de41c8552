"""Small real banks for scene sampling and rendering tests: sources, simulated rooms and diffuse noise."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from foabench.synth.banks.builder import BankBuilder, ClipSource
from foabench.synth.banks.clip_rules import ClipRules
from foabench.synth.noise.bank import NoiseBankBuilder, NoiseSettings, NoiseSource
from foabench.synth.rooms.bank import build_room_bank
from foabench.synth.rooms.sampler import RoomSpec
from tests.audio_fixtures import write_tone, write_wave

SR = 16000
CLASSES = ("bell", "bird", "dog", "drum")
GROUPS_PER_CLASS = 3
CLIPS_PER_GROUP = 2

TEST_SPEC = {
    "name": "test",
    "sample_rate": SR,
    "duration_s": 1.5,
    "max_event_s": 0.8,
    "min_event_s": 0.2,
    "targets": {"count": {"dist": "choose", "values": [1, 2]}, "snr_db": {"dist": "uniform", "low": 5, "high": 15}},
    "interferers": {"count": {"dist": "choose", "values": [0, 1]}, "snr_db": {"dist": "uniform", "low": 0, "high": 10}},
    "min_separation_deg": 10.0,
    "noise": {"probability": 1.0, "level_dbfs": {"dist": "uniform", "low": -50, "high": -40}},
    "splits": {"train": 0.6, "val": 0.2, "test": 0.2},
}


def build_scene_banks(root: Path, audio: Path) -> Path:
    """``root/{clips,rooms,noise}``: 4 classes x 3 groups x 2 tones, 5 rooms x 4 RIRs, 3 noise clips."""
    builder = BankBuilder(root / "clips", "clips", ClipRules(sample_rate=SR))
    seed = 0
    for label in CLASSES:
        for g in range(GROUPS_PER_CLASS):
            for c in range(CLIPS_PER_GROUP):
                seed += 1
                path = write_tone(audio / label / f"{label}{g}_{c}.wav", SR, 0.6 + 0.1 * c, seed=seed)
                key = f"{label}/{label}{g}_{c}"
                builder.add(ClipSource(key, key, [label], f"a {label}", "CC0-1.0", "", f"{label}-{g}", path=str(path)))
    builder.build(workers=1, progress=False)
    build_room_bank(root / "rooms", RoomSpec(rooms=5, rirs_per_room=4, max_length_s=0.25, sample_rate=SR), workers=1)
    noise = NoiseBankBuilder(root / "noise", "noise", NoiseSettings(sample_rate=SR, min_duration_s=0.5))
    for i, label in enumerate(("hum", "rain", "wind")):
        wave = 0.1 * np.random.default_rng(100 + i).standard_normal(SR)
        path = write_wave(audio / "noise" / f"{label}.wav", wave.astype(np.float32), SR)
        noise.add(NoiseSource(label, str(path), label, [label], "", "CC0-1.0", "", f"n-{label}"))
    noise.build(workers=1, progress=False)
    return root
