"""Noise banks: diffuse encoding of mono recordings (statistics of a diffuse field, checked against controls
that must fail), measured FOA ambience, skips, resume, CLI and the starter noise bank."""

from __future__ import annotations

import json
import shutil
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy import signal

from foabench.benchmark.cli import main
from foabench.synth.banks.clip_rules import ClipRejected
from foabench.synth.banks.format import HEADER_NAME, Bank
from foabench.synth.banks.writer import JOURNAL_NAME
from foabench.synth.foa import ConventionError, encode_direction, from_ambix
from foabench.synth.noise import bank as noise_bank
from foabench.synth.noise.bank import clip_seed, format_noise_summary, import_noise_folder
from foabench.synth.noise.diffuse import (
    calibration_gains,
    diffuseness,
    encode_diffuse,
    encode_plane_waves,
    make_loopable,
)
from foabench.synth.sphere import design_directions
from tests.audio_fixtures import write_garbage, write_truncated_wav, write_wave

SR = 32000
PAIRS = list(combinations(range(4), 2))  # (W,Y) (W,Z) (W,X) (Y,Z) (Y,X) (Z,X) in ACN order
LSB24 = 2.0**-23


def white(seconds: float, seed: int, sr: int = SR, channels: int | None = None) -> np.ndarray:
    shape = (round(seconds * sr),) if channels is None else (round(seconds * sr), channels)
    return (0.1 * np.random.default_rng(seed).standard_normal(shape)).astype(np.float32)


def pink(seconds: float, seed: int, f_min: float = 50.0) -> np.ndarray:
    """Noise with a 1/f power spectrum above ``f_min`` (nothing below), RMS 0.1."""
    n = round(seconds * SR)
    spec = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / SR)
    x = np.fft.irfft(spec * np.where(f >= f_min, 1 / np.sqrt(np.maximum(f, f_min)), 0.0), n)
    return (0.1 * x / x.std()).astype(np.float32)


def mean_coherence(foa: np.ndarray) -> dict[tuple[int, int], float]:
    """Mean magnitude-squared coherence (Welch, nperseg 1024) of every channel pair."""
    x = np.asarray(foa, dtype=np.float64)
    return {(a, b): float(signal.coherence(x[:, a], x[:, b], fs=SR, nperseg=1024)[1].mean()) for a, b in PAIRS}


def power(x: np.ndarray) -> float:
    return float(np.mean(np.asarray(x, dtype=np.float64) ** 2))


# --- the diffuse encoding ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "mono"), [("white", white(3.0, seed=1)), ("pink", pink(5.0, seed=2))])
def test_encode_diffuse_has_diffuse_field_statistics(name: str, mono: np.ndarray) -> None:
    foa = encode_diffuse(mono, seed=7, calibrate=False).astype(np.float64)  # the plane-wave sum itself
    assert foa.shape == (mono.shape[0] - round(0.05 * SR), 4) and np.isfinite(foa).all()
    energy = np.mean(foa**2, axis=0)
    ratios = energy[1:] / energy[0]  # Y, Z, X over W
    assert np.all(np.abs(ratios - 1 / 3) < 0.05 / 3), (name, ratios)
    rho = np.corrcoef(foa.T)
    assert max(abs(rho[a, b]) for a, b in PAIRS) < 0.05, (name, rho)
    coherence = mean_coherence(foa)
    assert max(coherence.values()) < 0.1, (name, coherence)
    assert energy[0] / power(mono) == pytest.approx(1.0, abs=0.05)  # W keeps the recording's power
    intensity = np.mean(foa[:, :1] * foa[:, [3, 1, 2]], axis=0)  # pseudo-intensity W * (X, Y, Z)
    assert np.linalg.norm(intensity) / energy[0] < 0.05, (name, intensity)
    stats = diffuseness(foa)
    assert stats["ratios_yzx"] == pytest.approx(ratios.tolist(), abs=1e-4)
    assert stats["intensity"] == pytest.approx(np.linalg.norm(intensity) / energy[0], abs=1e-4)


