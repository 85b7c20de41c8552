"""Mixing one scene from its gathered inputs: the 4-channel AmbiX mixture and every target's references.

:class:`SceneInputs` holds what a row needs, decoded and checked (gathered by
:meth:`~foabench.synth.scenes.render.Renderer.inputs`); :func:`mix_scene` computes the render from it with numpy
alone (the path that is bit-exact on one machine); :mod:`foabench.synth.scenes.render_torch` computes the same
on a torch device. Per event, the excerpt is convolved with its 4-channel RIR by
:func:`~foabench.synth.scenes.convolve.wet_image` at a size from
:func:`~foabench.synth.scenes.convolve.fft_size` (RIR spectra cached per RIR and size): the event's wet image,
whose W level over its active samples sets its gain, added to the mixture. A target's ``direct`` reference is
the excerpt convolved with the RIR's W channel windowed to [direct peak - 6 ms, direct peak + 50 ms], by
:func:`~foabench.synth.scenes.convolve.short_convolution` over the window's ~1,800 taps only. Levels and the
clipping policy are those of :mod:`foabench.synth.scenes.levels`. References per target: ``direct`` (mono, the
DCASE 2025 Task 4 definition), ``dry`` (mono, the excerpt at the event's gain, delayed to the direct-path
arrival) and ``wet`` (4 channels, the event's full reverberant image). They are built on first access (a
training step that reads only ``direct`` never builds ``wet``; a render whose mixture alone is read convolves no
``direct``). Every reference's peak enters the clipping guard, a ``direct`` first through an upper bound (the
excerpt's peak times the window's L1 norm), convolved at mixing time only when that bound could change the
guard's gain, so the mixture does not depend on which references are read. All arrays are float32 and as long
as the mixture.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import scipy.fft

from foabench.synth.scenes.convolve import block_size, fft_size, filter_spectrum, short_convolution, wet_image
from foabench.synth.scenes.levels import clip_gain_bounded, gain_for_level, gain_to_db, rms

DIRECT_BEFORE_S = 0.006
DIRECT_AFTER_S = 0.050
REFERENCES = ("direct", "dry", "wet")
#: the version of the mixing arithmetic, recorded in every render's metadata: renders of one version re-render
#: bit-exactly on one machine; another version gives the same signals within float32 rounding, not the same bytes
#: (1: per-event FFTs with a full-length direct lane, before issue 18 closed; 2: this module)
MIXER_VERSION = 2
#: an upper bound of a ``direct`` peak is widened by this factor (float32 rounding of the convolution)
BOUND_MARGIN = 1.01


class RenderError(ValueError):
    """A row that cannot be rendered as written (named in the message)."""


class ArrayCache(Protocol):
    """Where :func:`mix_scene` keeps what it can reuse (RIR spectra, filter spectra, noise energies)."""

    def get(self, key: tuple, make: Callable[[], np.ndarray]) -> np.ndarray: ...


class LRUCache:
    """An :class:`ArrayCache` of arrays bounded by bytes, the least recently used evicted first."""

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


class NoCache:
    """An :class:`ArrayCache` that keeps nothing."""

    def get(self, key: tuple, make: Callable[[], np.ndarray]) -> np.ndarray:
        return make()


@dataclass
class SceneInputs:
    """A row's decoded inputs: ``excerpts[k]`` (mono float32) and ``rirs[k]`` (``(frames, 4)`` float32) of
    event ``k``, its RIR's ``direct_samples[k]``, ``rir_keys[k]`` naming the RIR for caches, and the noise clip
    (``(frames, 4)`` float32, or None) with ``noise_key``."""

    row: dict
    excerpts: list[np.ndarray]
    rirs: list[np.ndarray]
    rir_keys: list[tuple]
    direct_samples: list[int]
    noise: np.ndarray | None = None
    noise_key: tuple | None = None


def direct_window(direct: int, length: int, sample_rate: int) -> slice:
    """Samples of an RIR kept for the ``direct`` reference: [peak - 6 ms, peak + 50 ms]."""
    lo = max(0, direct - round(DIRECT_BEFORE_S * sample_rate))
    return slice(lo, min(length, direct + round(DIRECT_AFTER_S * sample_rate) + 1))


def level_reference(row: dict) -> float:
    """The level (dBFS) a row's events' ``snr_db`` refers to: its noise level, or ``reference_dbfs`` without
    noise (see :mod:`foabench.synth.scenes.levels`)."""
    return float(row["noise"]["level_dbfs"]) if row["noise"] else float(row.get("reference_dbfs", -30.0))


def noise_pieces(offset: int, clip_frames: int, n: int) -> list[tuple[int, int, int]]:
    """``(start, stop, at)``: the clip from ``offset``, looped to fill ``n`` frames."""
    pieces, start, at = [], offset % clip_frames, 0
    while at < n:
        stop = min(clip_frames, start + n - at)
        pieces.append((start, stop, at))
        at, start = at + stop - start, 0
    return pieces


def _peak(x: np.ndarray) -> float:
    """Largest absolute sample (0 for an empty array), without a temporary array."""
    return float(max(x.max(), -x.min())) if x.size else 0.0


@dataclass
class _Part:
    """One reference before it is placed: ``part`` (or the function that computes it) times ``factor`` at
    sample ``at`` of the mixture."""

    at: int
    part: np.ndarray | Callable[[], np.ndarray]
    factor: float = 1.0

    def samples(self) -> np.ndarray:
        """The part's samples (computed once)."""
        if callable(self.part):
            self.part = self.part()
        return self.part


