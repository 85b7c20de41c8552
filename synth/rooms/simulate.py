"""Simulated first-order (AmbiX) room impulse responses of shoebox rooms.

Method
------
1. **Early part, image sources.** pyroomacoustics computes the image sources of the shoebox up to
   ``ism_order`` reflections with frequency-dependent wall absorption (``room.sources[0].images`` and
   ``.damping``, one reflection amplitude per octave band). Each image arrives at the microphone after
   ``d / c`` seconds with amplitude ``damping_b / d * exp(-m_b d / 2)`` (``m_b``: air absorption, energy per
   metre) and is encoded here as a plane wave from its direction (``W = 1, Y = sin az cos el, Z = sin el,
   X = cos az cos el``) — a few thousand images take milliseconds this way, instead of pyroomacoustics'
   per-image spherical-harmonic directivity. Arrivals are placed with Hann-windowed sinc fractional delays.
   Amplitudes are "1 at 1 m": the direct path of a source 2 m away peaks at 0.5 on W.
2. **Octave bands.** Band ``b`` of every channel is filtered by a zero-phase band filter ``H_b``; the filters
   cross over with cos^2 slopes on a log-frequency axis between adjacent octave centres and sum to exactly 1,
   so the direct path of every channel is the same waveform times its plane-wave gain.
3. **Late tail, diffuse.** Image sources are used up to ``t_x``: the perceptual mixing time
   ``20 V / S + 12`` ms (Lindau et al. 2012), or earlier where the image-source order runs out. From there
   on the response is a diffuse field: independent Gaussian noise from the 32 directions of a rotated
   spherical 5-design (:mod:`foabench.synth.sphere`), encoded as plane waves — so E[X^2] = E[Y^2] = E[Z^2] = E[W^2]/3
   and the channels are uncorrelated — band-filtered, and decaying per band at ``T_b`` from Eyring's formula
   plus air absorption. Its level per band continues the image-source energy measured on W in the window
   before ``t_x`` (statistical theory, ``4 pi c / V`` per second at t = 0, where that window is too short).
   Image sources and tail cross-fade over 10 ms around ``t_x`` (power-complementary). A shoebox's specular
   decay is not Eyring's (flat rooms with strong absorption ring longer between their far walls); handing over
   at the mixing time keeps the measured RT60 within ~15 % of the request over the default room range.
4. **Absorption.** Walls share one absorption spectrum: a named spectral profile scaled so that Eyring's
   mid-frequency reverberation time (mean of 500 Hz and 1 kHz, air included) equals the requested RT60.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pyroomacoustics as pra
import scipy.sparse

from foabench.synth.foa import direction_of, encode_vectors
from foabench.synth.sphere import design_directions

SPEED_OF_SOUND = 343.0
FRACTIONAL_DELAY_HALF_TAPS = 32
CROSSFADE_S = 0.005
FADE_OUT_S = 0.01
MIN_SOURCE_DISTANCE = 0.3
_LOG10_1E6 = 6.0 * math.log(10.0)  # 13.82: energy decay exponent over one RT60

# Spectral shapes of wall absorption per octave band (125 Hz ... 16 kHz), relative to the mid bands.
ABSORPTION_PROFILES: dict[str, tuple[float, ...]] = {
    "flat": (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0),
    "hf-absorbing": (0.55, 0.7, 0.85, 1.0, 1.15, 1.3, 1.4, 1.4),
    "lf-absorbing": (1.5, 1.3, 1.1, 1.0, 0.9, 0.85, 0.85, 0.85),
}
MAX_ABSORPTION = 0.95
MIN_ABSORPTION = 0.005


class RoomError(ValueError):
    """Room parameters that cannot be simulated (named in the message)."""


@dataclass
class RoomParams:
    """Everything that determines one simulated RIR (together with its seed)."""

    room_dim: list[float]
    rt60: float
    profile: str
    source_position: list[float]
    mic_position: list[float]
    sample_rate: int = 32000
    ism_order: int = 12
    max_length_s: float = 2.0
    air_absorption: bool = True
    extra: dict = field(default_factory=dict)

    def validate(self) -> None:
        """Raise :class:`RoomError` naming the first parameter that is out of range."""
        dim = np.asarray(self.room_dim, dtype=np.float64)
        if dim.shape != (3,) or not np.all(np.isfinite(dim)) or np.any(dim <= 0):
            raise RoomError(f"room_dim must be three positive lengths in metres, got {self.room_dim}")
        for name in ("source_position", "mic_position"):
            pos = np.asarray(getattr(self, name), dtype=np.float64)
            if pos.shape != (3,) or not np.all(np.isfinite(pos)):
                raise RoomError(f"{name} must be three finite coordinates, got {getattr(self, name)}")
            if np.any(pos <= 0) or np.any(pos >= dim):
                raise RoomError(f"{name} {list(pos)} lies outside the room {list(dim)}")
        d = float(np.linalg.norm(np.subtract(self.source_position, self.mic_position)))
        if d < MIN_SOURCE_DISTANCE:
            raise RoomError(f"source is {d:.3f} m from the microphone; at least {MIN_SOURCE_DISTANCE} m needed")
        if not (math.isfinite(self.rt60) and 0.05 <= self.rt60 <= 10.0):
            raise RoomError(f"rt60 must be within [0.05, 10] s, got {self.rt60}")
        if self.profile not in ABSORPTION_PROFILES:
            raise RoomError(f"unknown absorption profile {self.profile!r}; known: {sorted(ABSORPTION_PROFILES)}")
        if not (8000 <= self.sample_rate <= 192000):
            raise RoomError(f"sample_rate must be within [8000, 192000] Hz, got {self.sample_rate}")
        if not (1 <= self.ism_order <= 40):
            raise RoomError(f"ism_order must be within [1, 40], got {self.ism_order}")
        if not (0.1 <= self.max_length_s <= 10.0):
            raise RoomError(f"max_length_s must be within [0.1, 10] s, got {self.max_length_s}")


@dataclass
class SimulatedRir:
    """A simulated AmbiX RIR ``(frames, 4)`` float32 and what describes it."""

    foa: np.ndarray
    sample_rate: int
    band_centres_hz: list[float]
    absorption: list[float]
    rt60_bands_theory: list[float]
    azimuth: float
    elevation: float
    distance: float
    transition_s: float
    num_images: int


def _room_geometry(dim: np.ndarray) -> tuple[float, float]:
    volume = float(np.prod(dim))
    surface = 2.0 * float(dim[0] * dim[1] + dim[0] * dim[2] + dim[1] * dim[2])
    return volume, surface


MIXING_TIME_FACTOR = 1.0


def mixing_time(volume: float, surface: float) -> float:
    """Where the response is treated as diffuse: ``MIXING_TIME_FACTOR`` times the perceptual mixing time
    ``20 V / S + 12`` ms (Lindau et al. 2012), in seconds."""
    return MIXING_TIME_FACTOR * (0.020 * volume / surface + 0.012)


def eyring_rt60(volume: float, surface: float, alpha: np.ndarray, air: np.ndarray, c: float = SPEED_OF_SOUND):
    """Eyring reverberation time per band with air absorption: ``24 ln10 V / c / (-S ln(1-a) + 4 m V)``."""
    alpha = np.asarray(alpha, dtype=np.float64)
    return 24.0 * math.log(10.0) * volume / c / (-surface * np.log1p(-alpha) + 4.0 * np.asarray(air) * volume)


def _band_setup(sample_rate: int, air_absorption: bool) -> tuple[np.ndarray, np.ndarray]:
    centres = np.asarray(pra.acoustics.OctaveBandsFactory(fs=sample_rate, base_frequency=125).centers, dtype=float)
    if air_absorption:
        air = pra.parameters.Physics().get_air_absorption()
        air_coeffs = np.interp(np.log2(centres), np.log2(air["center_freqs"]), air["coeffs"])
        # beyond the tabulated 8 kHz band, extrapolate in proportion to f^2 (classical absorption)
        air_coeffs = np.where(centres > 8000, air["coeffs"][-1] * (centres / 8000.0) ** 2, air_coeffs)
    else:
        air_coeffs = np.zeros(len(centres))
    return centres, air_coeffs


def solve_absorption(params: RoomParams) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-band absorption whose Eyring mid-frequency RT60 (air included) equals ``params.rt60``.

    Returns band centres, absorption, air coefficients and the per-band Eyring RT60."""
    dim = np.asarray(params.room_dim, dtype=np.float64)
    volume, surface = _room_geometry(dim)
    centres, air = _band_setup(params.sample_rate, params.air_absorption)
    shape = np.asarray(ABSORPTION_PROFILES[params.profile][: len(centres)], dtype=np.float64)
    if len(shape) < len(centres):
        shape = np.concatenate([shape, np.full(len(centres) - len(shape), shape[-1])])
    mid = [int(np.argmin(np.abs(centres - f))) for f in (500.0, 1000.0)]

    def t_mid(scale: float) -> float:
        alpha = np.clip(scale * shape, MIN_ABSORPTION, MAX_ABSORPTION)
        return float(np.mean(eyring_rt60(volume, surface, alpha, air)[mid]))

    lo, hi = MIN_ABSORPTION / shape.min(), MAX_ABSORPTION / shape.max()
    if t_mid(lo) < params.rt60 or t_mid(hi) > params.rt60:
        raise RoomError(
            f"rt60 {params.rt60:.2f} s is not reachable in a {dim[0]:.2f} x {dim[1]:.2f} x {dim[2]:.2f} m room "
            f"with profile {params.profile!r} (reachable: {t_mid(hi):.2f}-{t_mid(lo):.2f} s)"
        )
    for _ in range(80):  # bisection: t_mid decreases with the scale
        m = 0.5 * (lo + hi)
        lo, hi = (m, hi) if t_mid(m) > params.rt60 else (lo, m)
    alpha = np.clip(0.5 * (lo + hi) * shape, MIN_ABSORPTION, MAX_ABSORPTION)
    return centres, alpha, air, eyring_rt60(volume, surface, alpha, air)


