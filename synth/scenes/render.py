"""Rendering one manifest row: the 4-channel AmbiX mixture and the references of every target event.

Everything comes from the row and the banks (verified by hash). Per event, the dry excerpt is convolved by
FFT with its RIR: one forward transform of the excerpt, the RIR's spectrum (four AmbiX channels plus the W
channel windowed to [direct peak - 6 ms, direct peak + 50 ms] for the ``direct`` reference) computed once per
RIR and transform size and reused, and one inverse transform of the five products. Levels and the clipping
policy are those of :mod:`foabench.synth.scenes.levels`. References per target: ``direct`` (mono, the DCASE 2025 Task 4
definition), ``dry`` (mono, the excerpt at the event's gain, delayed to the direct-path arrival) and ``wet``
(4 channels, the event's full reverberant image). All arrays are float32 and as long as the mixture.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import scipy.fft

from foabench.synth.audio_io import AudioError, read_audio
from foabench.synth.banks.bank_set import BankSet, InputError
from foabench.synth.scenes.levels import clip_gain, gain_for_level, gain_to_db, rms

DIRECT_BEFORE_S = 0.006
DIRECT_AFTER_S = 0.050
REFERENCES = ("direct", "dry", "wet")


class RenderError(ValueError):
    """A row that cannot be rendered as written (named in the message)."""


@dataclass
class RenderedMixture:
    """A rendered row: ``mixture`` (frames, 4), ``references[k][name]`` per target, and metadata."""

    row_id: str
    sample_rate: int
    mixture: np.ndarray
    references: list[dict[str, np.ndarray]]
    metadata: dict = field(default_factory=dict)


class _Cache:
    """A small LRU cache of arrays bounded by bytes."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.items: OrderedDict = OrderedDict()
        self.size = 0

    def get(self, key, make):
        if key in self.items:
            self.items.move_to_end(key)
            return self.items[key]
        value = make()
        self.items[key] = value
        self.size += value.nbytes
        while self.size > self.max_bytes and len(self.items) > 1:
            _, old = self.items.popitem(last=False)
            self.size -= old.nbytes
        return value


def direct_window(direct: int, length: int, sample_rate: int) -> slice:
    """Samples of an RIR kept for the ``direct`` reference: [peak - 6 ms, peak + 50 ms]."""
    lo = max(0, direct - round(DIRECT_BEFORE_S * sample_rate))
    return slice(lo, min(length, direct + round(DIRECT_AFTER_S * sample_rate) + 1))