class TargetReferences(Mapping):
    """The ``direct``, ``dry`` and ``wet`` references of one target, each built on first access."""

    def __init__(self, num_frames: int, parts: dict[str, _Part], scale: float):
        self._n, self._parts, self._scale = num_frames, parts, scale
        self._built: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._built:
            if name not in REFERENCES:
                raise KeyError(name)
            self._built[name] = self._place(self._parts[name])
        return self._built[name]

    def __iter__(self) -> Iterator[str]:
        return iter(REFERENCES)

    def __len__(self) -> int:
        return len(REFERENCES)

    def _place(self, part: _Part) -> np.ndarray:
        samples = part.samples()
        out = np.zeros((self._n, *samples.shape[1:]), dtype=np.float32)
        seg = out[part.at : part.at + len(samples)]
        factor = np.float32(part.factor * self._scale)
        if factor == 1:
            seg[:] = samples
        else:
            np.multiply(samples, factor, out=seg)
        return out


@dataclass
class RenderedMixture:
    """A rendered row: ``mixture`` (frames, 4), ``references[k][name]`` per target, and metadata."""

    row_id: str
    sample_rate: int
    mixture: np.ndarray
    references: list[Mapping[str, np.ndarray]]
    metadata: dict = field(default_factory=dict)


def _noise(inputs: SceneInputs, cache: ArrayCache) -> tuple[np.ndarray | None, float, dict | None]:
    row, clip = inputs.row, inputs.noise
    n = row["num_frames"]
    if row["noise"] is None:
        return None, level_reference(row), None
    pieces = noise_pieces(row["noise"]["offset"], len(clip), n)

    def cumulative() -> np.ndarray:
        w = clip[:, 0].astype(np.float64)
        return np.concatenate(([0.0], np.cumsum(w * w)))

    energy = cache.get(("W energy", *inputs.noise_key), cumulative)
    total = sum(energy[b] - energy[a] for a, b, _ in pieces)
    gain = gain_for_level(float(np.sqrt(max(total, 0.0) / n)), row["noise"]["level_dbfs"])
    if gain == 0.0:
        raise RenderError(f"{row['id']}: noise clip {row['noise']['path']} is silent")
    looped = np.empty((n, 4), dtype=np.float32)
    for a, b, at in pieces:
        np.multiply(clip[a:b], np.float32(gain), out=looped[at : at + b - a])
    return looped, level_reference(row), {"gain_db": round(gain_to_db(gain), 6)}