def band_filters(centres: np.ndarray, nfft: int, sample_rate: int) -> np.ndarray:
    """Zero-phase octave band responses ``(bands, nfft // 2 + 1)`` that sum to 1 at every frequency."""
    f = np.fft.rfftfreq(nfft, 1.0 / sample_rate)
    logf = np.log2(np.maximum(f, 1e-9))
    logc = np.log2(centres)
    resp = np.zeros((len(centres), len(f)))
    for b in range(len(centres)):
        # the lowest band rises from c0/4 to c0/2: no DC or sub-audio content (a shoebox's image sources, all
        # positive, would otherwise pile up a large low-frequency offset that no diffuse tail continues)
        lower = np.clip(
            (logf - logc[b] + (2.0 if b == 0 else logc[b] - logc[b - 1])) / (1.0 if b == 0 else logc[b] - logc[b - 1]),
            0,
            1,
        )
        upper = (
            np.ones_like(f) if b == len(centres) - 1 else np.clip((logc[b + 1] - logf) / (logc[b + 1] - logc[b]), 0, 1)
        )
        rise = np.sin(0.5 * np.pi * lower) ** 2
        fall = np.sin(0.5 * np.pi * upper) ** 2 if b < len(centres) - 1 else upper
        resp[b] = np.where(f <= (centres[b] / 2.0 if b == 0 else centres[b]), rise, fall)
    return resp


