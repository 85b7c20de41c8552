"""``foabench bank starter``: the embedded default source bank, built offline and deterministically from
real recordings and sampled instruments that Debian and PyPI packages provide (no synthetic beeps).

Classes (18): ten sampled instruments (GM soundfonts, rendered dry), six drum classes and tabla
(recorded kits and strokes), and male and female speech (Festival/Flite voices, Asterisk prompts).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from foabench.synth.banks.builder import BankBuilder, BuildResult, ClipSource
from foabench.synth.banks.clip_rules import ClipRules
from foabench.synth.banks.starter.drumkits import hydrogen_sources, tabla_sources
from foabench.synth.banks.starter.gm_instruments import INSTRUMENTS, gm_sources
from foabench.synth.banks.starter.speech import asterisk_sources, tts_sources

DRUM_CLASSES = ("kick drum", "snare drum", "hi-hat", "cymbal", "tom drum", "tabla")
SPEECH_CLASSES = ("male speech", "female speech")
STARTER_CLASSES = tuple(i.label for i in INSTRUMENTS) + DRUM_CLASSES + SPEECH_CLASSES
CLIPS_PER_CLASS = 30
TTS_PER_VOICE = 8


def _spread(sources: list[ClipSource], limit: int) -> list[ClipSource]:
    """At most ``limit`` clips, taken round-robin over split groups (in order) so many groups survive."""
    by_group: dict[str, list[ClipSource]] = defaultdict(list)
    for s in sources:
        by_group[s.split_group].append(s)
    queues = [list(v) for _, v in sorted(by_group.items())]
    picked: list[ClipSource] = []
    while len(picked) < limit and any(queues):
        for q in queues:
            if q and len(picked) < limit:
                picked.append(q.pop(0))
    return sorted(picked, key=lambda s: s.rel_path)


def starter_sources(classes: list[str] | None = None, max_per_class: int | None = None) -> list[ClipSource]:
    """Every candidate clip of the starter bank, in a fixed order."""
    wanted = set(classes) if classes else set(STARTER_CLASSES)
    unknown = wanted - set(STARTER_CLASSES)
    if unknown:
        raise ValueError(f"unknown starter classes {sorted(unknown)}; choose from {list(STARTER_CLASSES)}")
    limit = min(max_per_class or CLIPS_PER_CLASS, CLIPS_PER_CLASS)
    pool: list[ClipSource] = []
    if wanted & {i.label for i in INSTRUMENTS}:
        pool += gm_sources(per_class=CLIPS_PER_CLASS, classes=wanted)
    if wanted & set(DRUM_CLASSES) - {"tabla"}:
        pool += hydrogen_sources(classes=wanted)
    if "tabla" in wanted:
        pool += tabla_sources()
    if wanted & set(SPEECH_CLASSES):
        pool += tts_sources(per_voice=TTS_PER_VOICE, classes=wanted)
    if "female speech" in wanted:
        pool += asterisk_sources(count=CLIPS_PER_CLASS - TTS_PER_VOICE)
    by_class: dict[str, list[ClipSource]] = defaultdict(list)
    for s in pool:
        by_class[s.labels[0]].append(s)
    return [s for label in STARTER_CLASSES if label in wanted for s in _spread(by_class[label], limit)]


def build_starter_bank(
    out: str | Path,
    *,
    sample_rate: int = 32000,
    classes: list[str] | None = None,
    max_per_class: int | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> BuildResult:
    """Build (or rebuild) the starter bank at ``out``; the same inputs give the same index and hashes."""
    rules = ClipRules(sample_rate=sample_rate, downmix=True)
    builder = BankBuilder(
        out,
        "starter",
        rules,
        description=(
            "foabench starter bank: sampled instruments (FluidR3/TimGM6mb via FluidSynth, dry), recorded drum "
            "kits (hydrogen-drumkits), tabla (sonic-pi-samples), speech (Festival/Flite voices, Asterisk prompts)"
        ),
    )
    builder.extend(starter_sources(classes, max_per_class))
    return builder.build(workers=workers, progress=progress)
