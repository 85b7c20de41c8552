"""Reading, validating and atomically writing audio files; content hashing."""

from __future__ import annotations

import hashlib
import os
import struct
import tempfile
from pathlib import Path

import numpy as np
import scipy.io.wavfile
import soundfile as sf


class AudioError(ValueError):
    """An audio file that cannot be used, with a message naming the file and the problem."""


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_array(wave: np.ndarray) -> str:
    """Hex sha256 of an array's raw bytes (dtype and shape included), for in-memory content."""
    arr = np.ascontiguousarray(wave)
    h = hashlib.sha256(f"{arr.dtype.str}{arr.shape}".encode())
    h.update(arr.tobytes())
    return h.hexdigest()


def _riff_data_shortfall(path: Path) -> tuple[int, int] | None:
    """For a RIFF/WAVE file, (declared, present) data-chunk bytes when the file is shorter than declared."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
            return None
        endian = "<" if head[:4] == b"RIFF" else ">"
        pos = 12
        while pos + 8 <= size:
            fh.seek(pos)
            chunk_id, chunk_size = struct.unpack(endian + "4sI", fh.read(8))
            if chunk_id == b"data":
                present = size - (pos + 8)
                # 0xFFFFFFFF / 0 are used by streaming writers for "unknown length".
                if chunk_size not in (0, 0xFFFFFFFF) and present < chunk_size:
                    return chunk_size, present
                return None
            pos += 8 + chunk_size + (chunk_size & 1)
    return None


def read_audio(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Read an audio file as float32 of shape (frames, channels) with its sample rate.

    Raises AudioError (naming the file) for unreadable, truncated, empty or non-finite audio.
    """
    p = Path(path)
    if not p.is_file():
        raise AudioError(f"{p}: no such file")
    try:
        info = sf.info(str(p))
        wave, sr = sf.read(str(p), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioError(f"{p}: unreadable audio ({exc})") from exc
    shortfall = _riff_data_shortfall(p)
    if shortfall is not None:
        raise AudioError(
            f"{p}: truncated file (header declares {shortfall[0]} bytes of audio, file holds {shortfall[1]})"
        )
    if info.frames > 0 and wave.shape[0] < info.frames:
        raise AudioError(f"{p}: truncated file (header declares {info.frames} frames, decoded {wave.shape[0]})")
    if wave.shape[0] == 0:
        raise AudioError(f"{p}: file holds no audio frames")
    finite = np.isfinite(wave)
    if not finite.all():
        bad = int(wave.size - finite.sum())
        raise AudioError(f"{p}: {bad} NaN/Inf samples")
    return wave, int(sr)


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_current_umask()


def _atomic_target(path: Path) -> tuple[int, str]:
    """A temp file beside ``path`` with the permissions a plain ``open`` would give (mkstemp's are 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.chmod(tmp, _FILE_MODE)
    return fd, tmp


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write bytes to path atomically (temp file in the same directory, fsync, rename)."""
    p = Path(path)
    fd, tmp = _atomic_target(p)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write UTF-8 text to path atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_copy_tree(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    """Replace folder ``dst`` by a copy of ``src``: copied beside it, then renamed, so never half a folder."""
    import shutil

    dst = Path(dst)
    tmp = dst.with_name(f".{dst.name}.copy")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp)
    shutil.rmtree(dst, ignore_errors=True)
    os.replace(tmp, dst)


def write_audio_atomic(path: str | os.PathLike, wave: np.ndarray, sample_rate: int, subtype: str = "PCM_24") -> None:
    """Write (frames,) or (frames, channels) audio atomically; the format follows the suffix (.flac, .wav).

    The bytes depend only on the samples, rate and subtype (no timestamps), so re-writing gives the same hash."""
    p = Path(path)
    fmt = {".flac": "FLAC", ".wav": "WAV"}.get(p.suffix.lower())
    if fmt is None:
        raise ValueError(f"{p}: unsupported audio suffix (use .flac or .wav)")
    if not np.isfinite(wave).all():
        raise AudioError(f"{p}: refusing to write NaN/Inf samples")
    fd, tmp = _atomic_target(p)
    os.close(fd)
    try:
        if fmt == "WAV" and subtype == "FLOAT":
            # libsndfile stamps float WAVs with the write time (PEAK chunk); scipy writes the same samples
            # without it, so equal audio gives equal bytes and hashes
            scipy.io.wavfile.write(tmp, sample_rate, np.ascontiguousarray(wave, dtype=np.float32))
        else:
            sf.write(tmp, wave, sample_rate, format=fmt, subtype=subtype)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