def _fractional_delay_matrix(delays: np.ndarray, length: int) -> scipy.sparse.csr_matrix:
    """Sparse ``(length, n)`` matrix whose column i is a windowed-sinc impulse at ``delays[i]`` samples."""
    w = FRACTIONAL_DELAY_HALF_TAPS
    base = np.floor(delays).astype(np.int64)
    frac = delays - base
    taps = np.arange(-w + 1, w + 1)
    rows = base[:, None] + taps[None, :]
    x = taps[None, :] - frac[:, None]
    kernel = np.sinc(x) * (0.5 + 0.5 * np.cos(np.pi * x / w))
    cols = np.broadcast_to(np.arange(len(delays))[:, None], rows.shape)
    keep = (rows >= 0) & (rows < length)
    return scipy.sparse.csr_matrix((kernel[keep], (rows[keep], cols[keep])), shape=(length, len(delays)))


def _split_bands(band_signals: np.ndarray, filters: np.ndarray, pad: int) -> np.ndarray:
    """Zero-phase filter each of ``band_signals`` ``(bands, frames, ch)`` by its band; ``pad`` leading zeros
    absorb the filters' pre-ringing and are removed again."""
    bands, frames, ch = band_signals.shape
    nfft = 2 * (filters.shape[1] - 1)
    buf = np.zeros((bands, nfft, ch))
    buf[:, pad : pad + frames] = band_signals
    spec = np.fft.rfft(buf, axis=1) * filters[:, :, None]
    return np.fft.irfft(spec, n=nfft, axis=1)[:, pad : pad + frames]


