"""The rules every source clip passes before it enters a bank: channels, clipping, resampling, silence
trimming and length. A clip that fails a rule raises ``ClipRejected`` with the reason; nothing is dropped
silently.

Trimming (documented threshold): the clip is cut into frames of ``frame_ms`` (10 ms); leading and trailing
frames whose RMS lies more than ``trim_db`` (60 dB) below the loudest frame are removed, keeping ``pad_ms``
(20 ms) of the original signal on each side of the first and last active frame.
A clip whose loudest frame is below ``silence_dbfs`` (-70 dBFS) is *silent*; one whose trimmed length is
below ``min_duration_s`` is *too short*; one with a run of ``clip_run`` (3) or more consecutive samples at or
above ``clip_level`` (0.999) of full scale in the original file is *clipped*.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from foabench.synth.resample import resample


class ClipRejected(ValueError):
    """A clip that breaks a bank rule; ``reason`` is a short machine-friendly tag."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class ClipRules:
    """Bank admission rules; recorded in the bank header."""

    sample_rate: int = 32000
    downmix: bool = False
    trim_db: float = 60.0
    frame_ms: float = 10.0
    pad_ms: float = 20.0
    silence_dbfs: float = -70.0
    min_duration_s: float = 0.1
    max_duration_s: float | None = None
    clip_level: float = 0.999
    clip_run: int = 3
    peak_ceiling: float = 0.99

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ConditionedClip:
    """A clip after the rules: mono float32 at the bank rate, plus what was done to it."""

    wave: np.ndarray
    sample_rate: int
    original_sample_rate: int
    original_channels: int
    trim_start_s: float
    trim_end_s: float
    gain_db: float

    @property
    def duration_s(self) -> float:
        return self.wave.shape[0] / self.sample_rate


def longest_clipped_run(wave: np.ndarray, level: float) -> int:
    """Length of the longest run of consecutive samples with |x| >= level (any channel)."""
    hot = (np.abs(wave) >= level).any(axis=1) if wave.ndim == 2 else np.abs(wave) >= level
    if not hot.any():
        return 0
    padded = np.concatenate(([0], hot.view(np.int8), [0]))
    edges = np.flatnonzero(np.diff(padded))
    return int((edges[1::2] - edges[0::2]).max())


def frame_rms_db(mono: np.ndarray, frame: int) -> np.ndarray:
    """RMS level in dBFS of consecutive frames (the last one zero-padded)."""
    n = int(np.ceil(mono.shape[0] / frame))
    padded = np.zeros(n * frame, dtype=np.float64)
    padded[: mono.shape[0]] = mono
    power = np.mean(padded.reshape(n, frame) ** 2, axis=1)
    return 10.0 * np.log10(np.maximum(power, 1e-20))


def active_span(mono: np.ndarray, sample_rate: int, rules: ClipRules) -> tuple[int, int]:
    """[start, end) sample span that survives silence trimming, per the documented rule."""
    frame = max(1, round(rules.frame_ms * 1e-3 * sample_rate))
    levels = frame_rms_db(mono, frame)
    loudest = levels.max()
    if loudest < rules.silence_dbfs:
        raise ClipRejected("silent", f"loudest 10 ms frame is {loudest:.1f} dBFS (< {rules.silence_dbfs} dBFS)")
    active = np.flatnonzero(levels >= loudest - rules.trim_db)
    pad = round(rules.pad_ms * 1e-3 * sample_rate)
    start = max(0, active[0] * frame - pad)
    end = min(mono.shape[0], (active[-1] + 1) * frame + pad)
    return int(start), int(end)


def peak_guard(wave: np.ndarray, ceiling: float) -> tuple[np.ndarray, float]:
    """Scale float32 ``wave`` down so that no sample exceeds ``ceiling``; returns (wave, gain in dB, 0 if none).

    The gain is found in float32 so the bound holds after rounding (float32 products round monotonically)."""
    wave = np.asarray(wave, dtype=np.float32)
    top = np.abs(wave).max() if wave.size else np.float32(0)
    if float(top) <= ceiling:
        return wave, 0.0
    gain = np.float32(ceiling / float(top))
    while float(top * gain) > ceiling:  # stay at or below the ceiling despite rounding
        gain = np.nextafter(gain, np.float32(0))
    return wave * gain, 20.0 * float(np.log10(gain))


def condition_clip(wave: np.ndarray, sample_rate: int, rules: ClipRules) -> ConditionedClip:
    """Apply the bank rules to (frames, channels) audio; raises ClipRejected with the reason."""
    if wave.ndim == 1:
        wave = wave[:, None]
    channels = wave.shape[1]
    if channels != 1 and not rules.downmix:
        raise ClipRejected(
            "multichannel", f"{channels} channels; sources must be mono (enable downmix to average them)"
        )
    run = longest_clipped_run(wave, rules.clip_level)
    if run >= rules.clip_run:
        raise ClipRejected("clipped", f"{run} consecutive samples at >= {rules.clip_level} of full scale")
    mono = wave.mean(axis=1, dtype=np.float64).astype(np.float32)
    start, end = active_span(mono, sample_rate, rules)
    trimmed = mono[start:end]
    duration = trimmed.shape[0] / sample_rate
    if duration < rules.min_duration_s:
        raise ClipRejected("too_short", f"{duration:.3f} s after trimming (< {rules.min_duration_s} s)")
    if rules.max_duration_s is not None and duration > rules.max_duration_s:
        trimmed = trimmed[: round(rules.max_duration_s * sample_rate)]
        end = start + trimmed.shape[0]
    # resampling overshoot on loud material: scale down, and record it
    out, gain_db = peak_guard(resample(trimmed, sample_rate, rules.sample_rate), rules.peak_ceiling)
    return ConditionedClip(
        wave=out,
        sample_rate=rules.sample_rate,
        original_sample_rate=sample_rate,
        original_channels=channels,
        trim_start_s=start / sample_rate,
        trim_end_s=end / sample_rate,
        gain_db=round(gain_db, 4),
    )
