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

from foabench.synth.audio_io import read_audio

RENDER_RATE = 44100
GM_PEAK = 0.5  # GM renders are scaled to a -6 dBFS peak; dynamics stay in the velocity layers


def _run_to_wav(tool: str, package: str, make_args, prefix: str) -> tuple[np.ndarray, int]:
    """Run ``tool`` with ``make_args(tmpdir, out_wav)`` in a temporary folder and read the WAV it writes.

    A missing tool names the Debian package that provides it; a failed run reports the tool's stderr.
    """
    exe = shutil.which(tool)
    if exe is None:
        raise FileNotFoundError(f"{tool} not found: install the Debian package {package!r} (bash .ci/setup does)")
    with tempfile.TemporaryDirectory(prefix=f"foabench-{prefix}-") as tmp:
        wav = Path(tmp) / "out.wav"
        proc = subprocess.run([exe, *make_args(Path(tmp), wav)], capture_output=True, text=True, check=False)
        if proc.returncode != 0 or not wav.is_file():
            raise RuntimeError(f"{tool} failed ({proc.returncode}): {proc.stderr.strip()[:500]}")
        return read_audio(wav)


def render_midi_notes(
    soundfont: str, program: int, notes: tuple[tuple[int, float, float, int], ...], tail_s: float = 1.5
) -> tuple[np.ndarray, int]:
    """Render (pitch, start s, end s, velocity) notes of one GM program with FluidSynth; returns (wave, sr).

    Reverb and chorus are off; the output is FluidSynth's float stereo mix at 44.1 kHz, scaled to a
    peak of GM_PEAK (scene levels are set later by SNR; softness remains in the velocity layer's timbre).
    """
    pm = pretty_midi.PrettyMIDI(resolution=960, initial_tempo=120.0)
    inst = pretty_midi.Instrument(program=program)
    for pitch, start, end, vel in notes:
        inst.notes.append(pretty_midi.Note(velocity=vel, pitch=pitch, start=start, end=end))
    # A silent controller event past the last note keeps the release tail inside the render.
    end_time = max(n[2] for n in notes) + tail_s
    inst.control_changes.append(pretty_midi.ControlChange(number=7, value=100, time=end_time))
    pm.instruments.append(inst)

    def args(tmp: Path, wav: Path) -> list[str]:
        mid = tmp / "clip.mid"
        pm.write(str(mid))
        return [
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

    wave, sr = _run_to_wav("fluidsynth", "fluidsynth", args, "gm")
    peak = float(np.abs(wave).max())
    if peak == 0.0:
        return wave, sr  # left to the bank's silence rule, which reports it
    return (wave * np.float32(GM_PEAK / peak)).astype(np.float32), sr


def render_festival(voice: str, text: str) -> tuple[np.ndarray, int]:
    """Speak ``text`` with a Festival voice (e.g. 'kal_diphone'); returns (wave, sr) at the voice's rate."""

    def args(tmp: Path, wav: Path) -> list[str]:
        txt = tmp / "line.txt"
        txt.write_text(text + "\n", encoding="utf-8")
        return ["-eval", f"(voice_{voice})", str(txt), "-o", str(wav)]

    return _run_to_wav("text2wave", "festival", args, "tts")


def render_flite(voice: str, text: str) -> tuple[np.ndarray, int]:
    """Speak ``text`` with a Flite voice (e.g. 'rms'); returns (wave, sr)."""
    return _run_to_wav("flite", "flite", lambda tmp, wav: ["-voice", voice, "-t", text, "-o", str(wav)], "flite")
