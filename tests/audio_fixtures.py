"""Deterministic test audio written as real files: enveloped tones and decaying noise bursts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

FADE_S = 0.005


def tone(sr: int, seconds: float, channels: int = 1, seed: int = 0, amplitude: float = 0.3) -> np.ndarray:
    """A sine (frequency and phase set by ``seed``) with 5 ms raised-cosine fades, shape (frames, channels).

    The fades are short, so silence trimming keeps almost the whole clip.
    """
    n = round(sr * seconds)
    t = np.arange(n) / sr
    rng = np.random.default_rng(seed)
    freq = 220.0 * 2.0 ** (rng.integers(0, 36) / 12.0)
    env = np.ones(n)
    fade = min(n // 2, round(FADE_S * sr))
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(fade) / fade)
    env[:fade], env[n - fade :] = ramp, ramp[::-1]
    phases = rng.uniform(0, 2 * np.pi, channels)
    wave = amplitude * env[:, None] * np.sin(2 * np.pi * freq * t[:, None] + phases[None, :])
    return wave.astype(np.float32)


def noise_burst(
    sr: int, seconds: float, channels: int = 1, seed: int = 0, amplitude: float = 0.3, decay_s: float = 0.15
) -> np.ndarray:
    """Gaussian noise with an exponential decay (time constant ``decay_s``), peak near ``amplitude``."""
    n = round(sr * seconds)
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((n, channels))
    noise /= np.abs(noise).max()
    env = np.exp(-np.arange(n) / (decay_s * sr))
    return (amplitude * env[:, None] * noise).astype(np.float32)


def _write(path: str | Path, wave: np.ndarray, sr: int, subtype: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), wave, sr, subtype=subtype)
    return path


def write_tone(
    path: str | Path,
    sr: int,
    seconds: float,
    channels: int = 1,
    seed: int = 0,
    amplitude: float = 0.3,
    subtype: str = "PCM_16",
) -> Path:
    """Write ``tone(...)`` to ``path`` (format from the suffix, PCM_16 by default), making parents."""
    return _write(path, tone(sr, seconds, channels, seed, amplitude), sr, subtype)


def write_noise_burst(
    path: str | Path,
    sr: int,
    seconds: float,
    channels: int = 1,
    seed: int = 0,
    amplitude: float = 0.3,
    subtype: str = "PCM_16",
) -> Path:
    """Write ``noise_burst(...)`` to ``path`` (PCM_16 by default), creating parent folders."""
    return _write(path, noise_burst(sr, seconds, channels, seed, amplitude), sr, subtype)


def sine(
    sr: int, seconds: float | None = None, freq: float = 1000.0, amplitude: float = 0.5, frames: int | None = None
) -> np.ndarray:
    """A plain mono sine (no fades), float32 of shape (frames,); ``frames`` overrides ``seconds``."""
    n = frames if frames is not None else round(sr * (seconds or 0.0))
    t = np.arange(n) / sr
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write_wave(path: str | Path, wave: np.ndarray, sr: int, subtype: str = "PCM_16") -> Path:
    """Write an arbitrary array to ``path`` (format from the suffix), creating parent folders."""
    return _write(path, wave, sr, subtype)


def write_garbage(path: str | Path, size: int = 4096, seed: int = 0) -> Path:
    """Random bytes under an audio suffix: a file no decoder can read."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes())
    return path


def write_truncated_wav(path: str | Path, sr: int = 32000, seconds: float = 0.5, seed: int = 0) -> Path:
    """A valid PCM_16 WAV tone cut to half its bytes, so the header declares more audio than the file holds."""
    path = write_tone(path, sr, seconds, seed=seed)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def write_nonfinite_wav(
    path: str | Path, sr: int = 32000, seconds: float = 0.5, value: float = float("nan"), seed: int = 0
) -> Path:
    """A 32-bit float WAV tone with one sample replaced by ``value`` (NaN or Inf)."""
    wave = tone(sr, seconds, seed=seed)
    wave[wave.shape[0] // 2, 0] = value
    return _write(path, wave, sr, "FLOAT")