def _white_noise_band_power(filters: np.ndarray) -> np.ndarray:
    """Per-sample power of unit white noise after each zero-phase band filter (two-sided Parseval)."""
    weights = np.full(filters.shape[1], 2.0)
    weights[0] = weights[-1] = 1.0
    return (filters**2 * weights).sum(axis=1) / (2 * (filters.shape[1] - 1))


def shoebox(params: RoomParams, absorption: np.ndarray, air_absorption: bool = False) -> pra.ShoeBox:
    """The pyroomacoustics room of ``params`` with the given per-octave absorption and its one source."""
    material = pra.Material(
        energy_absorption={"coeffs": list(absorption), "center_freqs": [125 * 2**i for i in range(len(absorption))]}
    )
    room = pra.ShoeBox(
        params.room_dim,
        fs=params.sample_rate,
        materials=material,
        max_order=params.ism_order,
        air_absorption=air_absorption,
    )
    room.add_source(list(params.source_position))
    return room


def image_sources(params: RoomParams, absorption: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Image source positions ``(3, n)``, band damping ``(bands, n)`` and reflection orders ``(n,)``."""
    room = shoebox(params, absorption)  # air absorption is applied per image here, not by pyroomacoustics
    room.add_microphone(np.asarray(params.mic_position, dtype=np.float64))
    room.image_source_model()
    src = room.sources[0]
    return np.asarray(src.images), np.asarray(src.damping), np.asarray(src.orders)


def simulate_rir(params: RoomParams, seed: int) -> SimulatedRir:
    """Simulate the AmbiX RIR of ``params``; the same params and seed give the same samples."""
    params.validate()
    fs = params.sample_rate
    rng = np.random.default_rng(seed)
    dim = np.asarray(params.room_dim, dtype=np.float64)
    mic = np.asarray(params.mic_position, dtype=np.float64)
    centres, alpha, air, t60 = solve_absorption(params)

    images, damping, orders = image_sources(params, alpha)
    vec = images - mic[:, None]
    dist = np.linalg.norm(vec, axis=0)
    arrival = dist / SPEED_OF_SOUND
    direct_t = float(arrival[orders == 0][0])
    highest = orders == orders.max()
    volume, surface = _room_geometry(dim)
    t_x = max(min(float(arrival[highest].min()), mixing_time(volume, surface)), direct_t + 0.002 + 2 * CROSSFADE_S)

    length = math.ceil(min(params.max_length_s, t_x + 1.1 * float(np.max(t60))) * fs)
    length = max(length, math.ceil((t_x + 2 * CROSSFADE_S) * fs) + 1)
    early = arrival < t_x + CROSSFADE_S
    amp = damping[:, early] / dist[early] * np.exp(-0.5 * air[:, None] * dist[early])  # (bands, n)
    gains = encode_vectors(vec[:, early].T)  # (n, 4)
    early_len = math.ceil((t_x + CROSSFADE_S) * fs) + FRACTIONAL_DELAY_HALF_TAPS + 1
    delay_matrix = _fractional_delay_matrix(arrival[early] * fs, early_len)
    weights = (amp[:, :, None] * gains[None, :, :]).transpose(1, 0, 2).reshape(amp.shape[1], -1)
    early_bands = np.asarray(delay_matrix @ weights).reshape(early_len, len(centres), 4).transpose(1, 0, 2)

    pad = 2048
    nfft_early = 1 << math.ceil(math.log2(early_len + 2 * pad))
    early_split = _split_bands(early_bands, band_filters(centres, nfft_early, fs), pad)  # (bands, frames, 4)
    early_ir = early_split.sum(axis=0)

    # Tail level per band ("1 at 1 m" units, energy per sample at t = 0 of the white-noise-equivalent field):
    # the image-source energy measured on W just before the cross-fade, corrected for its decay at the band's
    # RT60 (so the tail continues the early part); the statistical 4 pi c / (V fs) when that window is empty.
    t = np.arange(length) / fs
    decay = np.exp(-_LOG10_1E6 * t[None, :] / t60[:, None])  # (bands, frames)
    levels = np.full(len(centres), 4.0 * math.pi * SPEED_OF_SOUND / (volume * fs))
    lo = max(int((direct_t + 0.005) * fs), int(0.5 * t_x * fs))
    hi = int((t_x - CROSSFADE_S) * fs)
    if hi > lo + 16:
        band_power = _white_noise_band_power(band_filters(centres, nfft_early, fs))
        levels = np.mean(early_split[:, lo:hi, 0] ** 2 / decay[:, lo:hi], axis=1) / band_power

    # Diffuse tail: 32 plane waves of independent noise, band-filtered, each band decaying at its Eyring RT60.
    directions = design_directions(rng)
    noise = rng.standard_normal((length, len(directions))) @ encode_vectors(directions) / math.sqrt(len(directions))
    nfft_tail = 1 << math.ceil(math.log2(length + pad))
    tail_spec = np.fft.rfft(np.vstack([noise, np.zeros((nfft_tail - length, 4))]), axis=0)
    tail_filters = band_filters(centres, nfft_tail, fs)
    tail = np.zeros((length, 4))
    for b in range(len(centres)):
        band_noise = np.fft.irfft(tail_spec * tail_filters[b][:, None], n=nfft_tail, axis=0)[:length]
        tail += band_noise * np.sqrt(levels[b] * decay[b])[:, None]

    # Cross-fade image sources into the tail around t_x (power-complementary), fade out the end.
    ramp = np.clip((t - (t_x - CROSSFADE_S)) / (2 * CROSSFADE_S), 0.0, 1.0) * (np.pi / 2)
    rir = tail * np.sin(ramp)[:, None]
    n_early = min(early_ir.shape[0], length)
    rir[:n_early] += early_ir[:n_early] * np.cos(ramp[:n_early])[:, None]
    fade = int(FADE_OUT_S * fs)
    rir[-fade:] *= np.linspace(1.0, 0.0, fade)[:, None]

    az, el, r = direction_of(np.subtract(params.source_position, params.mic_position))
    return SimulatedRir(
        foa=rir.astype(np.float32),
        sample_rate=fs,
        band_centres_hz=[float(c) for c in centres],
        absorption=[round(float(a), 6) for a in alpha],
        rt60_bands_theory=[round(float(x), 4) for x in t60],
        azimuth=float(az),
        elevation=float(el),
        distance=float(r),
        transition_s=t_x,
        num_images=int(early.sum()),
    )