def test_calibration_sets_diffuse_ratios_and_barely_touches_noise() -> None:
    t = np.arange(3 * SR) / SR
    hum = (0.3 * np.sin(2 * np.pi * 50 * t) + 0.1 * np.sin(2 * np.pi * 150 * t)).astype(np.float32)
    raw = encode_diffuse(hum, seed=3, calibrate=False).astype(np.float64)
    assert np.max(np.abs(np.mean(raw[:, 1:] ** 2, axis=0) / np.mean(raw[:, 0] ** 2) * 3 - 1)) > 0.05  # one draw
    foa = encode_diffuse(hum, seed=3).astype(np.float64)
    energy = np.mean(foa**2, axis=0)
    np.testing.assert_allclose(energy[1:] / energy[0], 1 / 3, rtol=1e-4)
    noise = white(3.0, seed=4)
    gains = calibration_gains(encode_diffuse(noise, seed=3, calibrate=False), power(noise))
    np.testing.assert_allclose(gains, 1.0, atol=0.05)


@pytest.mark.parametrize("control", ["identical copies", "short decorrelation filters"])
def test_coherence_check_fails_without_time_shifts(control: str) -> None:
    """Controls: copies without shifts, or LTI decorrelation filters shorter than an STFT frame, sent from the
    same 5-design directions: every channel is a filtered version of one signal and coherence stays near 1."""
    mono = white(3.0, seed=3).astype(np.float64)
    rng = np.random.default_rng(4)
    directions = design_directions(rng)
    if control == "identical copies":
        polarity = rng.choice([-1.0, 1.0], directions.shape[0])
        copies = [p * mono for p in polarity]
    else:  # 64-tap exponentially decaying random FIRs (2 ms): classic decorrelators
        taps = rng.standard_normal((directions.shape[0], 64)) * np.exp(-np.arange(64) / 16.0)
        copies = [signal.lfilter(h / np.linalg.norm(h), 1.0, mono) for h in taps]
    foa = encode_plane_waves(copies, directions)
    coherence = mean_coherence(foa)
    assert min(coherence.values()) > 0.8, coherence  # fails the < 0.1 check of the diffuse encoding


def test_encode_diffuse_is_seeded_and_deterministic() -> None:
    mono = white(1.5, seed=5)
    a, b, c = encode_diffuse(mono, seed=11), encode_diffuse(mono, seed=11), encode_diffuse(mono, seed=12)
    assert a.dtype == np.float32 and np.array_equal(a, b)
    assert not np.allclose(a, c)


def test_loop_crossfade_makes_the_clip_seamless() -> None:
    t = np.arange(round(1.3 * SR)) / SR
    x = np.sin(2 * np.pi * 5.3 * t)  # the end does not meet the start
    step = np.abs(np.diff(x)).max()
    assert abs(x[0] - x[-1]) > 100 * step
    y = make_loopable(x, round(0.05 * SR))
    assert y.shape[0] == x.shape[0] - round(0.05 * SR)
    assert abs(y[0] - y[-1]) < 2 * step
    foa = encode_diffuse(x.astype(np.float32), seed=0)  # sums of circular shifts stay seamless
    assert np.all(np.abs(foa[0] - foa[-1]) < 2 * np.abs(np.diff(foa, axis=0)).max(axis=0))


def test_encode_diffuse_rejects_short_or_bad_input() -> None:
    with pytest.raises(ClipRejected, match="too short to decorrelate"):
        encode_diffuse(white(0.5, seed=6), seed=0)
    with pytest.raises(ValueError, match="mono"):
        encode_diffuse(white(1.5, seed=6, channels=2), seed=0)
    bad = white(1.5, seed=6)
    bad[10] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        encode_diffuse(bad, seed=0)


def test_diffuseness_of_a_plane_wave() -> None:
    foa = white(1.0, seed=8)[:, None] * encode_direction(40.0, 20.0)[None, :]
    stats = diffuseness(foa)
    assert stats["intensity"] == pytest.approx(1.0, abs=1e-4)
    assert sum(stats["ratios_yzx"]) == pytest.approx(1.0, abs=1e-3)


# --- building from a folder of recordings ------------------------------------------------------------------