class Renderer:
    """Renders rows against a :class:`BankSet`, caching decoded audio and RIR spectra."""

    def __init__(self, banks: BankSet, cache_mb: int = 1024):
        self.banks = banks
        self._audio = _Cache(cache_mb << 19)
        self._spectra = _Cache(cache_mb << 19)

    def reset_spectra(self) -> None:
        """Forget cached RIR spectra (benchmarks start every pass cold)."""
        self._spectra = _Cache(self._spectra.max_bytes)

    def audio(self, ref: dict, channels: int) -> np.ndarray:
        """Decoded float32 ``(frames, channels)`` of a referenced bank file (hash-checked once)."""

        path = self.banks.resolve(ref)  # every reference is checked, also when its audio is cached

        def load() -> np.ndarray:
            wave, sr = read_audio(path)
            bank = self.banks.bank(ref["bank"])
            if sr != bank.sample_rate or wave.shape[1] != channels:
                raise InputError(f"{path}: {wave.shape[1]} ch at {sr} Hz, expected {channels} ch at {bank.sample_rate}")
            return wave

        return self._audio.get((ref["bank"], ref["path"]), load)

    def rir_spectrum(self, ref: dict, nfft: int, sample_rate: int) -> np.ndarray:
        """rfft ``(nfft // 2 + 1, 5)`` (complex64) of the RIR's 4 channels and of its windowed W channel."""

        def make() -> np.ndarray:
            rir = self.audio(ref, 4)
            direct = np.zeros(len(rir), dtype=np.float32)
            win = direct_window(int(self.banks.record(ref).direct_sample), len(rir), sample_rate)
            direct[win] = rir[win, 0]
            return scipy.fft.rfft(np.column_stack([rir, direct]), n=nfft, axis=0)

        return self._spectra.get((ref["bank"], ref["path"], nfft), make)

    def _noise(self, row: dict) -> tuple[np.ndarray | None, float, dict | None]:
        noise = row["noise"]
        n = row["num_frames"]
        if noise is None:
            return None, float(row.get("reference_dbfs", -30.0)), None
        clip = self.audio(noise, 4)
        start = noise["offset"] % len(clip)
        pieces, have = [clip[start:]], len(clip) - start
        while have < n:
            pieces.append(clip)
            have += len(clip)
        looped = np.concatenate(pieces)[:n]
        gain = gain_for_level(rms(looped[:, 0]), noise["level_dbfs"])
        if gain == 0.0:
            raise RenderError(f"{row['id']}: noise clip {noise['path']} is silent")
        return looped * np.float32(gain), float(noise["level_dbfs"]), {"gain_db": round(gain_to_db(gain), 6)}

    def render(self, row: dict) -> RenderedMixture:
        """Render one row (see :mod:`foabench.synth.scenes.manifest` for its fields).

        An input that cannot be used (missing, changed, unreadable, wrong rate or channels) raises its own error
        type with the mixture and the part of the row it belongs to named in front of its message."""
        where = ["noise"]
        try:
            return self._render(row, where)
        except (InputError, AudioError, RenderError) as exc:
            if str(exc).startswith(f"{row.get('id')}: "):
                raise
            raise type(exc)(f"{row.get('id', 'a row without id')}: {where[0]}: {exc}") from exc

    def _render(self, row: dict, where: list[str]) -> RenderedMixture:
        sr, n = int(row["sample_rate"]), int(row["num_frames"])
        noise, level_ref, noise_meta = self._noise(row)
        mixture = np.zeros((n, 4), dtype=np.float32) if noise is None else noise
        parts: list[tuple[int, np.ndarray, int, np.ndarray]] = []  # (onset, y, dry start, dry) per target
        peaks: list[float] = []
        events_meta = []
        for k, ev in enumerate(row["events"]):
            where[0] = f"event {k} ({ev['role']} {ev['label']!r})"
            src = self.audio(ev["source"], 1)[:, 0]
            off, onset, length = ev["source_offset"], ev["onset"], ev["length"]
            if off + length > len(src):
                raise RenderError(f"{row['id']}: event {k} reads past the end of {ev['source']['path']}")
            x = src[off : off + length]
            rir_len = self.banks.record(ev["rir"]).num_frames
            nfft = scipy.fft.next_fast_len(length + rir_len - 1, real=True)
            spec = scipy.fft.rfft(x, n=nfft)[:, None] * self.rir_spectrum(ev["rir"], nfft, sr)
            span = min(n - onset, length + rir_len - 1)
            y = scipy.fft.irfft(spec, n=nfft, axis=0)[:span]
            gain = gain_for_level(rms(y[:length, 0]), level_ref + float(ev["snr_db"]))
            y *= np.float32(gain)
            mixture[onset : onset + span] += y[:, :4]
            meta = {
                "role": ev["role"],
                "label": ev["label"],
                "onset": onset,
                "length": length,
                "snr_db": ev["snr_db"],
                "gain_db": round(gain_to_db(gain), 6) if gain > 0 else None,
                "silent": gain == 0.0,
                "azimuth": ev.get("azimuth"),
                "elevation": ev.get("elevation"),
                "distance": ev.get("distance"),
            }
            if ev["role"] == "target":
                d = int(self.banks.record(ev["rir"]).direct_sample)
                dry = x[: max(0, min(length, n - onset - d))] * np.float32(gain)
                parts.append((onset, y, onset + d, dry))
                peaks += [float(np.max(np.abs(y))), float(np.max(np.abs(dry), initial=0.0))]
                meta["target"] = len(parts) - 1  # files target{k}_{direct,dry,wet}.flac
                meta["direct_sample"] = d
            events_meta.append(meta)
        g = clip_gain([float(np.max(np.abs(mixture))), *peaks])
        if g < 1.0:
            mixture *= np.float32(g)
        out_refs = [self._references(n, onset, y, dry_at, dry, g) for onset, y, dry_at, dry in parts]
        metadata = {
            "id": row["id"],
            "sample_rate": sr,
            "num_frames": n,
            "clip_gain_db": round(gain_to_db(g), 6),
            "level_reference_dbfs": level_ref,
            "noise": None if noise_meta is None else {**noise_meta, "level_dbfs": row["noise"]["level_dbfs"]},
            "room": row["room"],
            "events": events_meta,
        }
        return RenderedMixture(row["id"], sr, mixture, out_refs, metadata)

    @staticmethod
    def _references(n: int, onset: int, y: np.ndarray, dry_at: int, dry: np.ndarray, g: float) -> dict:
        """Full-length float32 ``direct``, ``dry`` and ``wet`` of one target, scaled by the clip gain."""
        scale = np.float32(g)
        wet = np.zeros((n, 4), dtype=np.float32)
        wet[onset : onset + len(y)] = y[:, :4] * scale
        direct = np.zeros(n, dtype=np.float32)
        direct[onset : onset + len(y)] = y[:, 4] * scale
        dry_full = np.zeros(n, dtype=np.float32)
        dry_full[dry_at : dry_at + len(dry)] = dry * scale
        return {"direct": direct, "dry": dry_full, "wet": wet}
