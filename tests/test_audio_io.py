"""``foabench.synth.audio_io``: read errors that name the file and the problem; atomic writes; content hashes."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from foabench.synth import audio_io
from foabench.synth.audio_io import AudioError, read_audio, sha256_file, write_audio_atomic
from tests.audio_fixtures import (
    write_garbage,
    write_nonfinite_wav,
    write_tone,
    write_truncated_wav,
    write_wave,
)


def _read_error(path: Path) -> str:
    with pytest.raises(AudioError) as info:
        read_audio(path)
    message = str(info.value)
    assert str(path) in message  # every error names the file
    return message


def _no_part_files(folder: Path) -> None:
    assert [p.name for p in folder.rglob("*.part")] == []


# --- read_audio -----------------------------------------------------------------------------------------


def test_read_audio_good_file(tmp_path: Path) -> None:
    path = write_tone(tmp_path / "ok.wav", 44100, 0.25, channels=2, seed=1)
    wave, sr = read_audio(path)
    assert sr == 44100
    assert wave.shape == (round(0.25 * 44100), 2)
    assert wave.dtype == np.float32


def test_read_audio_garbage_bytes(tmp_path: Path) -> None:
    assert "unreadable" in _read_error(write_garbage(tmp_path / "garbage.wav"))
    assert "unreadable" in _read_error(write_garbage(tmp_path / "garbage.flac", seed=1))


def test_read_audio_truncated_wav(tmp_path: Path) -> None:
    path = write_truncated_wav(tmp_path / "cut.wav", 32000, 0.5)
    sf.info(str(path))  # libsndfile itself opens it without complaint
    assert "truncated" in _read_error(path)


def test_read_audio_empty_wav(tmp_path: Path) -> None:
    path = write_wave(tmp_path / "empty.wav", np.zeros((0, 1), np.float32), 32000)
    assert sf.info(str(path)).frames == 0
    assert "no audio frames" in _read_error(path)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_read_audio_non_finite(tmp_path: Path, value: float) -> None:
    path = write_nonfinite_wav(tmp_path / "bad.wav", value=value)
    assert "NaN/Inf" in _read_error(path)


def test_read_audio_missing_file(tmp_path: Path) -> None:
    message = _read_error(tmp_path / "nowhere.wav")
    assert "no such file" in message
    # A directory is not an audio file either.
    (tmp_path / "dir.wav").mkdir()
    assert "no such file" in _read_error(tmp_path / "dir.wav")


# --- write_audio_atomic ---------------------------------------------------------------------------------


def _random_wave(frames: int, channels: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-0.9, 0.9, (frames, channels)).astype(np.float32)


def test_flac_pcm24_round_trip(tmp_path: Path) -> None:
    wave = _random_wave(5000, 2)
    path = tmp_path / "sub" / "x.flac"
    write_audio_atomic(path, wave, 32000, subtype="PCM_24")
    info = sf.info(str(path))
    assert (info.format, info.subtype, info.samplerate, info.channels) == ("FLAC", "PCM_24", 32000, 2)
    back, sr = read_audio(path)
    assert sr == 32000 and back.shape == wave.shape
    assert np.max(np.abs(back - wave)) <= 2.0**-23
    _no_part_files(tmp_path)


def test_wav_float_round_trip_is_bit_exact(tmp_path: Path) -> None:
    wave = _random_wave(3001, 1, seed=1)[:, 0]  # 1-D input
    path = tmp_path / "x.wav"
    write_audio_atomic(path, wave, 48000, subtype="FLOAT")
    back, sr = read_audio(path)
    assert sr == 48000
    assert np.array_equal(back[:, 0], wave)
    _no_part_files(tmp_path)


def test_write_refuses_nan(tmp_path: Path) -> None:
    wave = _random_wave(100, 1)
    wave[10] = np.nan
    path = tmp_path / "nan.flac"
    with pytest.raises(AudioError, match="NaN/Inf") as info:
        write_audio_atomic(path, wave, 32000)
    assert str(path) in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_failed_write_leaves_the_previous_file_untouched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "keep.wav"
    write_audio_atomic(path, _random_wave(1000, 1), 32000, subtype="PCM_16")
    before = path.read_bytes()
    new = _random_wave(2000, 1, seed=5)
    # libsndfile refuses the subtype after the temporary file exists.
    with pytest.raises((sf.LibsndfileError, ValueError, RuntimeError)):
        write_audio_atomic(path, new, 32000, subtype="VORBIS")
    assert path.read_bytes() == before
    _no_part_files(tmp_path)

    # The writer dies halfway through the temporary file.
    real_write = sf.write

    def half_write(file, data, samplerate, **kwargs):
        real_write(file, data[: len(data) // 2], samplerate, **kwargs)
        assert Path(file).stat().st_size > 0
        raise OSError("disk full")

    monkeypatch.setattr(audio_io.sf, "write", half_write)
    with pytest.raises(OSError, match="disk full"):
        write_audio_atomic(path, new, 32000, subtype="PCM_16")
    assert path.read_bytes() == before
    _no_part_files(tmp_path)


def test_unsupported_suffix_leaves_the_previous_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "clip.ogg"
    path.write_bytes(b"previous content")
    with pytest.raises(ValueError, match="unsupported audio suffix"):
        write_audio_atomic(path, _random_wave(100, 1), 32000)
    assert path.read_bytes() == b"previous content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.ogg"]


def test_overwrite_replaces_and_leaves_no_part_files(tmp_path: Path) -> None:
    path = tmp_path / "x.flac"
    for seed in range(3):
        wave = _random_wave(800, 1, seed=seed)
        write_audio_atomic(path, wave, 32000)
        back, _ = read_audio(path)
        assert np.max(np.abs(back - wave)) <= 2.0**-23
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.flac"]


def test_atomic_write_respects_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_audio_atomic(tmp_path / "x.flac", _random_wave(100, 1), 32000)
        audio_io.atomic_write_text(tmp_path / "x.txt", "hello\n")
    finally:
        os.umask(old)
    assert (tmp_path / "x.flac").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "x.txt").stat().st_mode & 0o777 == 0o644


# --- hashing --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 7, 8, 9, 1000])
def test_sha256_file_matches_hashlib(tmp_path: Path, size: int) -> None:
    data = np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8).tobytes()
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    expected = hashlib.sha256(data).hexdigest()
    assert sha256_file(path) == expected
    assert sha256_file(path, chunk=8) == expected  # chunk boundaries do not matter
    assert sha256_file(str(path), chunk=3) == expected