RECORDINGS = {  # path -> (audio, rate); all pass
    "rain/rain_01.wav": (white(1.5, seed=20), SR),
    "rain/rain_02.wav": (pink(1.5, seed=21), SR),
    "hum_48k.wav": (white(1.2, seed=22, sr=48000), 48000),
    "street_stereo.wav": (white(1.5, seed=23, channels=2), SR),
    "loud.wav": (np.clip(white(1.5, seed=24) * 3.0, -0.95, 0.95), SR),
}
BAD_RECORDINGS = {  # path -> skip reason
    "short.wav": "too_short",
    "silent.wav": "silent",
    "nan.wav": "bad_audio",
    "garbage.wav": "bad_audio",
    "truncated.wav": "bad_audio",
    "clipped.wav": "clipped",
    "rain/rain_01_copy.wav": "duplicate",
}
NOISE_CSV = """path,labels,caption,license,attribution,group
rain/rain_01.wav,rain,,CC0-1.0,,
rain/rain_02.wav,rain;ambience,steady rain on a roof,,,rain-session
hum_48k.wav,hum,,,,
street_stereo.wav,traffic;ambience,,,,
loud.wav,hiss,,,,
short.wav,click,,,,
silent.wav,silence,,,,
nan.wav,hiss,,,,
garbage.wav,hiss,,,,
truncated.wav,hiss,,,,
clipped.wav,hiss,,,,
rain/rain_01_copy.wav,rain,,,,
"""


@pytest.fixture
def recordings(tmp_path: Path) -> Path:
    src = tmp_path / "noise_src"
    for rel, (wave, sr) in RECORDINGS.items():
        write_wave(src / rel, wave, sr, subtype="FLOAT")
    write_wave(src / "short.wav", white(0.5, seed=30), SR, subtype="FLOAT")
    write_wave(src / "silent.wav", np.zeros(round(1.5 * SR), np.float32), SR)
    nan = white(1.5, seed=31)
    nan[100] = np.nan
    write_wave(src / "nan.wav", nan, SR, subtype="FLOAT")
    write_garbage(src / "garbage.wav")
    write_truncated_wav(src / "truncated.wav", seconds=2.0)
    clipped = white(1.5, seed=32)
    clipped[1000:1010] = 1.0
    write_wave(src / "clipped.wav", clipped, SR, subtype="FLOAT")
    shutil.copyfile(src / "rain/rain_01.wav", src / "rain/rain_01_copy.wav")
    (tmp_path / "noise.csv").write_text(NOISE_CSV)
    return src


def _build(src: Path, out: Path, **kwargs):
    return import_noise_folder(src, src.parent / "noise.csv", out, workers=1, progress=False, **kwargs)


def test_noise_folder_builds_a_diffuse_bank(recordings: Path, tmp_path: Path) -> None:
    out = tmp_path / "bank"
    result = _build(recordings, out)
    skipped = {Path(s["origin"]).relative_to(recordings).as_posix(): s["reason"] for s in result.skipped}
    assert skipped == BAD_RECORDINGS
    bank = Bank.open(out, kind="noise")
    assert bank.verify() == []
    recs = {Path(r.origin).relative_to(recordings).as_posix(): r for r in bank.records}
    assert sorted(recs) == sorted(RECORDINGS)
    for rel, rec in recs.items():
        assert (rec.method, rec.source_convention, rec.channels, rec.sample_rate) == ("diffuse", "ambix", 4, SR)
        assert rec.seed == clip_seed(0, rel)
        assert rec.path == "audio/" + rel.rsplit(".", 1)[0] + ".flac"
        wave, sr = sf.read(bank.resolve(rec.path))
        assert (sr, wave.shape) == (SR, (rec.num_frames, 4))
        assert np.abs(wave).max() <= 0.5
        assert rec.extra["diffuseness"]["max_abs_rho"] < 0.1
    assert recs["rain/rain_01.wav"].license == "CC0-1.0" and recs["rain/rain_01.wav"].split_group == "rain/rain_01.wav"
    assert (recs["rain/rain_02.wav"].caption, recs["rain/rain_02.wav"].split_group) == (
        "steady rain on a roof",
        "rain-session",
    )
    assert recs["rain/rain_02.wav"].labels == ["rain", "ambience"]
    assert (recs["hum_48k.wav"].original_sample_rate, recs["street_stereo.wav"].original_channels) == (48000, 2)
    assert recs["loud.wav"].gain_db < 0 and recs["rain/rain_01.wav"].gain_db == 0.0
    # the stored clip is the encoding of the recording, up to 24-bit quantisation
    stored, _ = sf.read(bank.resolve(recs["rain/rain_01.wav"].path))
    expected = encode_diffuse(RECORDINGS["rain/rain_01.wav"][0], clip_seed(0, "rain/rain_01.wav"))
    assert np.abs(stored - expected).max() <= LSB24
    summary = format_noise_summary(bank)
    assert "5 clips" in summary and "methods: diffuse (5)" in summary and "traffic" in summary


