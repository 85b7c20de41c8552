"""Renderers that turn packaged instruments and voices into audio: FluidSynth for General MIDI notes,
Festival for speech. Both run offline, are deterministic on a given machine, and add no effects
(FluidSynth's reverb and chorus are switched off, so the instrument clips are dry)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pretty_midi

from synth.audio_io import read_audio

RENDER_RATE = 44100
GM_PEAK = 0.5  # GM renders are scaled to a -6 dBFS peak; dynamics stay in the velocity layers


def _require(tool: str, package: str) -> str:
    exe = shutil.which(tool)
    if exe is None:
        raise FileNotFoundError(f"{tool} not found: install the Debian package {package!r} (bash .ci/setup does)")
    return exe


def render_midi_notes(
    soundfont: str, program: int, notes: tuple[tuple[int, float, float, int], ...], tail_s: float = 1.5
) -> tuple[np.ndarray, int]:
    """Render (pitch, start s, end s, velocity) notes of one GM program with FluidSynth; returns (wave, sr).

    Reverb and chorus are off; the output is FluidSynth's float stereo mix at 44.1 kHz, scaled to a
    peak of GM_PEAK (scene levels are set later by SNR; softness remains in the velocity layer's timbre).
    """
    exe = _require("fluidsynth", "fluidsynth")
    pm = pretty_midi.PrettyMIDI(resolution=960, initial_tempo=120.0)
    inst = pretty_midi.Instrument(program=program)
    for pitch, start, end, vel in notes:
        inst.notes.append(pretty_midi.Note(velocity=vel, pitch=pitch, start=start, end=end))
    # A silent controller event past the last note keeps the release tail inside the render.
    end_time = max(n[2] for n in notes) + tail_s
    inst.control_changes.append(pretty_midi.ControlChange(number=7, value=100, time=end_time))
    pm.instruments.append(inst)
    with tempfile.TemporaryDirectory(prefix="foabench-gm-") as tmp:
        mid, wav = Path(tmp) / "clip.mid", Path(tmp) / "clip.wav"
        pm.write(str(mid))
        cmd = [
            exe,
            "-ni",
            "-q",
            "-R",
            "0",
            "-C",
            "0",
            "-g",
            "0.4",
            "-r",
            str(RENDER_RATE),
            "-O",
            "float",
            "-T",
            "wav",
            "-F",
            str(wav),
            soundfont,
            str(mid),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0 or not wav.is_file():
            raise RuntimeError(f"fluidsynth failed ({proc.returncode}): {proc.stderr.strip()[:500]}")
        wave, sr = read_audio(wav)
    peak = float(np.abs(wave).max())
    if peak == 0.0:
        raise RuntimeError(f"fluidsynth rendered silence for program {program} notes {notes[:3]}")
    return (wave * np.float32(GM_PEAK / peak)).astype(np.float32), sr


def render_festival(voice: str, text: str) -> tuple[np.ndarray, int]:
    """Speak ``text`` with a Festival voice (e.g. 'kal_diphone'); returns (wave, sr) at the voice's rate."""
    exe = _require("text2wave", "festival")
    with tempfile.TemporaryDirectory(prefix="foabench-tts-") as tmp:
        txt, wav = Path(tmp) / "line.txt", Path(tmp) / "line.wav"
        txt.write_text(text + "\n", encoding="utf-8")
        proc = subprocess.run(
            [exe, "-eval", f"(voice_{voice})", str(txt), "-o", str(wav)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0 or not wav.is_file():
            raise RuntimeError(f"festival ({voice}) failed ({proc.returncode}): {proc.stderr.strip()[:500]}")
        return read_audio(wav)
