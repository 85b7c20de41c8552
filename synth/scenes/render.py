"""Rendering one manifest row: the 4-channel AmbiX mixture and the references of every target event.

Everything comes from the row and the banks (verified by hash). Per event, the dry excerpt is convolved by
FFT with its RIR at a transform size from :func:`fft_size` (5-smooth and a multiple of 1024, where pocketfft's
real transforms run fastest): one forward transform of the excerpt (one lane), the RIR's 4-channel spectrum
(cached per RIR and size) and one 4-lane inverse transform of the products: the event's wet image, from which
its level is measured and which is added to the mixture. A target also gets its ``direct`` reference from the
same excerpt spectrum and the cached spectrum of the W channel windowed to [direct peak - 6 ms, direct peak +
50 ms] (one more inverse lane, kept apart from the four so that the FFT library's 4-lane batching holds).
Levels and the clipping policy are those of :mod:`foabench.synth.scenes.levels`. References per target:
``direct`` (mono, the DCASE 2025 Task 4 definition), ``dry`` (mono, the excerpt at the event's gain, delayed to
the direct-path arrival) and ``wet`` (4 channels, the event's full reverberant image). They are built on first
access (a training step that reads only ``direct`` never builds ``wet``); their peaks always enter the clipping
guard, so the mixture does not depend on which references are read. All arrays are float32 and as long as the
mixture.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
import scipy.fft

from foabench.synth.audio_io import AudioError, read_audio
from foabench.synth.banks.bank_set import BankSet, InputError
from foabench.synth.scenes.levels import clip_gain, gain_for_level, gain_to_db, rms

DIRECT_BEFORE_S = 0.006
DIRECT_AFTER_S = 0.050
REFERENCES = ("direct", "dry", "wet")
#: every transform size is a multiple of this (see :func:`fft_size`)
FFT_SIZE_STEP = 1024


class RenderError(ValueError):
    """A row that cannot be rendered as written (named in the message)."""


def fft_size(n: int) -> int:
    """The transform size used for a linear convolution of ``n`` samples: the smallest 5-smooth multiple of
    ``FFT_SIZE_STEP`` that is at least ``n`` (pocketfft's real transforms run fastest on sizes with many factors
    of two; measured by ``foabench.benchmark.bench_render``)."""
    m = -(-max(1, n) // FFT_SIZE_STEP)
    while True:
        k = m
        for p in (2, 3, 5):
            while k % p == 0:
                k //= p
        if k == 1:
            return m * FFT_SIZE_STEP
        m += 1


def _peak(x: np.ndarray) -> float:
    """Largest absolute sample (0 for an empty array), without a temporary array."""
    return float(max(x.max(), -x.min())) if x.size else 0.0


class TargetReferences(Mapping):
    """The ``direct``, ``dry`` and ``wet`` references of one target, each built on first access."""

    def __init__(self, num_frames: int, onset: int, wet: np.ndarray, direct: np.ndarray, dry_at: int,
                 dry: np.ndarray, scale: float):  # fmt: skip
        self._n, self._onset, self._wet, self._direct = num_frames, onset, wet, direct
        self._dry_at, self._dry, self._scale = dry_at, dry, np.float32(scale)
        self._built: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._built:
            if name not in REFERENCES:
                raise KeyError(name)
            self._built[name] = getattr(self, f"_build_{name}")()
        return self._built[name]

    def __iter__(self) -> Iterator[str]:
        return iter(REFERENCES)

    def __len__(self) -> int:
        return len(REFERENCES)

    def _placed(self, at: int, part: np.ndarray, channels: tuple[int, ...]) -> np.ndarray:
        out = np.zeros((self._n, *channels), dtype=np.float32)
        seg = out[at : at + len(part)]
        if self._scale == 1:
            seg[:] = part
        else:
            np.multiply(part, self._scale, out=seg)
        return out

    def _build_direct(self) -> np.ndarray:
        return self._placed(self._onset, self._direct, ())

    def _build_dry(self) -> np.ndarray:
        return self._placed(self._dry_at, self._dry, ())

    def _build_wet(self) -> np.ndarray:
        return self._placed(self._onset, self._wet, (4,))


@dataclass
class RenderedMixture:
    """A rendered row: ``mixture`` (frames, 4), ``references[k][name]`` per target, and metadata."""

    row_id: str
    sample_rate: int
    mixture: np.ndarray
    references: list[Mapping[str, np.ndarray]]
    metadata: dict = field(default_factory=dict)


class _Cache:
    """A small LRU cache of arrays bounded by bytes."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.items: OrderedDict = OrderedDict()
        self.size = 0

    def lookup(self, key):
        """The cached value of ``key`` (now the most recent), or None."""
        if key in self.items:
            self.items.move_to_end(key)
            return self.items[key]
        return None

    def put(self, key, value):
        """Cache ``value`` under ``key``, evicting the least recent values beyond the byte bound."""
        self.items[key] = value
        self.size += value.nbytes
        while self.size > self.max_bytes and len(self.items) > 1:
            _, old = self.items.popitem(last=False)
            self.size -= old.nbytes
        return value

    def get(self, key, make):
        """The cached value of ``key``, made and cached on a miss."""
        value = self.lookup(key)
        return self.put(key, make()) if value is None else value


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

    def _convolve(self, x: np.ndarray, rir: dict, span: int, direct: bool, sample_rate: int
                  ) -> tuple[np.ndarray, np.ndarray | None]:  # fmt: skip
        """The first ``span`` samples of ``x`` convolved with the RIR's 4 channels, and with its windowed W
        channel when ``direct``. RIR spectra are cached per (RIR, transform size); a missing direct-window spectrum
        is transformed in the same call as ``x`` (two lanes cost about one; a lane's result does not depend on
        its batch, which the tests check, so a render does not depend on the cache's state)."""
        nfft = fft_size(len(x) + self.banks.record(rir).num_frames - 1)
        key = (rir["bank"], rir["path"], nfft)
        h = self._spectra.lookup(key)
        if h is None:
            h = self._spectra.put(key, scipy.fft.rfft(self.audio(rir, 4), n=nfft, axis=0))
        h_direct = self._spectra.lookup((*key, "direct")) if direct else None
        if direct and h_direct is None:  # the excerpt and the direct window share the FFT's lanes
            pair = np.zeros((nfft, 2), dtype=np.float32)
            pair[: len(x), 0] = x
            window = self._direct_window(rir, sample_rate)
            pair[: len(window), 1] = window
            spectra = scipy.fft.rfft(pair, axis=0)
            spectrum = spectra[:, 0]
            h_direct = self._spectra.put((*key, "direct"), np.ascontiguousarray(spectra[:, 1]))
        else:
            spectrum = scipy.fft.rfft(x, n=nfft)
        y = scipy.fft.irfft(spectrum[:, None] * h, n=nfft, axis=0)[:span]
        if not direct:
            return y, None
        return y, scipy.fft.irfft(spectrum * h_direct, n=nfft)[:span]

    def _direct_window(self, rir: dict, sample_rate: int) -> np.ndarray:
        """The RIR's W channel, zero outside :func:`direct_window` (as long as the RIR)."""
        w = self.audio(rir, 4)[:, 0]
        win = direct_window(int(self.banks.record(rir).direct_sample), len(w), sample_rate)
        out = np.zeros(len(w), dtype=np.float32)
        out[win] = w[win]
        return out

    def _noise(self, row: dict) -> tuple[np.ndarray | None, float, dict | None]:
        noise = row["noise"]
        n = row["num_frames"]
        if noise is None:
            return None, float(row.get("reference_dbfs", -30.0)), None
        clip = self.audio(noise, 4)
        looped = np.empty((n, 4), dtype=np.float32)  # the clip from its offset, repeated to the mixture's length
        start, at = noise["offset"] % len(clip), 0
        while at < n:
            piece = clip[start : start + n - at]
            looped[at : at + len(piece)] = piece
            at, start = at + len(piece), 0
        gain = gain_for_level(rms(looped[:, 0]), noise["level_dbfs"])
        if gain == 0.0:
            raise RenderError(f"{row['id']}: noise clip {noise['path']} is silent")
        looped *= np.float32(gain)
        return looped, float(noise["level_dbfs"]), {"gain_db": round(gain_to_db(gain), 6)}

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
        parts: list[tuple[int, np.ndarray, np.ndarray, int, np.ndarray]] = []  # (onset, wet, direct, dry at, dry)
        peaks: list[float] = []
        events_meta = []
        for k, ev in enumerate(row["events"]):
            where[0] = f"event {k} ({ev['role']} {ev['label']!r})"
            src = self.audio(ev["source"], 1)[:, 0]
            off, onset, length = ev["source_offset"], ev["onset"], ev["length"]
            if off + length > len(src):
                raise RenderError(f"{row['id']}: event {k} reads past the end of {ev['source']['path']}")
            x = src[off : off + length]
            span = min(n - onset, length + self.banks.record(ev["rir"]).num_frames - 1)
            y, direct = self._convolve(x, ev["rir"], span, ev["role"] == "target", sr)
            gain = gain_for_level(rms(y[:length, 0]), level_ref + float(ev["snr_db"]))
            y *= np.float32(gain)
            mixture[onset : onset + span] += y
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
                direct *= np.float32(gain)
                dry = x[: max(0, min(length, n - onset - d))] * np.float32(gain)
                parts.append((onset, y, direct, onset + d, dry))
                peaks += [_peak(y), _peak(direct), _peak(dry)]
                meta["target"] = len(parts) - 1  # files target{k}_{direct,dry,wet}.flac
                meta["direct_sample"] = d
            events_meta.append(meta)
        g = clip_gain([_peak(mixture), *peaks])
        if g < 1.0:
            mixture *= np.float32(g)
        references = [TargetReferences(n, *part, scale=g) for part in parts]
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
        return RenderedMixture(row["id"], sr, mixture, references, metadata)