def test_other_bank_seed_gives_other_encodings(recordings: Path, tmp_path: Path) -> None:
    a = {r.origin: r for r in _build(recordings, tmp_path / "a").records}
    b = {r.origin: r for r in _build(recordings, tmp_path / "b", settings=noise_bank.NoiseSettings(seed=1)).records}
    assert all(a[k].seed != b[k].seed and a[k].sha256 != b[k].sha256 for k in a)


def test_interrupted_build_resumes_without_redoing_finished_clips(
    recordings: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "bank"
    calls: list[int] = []
    interrupt_at = [3]
    real = noise_bank.encode_diffuse

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == interrupt_at[0]:
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C while the third clip was being encoded
        return real(*args, **kwargs)

    monkeypatch.setattr(noise_bank, "encode_diffuse", flaky)
    with pytest.raises(KeyboardInterrupt):
        _build(recordings, out)
    assert not (out / HEADER_NAME).exists()
    journal = [json.loads(line) for line in (out / JOURNAL_NAME).read_text().splitlines()]
    assert len(journal) == 2
    finished = {e["record"]["path"]: (out / e["record"]["path"]).stat().st_mtime_ns for e in journal}

    calls.clear()
    interrupt_at[0] = 0
    _build(recordings, out)
    assert len(calls) == len(RECORDINGS) - 2  # only the unfinished clips are encoded again
    assert {p: (out / p).stat().st_mtime_ns for p in finished} == finished
    assert not (out / JOURNAL_NAME).exists()
    fresh = tmp_path / "fresh"
    _build(recordings, fresh)
    assert Bank.open(out, kind="noise").fingerprint == Bank.open(fresh, kind="noise").fingerprint
    assert (out / "index.jsonl").read_text() == (fresh / "index.jsonl").read_text()


# --- measured 4-channel ambience ---------------------------------------------------------------------------


def plane_wave_noise(seconds: float, seed: int, sr: int = SR) -> np.ndarray:
    """AmbiX noise from one direction plus a weaker one from another (peak well below 0.5)."""
    return (
        white(seconds, seed, sr)[:, None] * encode_direction(60.0, 15.0)[None, :]
        + 0.5 * white(seconds, seed + 1, sr)[:, None] * encode_direction(-120.0, -30.0)[None, :]
    ).astype(np.float32)


@pytest.mark.parametrize("convention", ["fuma", "n3d"])
def test_measured_ambience_is_converted_to_ambix(convention: str, tmp_path: Path) -> None:
    src = tmp_path / "amb_src"
    ambix = plane_wave_noise(1.5, seed=40)
    write_wave(src / "park.wav", from_ambix(ambix, convention), SR, subtype="FLOAT")
    write_wave(src / "hall_48k.wav", from_ambix(plane_wave_noise(1.5, 42, 48000), convention), 48000, "FLOAT")
    write_wave(src / "three.wav", white(1.5, seed=43, channels=3), SR, subtype="FLOAT")
    write_wave(src / "six.wav", white(1.5, seed=44, channels=6), SR, subtype="FLOAT")
    write_wave(src / "mono.wav", white(1.5, seed=45), SR, subtype="FLOAT")
    nan = from_ambix(plane_wave_noise(1.5, seed=46), convention)
    nan[5, 2] = np.inf
    write_wave(src / "nan.wav", nan, SR, subtype="FLOAT")
    rows = ["park.wav", "hall_48k.wav", "three.wav", "six.wav", "mono.wav", "nan.wav"]
    (tmp_path / "noise.csv").write_text("path,labels\n" + "".join(f"{r},park\n" for r in rows))
    result = _build(src, tmp_path / "bank", measured=True, convention=convention.upper())

    skipped = {Path(s["origin"]).name: (s["reason"], s["detail"]) for s in result.skipped}
    assert {k: v[0] for k, v in skipped.items()} == {
        "three.wav": "not_foa",
        "six.wav": "not_foa",
        "mono.wav": "not_foa",
        "nan.wav": "bad_audio",
    }
    assert "3 channel(s)" in skipped["three.wav"][1] and "6 channel(s)" in skipped["six.wav"][1]
    bank = Bank.open(tmp_path / "bank", kind="noise")
    assert bank.verify() == []
    recs = {Path(r.origin).name: r for r in bank.records}
    park = recs["park.wav"]
    assert (park.method, park.source_convention, park.seed, park.original_channels) == (
        "measured",
        convention,
        None,
        4,
    )
    assert (park.num_frames, park.gain_db) == (ambix.shape[0], 0.0)  # stored as is: no trim, no crossfade
    stored, _ = sf.read(bank.resolve(park.path))
    assert np.abs(stored - ambix).max() <= LSB24
    hall = recs["hall_48k.wav"]
    assert (hall.original_sample_rate, hall.sample_rate, hall.num_frames) == (48000, SR, round(1.5 * SR))
    assert "measured (2)" in format_noise_summary(bank) and f"{convention} (2)" in format_noise_summary(bank)


def test_measured_ambience_needs_a_declared_convention(tmp_path: Path) -> None:
    src = tmp_path / "amb_src"
    write_wave(src / "a.wav", plane_wave_noise(1.5, seed=50), SR, subtype="FLOAT")
    write_wave(src / "b.wav", plane_wave_noise(1.5, seed=51), SR, subtype="FLOAT")
    (tmp_path / "noise.csv").write_text("path,labels,convention\na.wav,wind,fuma\nb.wav,wind,\n")
    with pytest.raises(ConventionError, match=r"b\.wav.*not declared"):
        _build(src, tmp_path / "bank", measured=True)
    assert not (tmp_path / "bank").exists()
    result = _build(src, tmp_path / "bank", measured=True, convention="ambix")  # the CSV column wins for a.wav
    assert {Path(r.origin).name: r.source_convention for r in result.records} == {"a.wav": "fuma", "b.wav": "ambix"}


# --- command line ------------------------------------------------------------------------------------------


def test_cli_noise_and_errors(recordings: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli-bank"
    argv = ["bank", "noise", str(recordings), "--labels", str(tmp_path / "noise.csv"), "--out", str(out)]
    assert main([*argv, "--workers", "2", "--no-progress", "--min-duration", "1.0"]) == 0
    captured = capsys.readouterr()
    assert "5 clips" in captured.out and "methods: diffuse (5)" in captured.out
    assert "garbage.wav" in captured.err
    single = tmp_path / "single-worker"
    assert main(["bank", "noise", *argv[2:-1], str(single), "--workers", "1", "--no-progress"]) == 0
    assert Bank.open(single).fingerprint == Bank.open(out).fingerprint  # worker count does not matter
    capsys.readouterr()

    argv = ["bank", "noise-ambience", str(recordings), "--labels", str(tmp_path / "noise.csv")]
    assert main([*argv, "--out", str(tmp_path / "amb"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("foabench: error: ") and "not declared" in err
    assert err.split()[2] == f"{recordings / 'clipped.wav'}:"  # the first file lacking a convention
    assert not (tmp_path / "amb").exists()


# --- the starter noise bank (reads the Debian packages) -----------------------------------------------------


@pytest.mark.slow
def test_starter_noise_bank(tmp_path: Path) -> None:
    from foabench.synth.noise.starter import STARTER_NOISE, build_starter_noise_bank

    result = build_starter_noise_bank(tmp_path / "noise", progress=False)
    assert result.skipped == []
    bank = Bank.open(tmp_path / "noise", kind="noise")
    assert bank.verify() == []
    assert len(bank.records) == len(STARTER_NOISE) == 6
    assert bank.classes() == ["ambience", "crackle", "drone", "electrical buzz", "hiss", "hum", "machine noise"]
    assert len({r.split_group for r in bank.records}) == len(bank.records)
    recs = {Path(r.path).stem: r for r in bank.records}
    assert recs["vinyl_hiss"].license == "CC0" and "veezay" in recs["vinyl_hiss"].attribution
    for name, rec in recs.items():
        assert rec.method == "diffuse" and rec.duration > 2.0 and rec.original_sample_rate == 44100
        wave, _ = sf.read(bank.resolve(rec.path))
        assert 1e-3 < np.abs(wave).max() <= 0.5
        stats = diffuseness(wave)
        stored = rec.extra["diffuseness"]  # the recorded statistics describe the stored file
        assert stats["ratios_yzx"] == pytest.approx(stored["ratios_yzx"], abs=1e-3)
        assert stats["intensity"] == pytest.approx(stored["intensity"], abs=1e-3)
        assert np.all(np.abs(np.array(stats["ratios_yzx"]) * 3 - 1) < 0.01), (name, stats)  # calibrated
        hum = (
            "hum" in rec.labels
        )  # strong partials stay coherent: a less diffuse image (see foabench.synth.noise.diffuse)
        assert stats["intensity"] < (0.2 if hum else 0.05), (name, stats)
