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
