"""The clip rules of ``foabench.synth.banks.clip_rules``: resampling, silence trimming, rejection reasons, peak
guard."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import resample_poly

from foabench.synth.banks.clip_rules import ClipRejected, ClipRules, condition_clip, frame_rms_db, longest_clipped_run
from tests.audio_fixtures import sine, tone

RULES = ClipRules()
EDGE_S = (RULES.pad_ms + RULES.frame_ms) * 1e-3  # how far a trimmed end may sit from the true one


def _db(x: float) -> float:
    return 20.0 * np.log10(x)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.asarray(x, dtype=np.float64) ** 2)))


def _peak_hz(x: np.ndarray, sr: int) -> float:
    """Frequency of the largest spectral peak (Hann window, zero-padded to 0.125 Hz bins)."""
    n_fft = 8 * sr
    spec = np.abs(np.fft.rfft(x * np.hanning(x.shape[0]), n=n_fft))
    return float(np.argmax(spec)) * sr / n_fft


def _reject_reason(wave: np.ndarray, sr: int, rules: ClipRules = RULES) -> str:
    with pytest.raises(ClipRejected) as info:
        condition_clip(wave, sr, rules)
    return info.value.reason


def _padded(sr: int, before_s: float, body: np.ndarray, after_s: float) -> np.ndarray:
    return np.concatenate(
        [np.zeros(round(before_s * sr), np.float32), body.astype(np.float32), np.zeros(round(after_s * sr), np.float32)]
    )


# --- resampling -----------------------------------------------------------------------------------------


def test_resample_44k1_to_32k_keeps_frequency_length_and_level() -> None:
    sr_in, sr_out = 44100, 32000
    n_in = 44100 + 137  # not a whole number of output samples
    x = sine(sr_in, frames=n_in, freq=1000.0, amplitude=0.5)
    clip = condition_clip(x, sr_in, RULES)
    out = clip.wave
    assert (clip.sample_rate, clip.original_sample_rate, clip.original_channels) == (sr_out, sr_in, 1)
    assert out.dtype == np.float32 and out.ndim == 1
    # A steady sine is not trimmed at all.
    assert clip.trim_start_s == 0.0
    assert clip.trim_end_s == pytest.approx(n_in / sr_in, abs=1e-12)
    assert abs(out.shape[0] - n_in * sr_out / sr_in) <= 1.0
    assert clip.duration_s == pytest.approx(n_in / sr_in, abs=1.0 / sr_out)
    # Frequency kept (a mislabelled rate would move the peak to 1378 Hz or 725 Hz).
    assert abs(_peak_hz(out, sr_out) - 1000.0) <= 2.0
    interior = slice(round(0.1 * sr_out), out.shape[0] - round(0.1 * sr_out))
    assert abs(_db(_rms(out[interior])) - _db(0.5 / np.sqrt(2))) <= 0.1
    assert clip.gain_db == 0.0
    # Independent reference: scipy's polyphase resampler.
    ref = resample_poly(x.astype(np.float64), 320, 441)
    assert abs(ref.shape[0] - out.shape[0]) <= 1
    corr = np.corrcoef(out[interior].astype(np.float64), ref[interior])[0, 1]
    assert corr > 0.9999
    assert np.max(np.abs(out[interior] - ref[interior])) < 1e-3


def test_same_rate_is_passed_through_bit_exact_except_trimming() -> None:
    sr = 32000
    body = tone(sr, 0.4, seed=3, amplitude=0.5)[:, 0]
    x = _padded(sr, 0.3, body, 0.3)
    clip = condition_clip(x, sr, RULES)
    start, end = round(clip.trim_start_s * sr), round(clip.trim_end_s * sr)
    assert clip.trim_start_s * sr == start and clip.trim_end_s * sr == end  # whole samples at the source rate
    assert 0 < start < round(0.3 * sr) < round(0.7 * sr) < end < x.shape[0]
    assert clip.wave.dtype == np.float32
    assert np.array_equal(clip.wave, x[start:end])
    assert clip.gain_db == 0.0
    # Without any silence nothing is trimmed and the output is the input.
    whole = condition_clip(body, sr, RULES)
    assert np.array_equal(whole.wave, body)
    assert whole.wave is not body


# --- trimming -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sr", [32000, 44100, 48000])
def test_digital_silence_is_trimmed_to_the_tone(sr: int) -> None:
    onset, length = 0.5, 0.8
    x = _padded(sr, onset, tone(sr, length, seed=1, amplitude=0.5)[:, 0], 0.7)
    clip = condition_clip(x, sr, RULES)
    offset = onset + length
    # The kept span holds the whole tone and no more than pad + one frame of silence on either side.
    assert onset - EDGE_S <= clip.trim_start_s <= onset
    assert offset <= clip.trim_end_s <= offset + EDGE_S
    assert clip.duration_s == pytest.approx(clip.trim_end_s - clip.trim_start_s, abs=2.0 / RULES.sample_rate)


def test_noise_80_db_below_the_tone_is_trimmed() -> None:
    sr = 44100
    onset, length = 0.5, 0.8
    x = _padded(sr, onset, tone(sr, length, seed=2, amplitude=0.5)[:, 0], 0.7)
    tone_rms = 0.5 / np.sqrt(2)
    noise = np.random.default_rng(0).standard_normal(x.shape[0]) * tone_rms * 10 ** (-80 / 20)
    clip = condition_clip((x + noise).astype(np.float32), sr, RULES)
    assert onset - EDGE_S <= clip.trim_start_s <= onset
    assert onset + length <= clip.trim_end_s <= onset + length + EDGE_S


def test_noise_floor_40_db_below_is_kept() -> None:
    sr = 44100
    x = _padded(sr, 0.5, tone(sr, 0.8, seed=2, amplitude=0.5)[:, 0], 0.7)
    tone_rms = 0.5 / np.sqrt(2)
    noise = np.random.default_rng(1).standard_normal(x.shape[0]) * tone_rms * 10 ** (-40 / 20)
    clip = condition_clip((x + noise).astype(np.float32), sr, RULES)
    assert clip.trim_start_s == 0.0
    assert clip.trim_end_s == pytest.approx(x.shape[0] / sr, abs=1e-12)


def test_slow_decay_tail_above_threshold_is_kept_and_below_is_cut() -> None:
    sr = 32000
    steady_s = 0.5
    tau = 1.0 / (50.0 / (20.0 * np.log10(np.e)))  # envelope reaches -50 dB after 1 s
    # Tail of 1 s ends at -50 dB: all of it stays.
    t_tail = np.arange(sr) / sr
    n_steady = round(steady_s * sr)
    carrier = sine(sr, frames=n_steady + t_tail.shape[0], freq=997.0, amplitude=0.5)
    env = np.concatenate([np.ones(n_steady), np.exp(-t_tail / tau)])
    kept = condition_clip((carrier * env).astype(np.float32), sr, RULES)
    assert kept.trim_start_s == 0.0
    assert kept.trim_end_s == pytest.approx(steady_s + 1.0, abs=1e-12)
    # Tail of 1.6 s goes down to -80 dB: the cut lands where it crosses -60 dB (1.2 s), plus the pad.
    t_tail = np.arange(round(1.6 * sr)) / sr
    carrier = sine(sr, frames=n_steady + t_tail.shape[0], freq=997.0, amplitude=0.5)
    env = np.concatenate([np.ones(n_steady), np.exp(-t_tail / tau)])
    cut = condition_clip((carrier * env).astype(np.float32), sr, RULES)
    expected_end = steady_s + 1.2 + RULES.pad_ms * 1e-3
    assert cut.trim_end_s == pytest.approx(expected_end, abs=RULES.frame_ms * 1e-3 * 1.5)


# --- rejection reasons ----------------------------------------------------------------------------------


def test_silent_clips_are_rejected() -> None:
    sr = 32000
    assert _reject_reason(np.zeros(sr, np.float32), sr) == "silent"
    quiet = sine(sr, 1.0, amplitude=np.sqrt(2) * 10 ** (-80 / 20))  # RMS -80 dBFS
    assert _db(_rms(quiet)) == pytest.approx(-80.0, abs=0.1)
    assert _reject_reason(quiet, sr) == "silent"
    # Just above the silence threshold (-60 dBFS) the same sine is admitted.
    condition_clip(sine(sr, 1.0, amplitude=np.sqrt(2) * 10 ** (-60 / 20)), sr, RULES)


def test_too_short_blip_is_rejected() -> None:
    sr = 32000
    blip = tone(sr, 0.03, seed=4, amplitude=0.5)[:, 0]
    assert _reject_reason(_padded(sr, 0.5, blip, 0.5), sr) == "too_short"
    assert _reject_reason(blip, sr) == "too_short"
    # A 150 ms tone survives.
    condition_clip(_padded(sr, 0.5, tone(sr, 0.15, seed=4, amplitude=0.5)[:, 0], 0.5), sr, RULES)


def test_clipped_sine_is_rejected_but_a_single_hot_peak_is_not() -> None:
    sr = 44100
    x = sine(sr, 0.5, freq=1000.0, amplitude=1.0)
    clipped = np.clip(3.0 * x, -1.0, 1.0)
    assert longest_clipped_run(clipped, RULES.clip_level) >= RULES.clip_run
    assert _reject_reason(clipped, sr) == "clipped"
    # A clean sine whose single largest sample sits exactly at the clip level is fine.
    clean = sine(sr, 0.5, freq=1000.0, amplitude=1.0).astype(np.float64)
    clean = (clean * (0.999 / np.abs(clean).max())).astype(np.float32)
    assert np.abs(clean).max() >= RULES.clip_level
    assert longest_clipped_run(clean, RULES.clip_level) == 1
    condition_clip(clean, sr, RULES)


def test_clip_run_boundary() -> None:
    sr = 32000
    x = sine(sr, 0.5, freq=440.0, amplitude=0.5)
    two = x.copy()
    two[1000:1002] = 1.0
    condition_clip(two, sr, RULES)
    three = x.copy()
    three[1000:1003] = -1.0
    assert _reject_reason(three, sr) == "clipped"


def test_stereo_needs_downmix_and_downmix_is_the_mean() -> None:
    sr = 32000
    left = sine(sr, 0.5, freq=440.0, amplitude=0.4)
    right = sine(sr, 0.5, freq=660.0, amplitude=0.2)
    stereo = np.stack([left, right], axis=1)
    assert _reject_reason(stereo, sr) == "multichannel"
    clip = condition_clip(stereo, sr, ClipRules(downmix=True))
    expected = ((left.astype(np.float64) + right.astype(np.float64)) / 2).astype(np.float32)
    assert clip.original_channels == 2
    assert clip.wave.ndim == 1
    assert np.array_equal(clip.wave, expected)
    # (frames, 1) input counts as mono.
    assert condition_clip(left[:, None], sr, RULES).original_channels == 1


# --- peak guard -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sr", "amplitude", "freq"),
    [(32000, 0.998, 997.0), (44100, 0.998, 1000.0), (44100, 0.5, 1000.0), (48000, 0.995, 1000.0)],
)
def test_peak_guard(sr: int, amplitude: float, freq: float) -> None:
    x = sine(sr, 0.5, freq=freq, amplitude=amplitude)
    clip = condition_clip(x, sr, RULES)
    peak = float(np.abs(clip.wave).max())
    # The guard keeps the peak at or below the ceiling itself, float32 rounding included.
    assert peak <= RULES.peak_ceiling
    if amplitude > RULES.peak_ceiling:
        assert clip.gain_db < 0
        assert peak == pytest.approx(RULES.peak_ceiling, abs=1e-6)
    else:
        assert clip.gain_db == 0.0


def test_peak_guard_catches_resampling_overshoot() -> None:
    """A square wave just under the ceiling overshoots after band-limiting; the guard scales it back."""
    sr = 44100
    n = sr // 2
    square = (0.98 * np.sign(np.sin(2 * np.pi * 441.0 * np.arange(n) / sr + 0.1))).astype(np.float32)
    assert np.abs(square).max() < RULES.peak_ceiling
    clip = condition_clip(square, sr, RULES)
    assert clip.gain_db < 0
    assert float(np.abs(clip.wave).max()) <= RULES.peak_ceiling


# --- helpers against hand-computed values ---------------------------------------------------------------


def test_longest_clipped_run_by_hand() -> None:
    assert longest_clipped_run(np.array([0.0, 0.5, -0.2]), 0.999) == 0
    assert longest_clipped_run(np.array([0.0, 1.0, 1.0, 0.0, -1.0, -1.0, -0.9995, 0.5]), 0.999) == 3
    assert longest_clipped_run(np.array([1.0, 0.0, 1.0, 1.0]), 0.999) == 2  # a run at the very end
    assert longest_clipped_run(np.array([1.0, 1.0, 0.0]), 0.999) == 2  # a run at the very start
    assert longest_clipped_run(np.array([0.998, 0.9989]), 0.999) == 0
    # 2-D: a sample is hot when any channel is.
    two = np.array([[1.0, 0.0], [0.0, -1.0], [0.0, 1.0], [0.0, 0.0], [1.0, 1.0]])
    assert longest_clipped_run(two, 0.999) == 3


def test_frame_rms_db_by_hand() -> None:
    mono = np.array([1.0, 1.0, 0.0, 0.0, 0.5, 0.5, 0.5, 0.5, 0.0, 0.0, 0.0, 0.0, 0.1])
    levels = frame_rms_db(mono, 4)
    assert levels.shape == (4,)
    # mean squares: 0.5, 0.25, 0 (floored at 1e-20), and 0.01 / 4 for the zero-padded last frame
    np.testing.assert_allclose(levels, [10 * np.log10(0.5), 10 * np.log10(0.25), -200.0, 10 * np.log10(0.0025)])
    np.testing.assert_allclose(frame_rms_db(np.full(8, 0.1), 8), [-20.0])