def _direct(inputs: SceneInputs, k: int, span: int, cache: ArrayCache) -> tuple[_Part, float]:
    """Event ``k``'s unit-gain ``direct`` part, relative to its onset (convolved when first needed), and an
    upper bound of its peak."""
    x, rir, key = inputs.excerpts[k], inputs.rirs[k], inputs.rir_keys[k]
    window = direct_window(inputs.direct_samples[k], len(rir), int(inputs.row["sample_rate"]))
    taps = cache.get((*key, "direct taps", window.start, window.stop), lambda: np.ascontiguousarray(rir[window, 0]))
    count = max(0, min(len(x) + len(taps) - 1, span - window.start))
    size = block_size(len(x), len(taps))

    def convolve() -> np.ndarray:
        spectrum = cache.get((*key, "direct", window.start, window.stop, size), lambda: filter_spectrum(taps, size))
        return short_convolution(x, spectrum, len(taps), size, count)

    bound = _peak(x) * float(np.abs(taps.astype(np.float64)).sum()) * BOUND_MARGIN if count else 0.0
    return _Part(window.start, convolve), bound


def _event_meta(ev: dict, gain: float) -> dict:
    return {
        "role": ev["role"],
        "label": ev["label"],
        "onset": ev["onset"],
        "length": ev["length"],
        "snr_db": ev["snr_db"],
        "gain_db": round(gain_to_db(gain), 6) if gain > 0 else None,
        "silent": gain == 0.0,
        "azimuth": ev.get("azimuth"),
        "elevation": ev.get("elevation"),
        "distance": ev.get("distance"),
    }


def mix_scene(inputs: SceneInputs, cache: ArrayCache | None = None, where: list[str] | None = None) -> RenderedMixture:
    """Render a row from its gathered inputs (``cache`` keeps RIR spectra between calls; ``where[0]`` is set to
    the part of the row being mixed, for error messages)."""
    cache = cache or NoCache()
    where = where if where is not None else [""]
    row = inputs.row
    sr, n = int(row["sample_rate"]), int(row["num_frames"])
    where[0] = "noise"
    noise, level_ref, noise_meta = _noise(inputs, cache)
    mixture = np.zeros((n, 4), dtype=np.float32) if noise is None else noise
    targets: list[dict[str, _Part]] = []
    peaks: list[float] = []
    direct_bounds: list[tuple[float, Callable[[], float]]] = []
    events_meta = []
    for k, ev in enumerate(row["events"]):
        where[0] = f"event {k} ({ev['role']} {ev['label']!r})"
        x, rir, onset, length = inputs.excerpts[k], inputs.rirs[k], ev["onset"], ev["length"]
        span = min(n - onset, length + len(rir) - 1)
        nfft = fft_size(length + len(rir) - 1)
        spectrum = cache.get((*inputs.rir_keys[k], nfft), lambda h=rir, m=nfft: scipy.fft.rfft(h, n=m, axis=0))
        y = wet_image(x, spectrum, nfft, span)
        gain = gain_for_level(rms(y[:length, 0]), level_ref + float(ev["snr_db"]))
        y *= np.float32(gain)
        mixture[onset : onset + span] += y
        meta = _event_meta(ev, gain)
        if ev["role"] == "target":
            d = inputs.direct_samples[k]
            dry = x[: max(0, min(length, n - onset - d))]
            direct, bound = _direct(inputs, k, span, cache)
            direct = _Part(onset + direct.at, direct.part, gain)
            targets.append({"direct": direct, "dry": _Part(onset + d, dry, gain), "wet": _Part(onset, y)})
            peaks += [_peak(y), _peak(dry) * gain]
            direct_bounds.append((bound * gain, lambda part=direct: _peak(part.samples()) * part.factor))
            meta["target"] = len(targets) - 1  # files target{k}_{direct,dry,wet}.flac
            meta["direct_sample"] = d
        events_meta.append(meta)
    g = clip_gain_bounded([_peak(mixture), *peaks], direct_bounds)
    if g < 1.0:
        mixture *= np.float32(g)
    metadata = {
        "id": row["id"],
        "mixer": MIXER_VERSION,
        "sample_rate": sr,
        "num_frames": n,
        "clip_gain_db": round(gain_to_db(g), 6),
        "level_reference_dbfs": level_ref,
        "noise": None if noise_meta is None else {**noise_meta, "level_dbfs": row["noise"]["level_dbfs"]},
        "room": row["room"],
        "events": events_meta,
    }
    return RenderedMixture(row["id"], sr, mixture, [TargetReferences(n, parts, scale=g) for parts in targets], metadata)
