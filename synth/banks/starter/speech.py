"""Speech clips: Harvard sentences (IEEE 1969, public domain) spoken by the Festival and Flite voices
in Debian, and the recorded telephony prompts of asterisk-core-sounds-en-wav (Allison Smith).

Synthetic voices concatenate or model units of one speaker's recordings, so every clip of one voice
database shares a split group; each Asterisk prompt is its own recording and its own group.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import soundfile as sf

from foabench.synth.banks.builder import ClipSource
from foabench.synth.banks.starter.debian_copyright import licence_for
from foabench.synth.banks.starter.render import render_festival, render_flite

ASTERISK_DIRS = (Path("/usr/share/asterisk/sounds/en_US_f_Allison"), Path("/usr/share/asterisk/sounds/en"))


@dataclass(frozen=True)
class Voice:
    engine: str  # "festival" or "flite"
    name: str
    label: str
    speaker: str  # description for captions
    database: str  # split group: the recordings the voice is built from
    license: str
    attribution: str


FESTIVAL_LICENCE = "Festival-voice (permissive; see the Debian festvox package copyright)"
VOICES = (
    Voice(
        "festival",
        "kal_diphone",
        "male speech",
        "a man",
        "cmu_kal",
        FESTIVAL_LICENCE,
        "CMU kal diphone voice, A. W. Black & K. Lenzo (Debian festvox-kallpc16k)",
    ),
    Voice(
        "festival",
        "ked_diphone",
        "male speech",
        "a man",
        "cstr_ked",
        FESTIVAL_LICENCE,
        "CSTR ked diphone voice, University of Edinburgh (Debian festvox-kdlpc16k)",
    ),
    Voice(
        "flite",
        "awb",
        "male speech",
        "a man with a Scottish accent",
        "cmu_arctic_awb",
        "Flite-BSD",
        "CMU ARCTIC awb voice in Flite, Carnegie Mellon University (Debian flite)",
    ),
    Voice(
        "flite",
        "rms",
        "male speech",
        "a man",
        "cmu_arctic_rms",
        "Flite-BSD",
        "CMU ARCTIC rms voice in Flite, Carnegie Mellon University (Debian flite)",
    ),
    Voice(
        "festival",
        "cmu_us_slt_arctic_hts",
        "female speech",
        "a woman",
        "cmu_arctic_slt",
        "EST-2003",
        "CMU ARCTIC slt HTS voice, CMU / Nagoya Institute of Technology (Debian festvox-us-slt-hts)",
    ),
)


def harvard_sentences() -> list[str]:
    text = resources.files("foabench.synth.banks.starter").joinpath("harvard_sentences.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


def tts_sources(per_voice: int, classes: set[str] | None = None) -> list[ClipSource]:
    """``per_voice`` Harvard sentences from each voice, each voice taking a different slice of the list."""
    sentences = harvard_sentences()
    out = []
    for v_index, voice in enumerate(VOICES):
        if classes is not None and voice.label not in classes:
            continue
        loader = render_festival if voice.engine == "festival" else render_flite
        for i in range(per_voice):
            s_index = (v_index * 5 + i) % len(sentences)
            text = sentences[s_index]
            slug = voice.label.replace(" ", "_")
            out.append(
                ClipSource(
                    key=f"{voice.engine}:{voice.name}:{s_index:02d}",
                    rel_path=f"audio/{slug}/{voice.engine}_{voice.name}_{s_index:02d}",
                    labels=[voice.label],
                    caption=f'{voice.speaker} saying "{text}"',
                    license=voice.license,
                    attribution=voice.attribution,
                    split_group=f"voice:{voice.database}",
                    loader=loader,
                    loader_args=(voice.name, text),
                    extra={"engine": voice.engine, "voice": voice.name, "text": text},
                )
            )
    return out


def asterisk_sources(count: int, min_s: float = 1.5, max_s: float = 6.0) -> list[ClipSource]:
    """``count`` Asterisk prompts between min_s and max_s long, the first in name order."""
    folder = next((d for d in ASTERISK_DIRS if d.is_dir()), None)
    if folder is None:
        raise FileNotFoundError("Asterisk prompts not found: install the Debian package 'asterisk-core-sounds-en-wav'")
    out = []
    for path in sorted(folder.glob("*.wav")):
        if len(out) == count:
            break
        try:
            duration = sf.info(str(path)).duration
        except sf.LibsndfileError:
            continue  # unreadable prompts are simply not chosen; the chosen ones are validated at build
        if not min_s <= duration <= max_s:
            continue
        words = path.stem.replace("-", " ").replace("_", " ")
        stanza = licence_for("asterisk-core-sounds-en-wav", path.name)
        out.append(
            ClipSource(
                key=f"asterisk:{path.name}",
                rel_path=f"audio/female_speech/asterisk_{path.stem}",
                labels=["female speech"],
                caption="a woman reading an automated telephone announcement",
                license=stanza.license if stanza else "CC-BY-SA-3.0",
                attribution=f"{stanza.copyright if stanza else 'Allison Smith'} (Debian asterisk-core-sounds-en-wav)",
                split_group=f"asterisk:{path.stem}",
                path=str(path),
                extra={"package": "asterisk-core-sounds-en-wav", "prompt": words},
            )
        )
    return out
