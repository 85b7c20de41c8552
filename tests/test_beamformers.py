"""FOA beamformers, oracle bounds and DOA candidates on closed-form plane-wave scenes (AmbiX, ACN/SN3D)."""

import math
import warnings

import numpy as np
import pytest
import scipy.signal
import scipy.special
import torch

from foabench.baselines.beams import (
    PATTERNS,
    beam_weights,
    directivity_index,
    fixed_beam,
    pattern_gain,
    steering_vector,
)
from foabench.baselines.doa import candidate_directions, fibonacci_grid
from foabench.baselines.mpdr import diffuse_covariance, mpdr_beam, mvdr_weights, superdirective_weights
from foabench.baselines.oracle_masks import ideal_ratio_mask, multichannel_wiener
from foabench.baselines.spectral import istft, stft
from foabench.model.loss import si_sdr
from foabench.synth.foa import angular_distance, direction_of, encode_direction, encode_vectors, unit_vector
from foabench.synth.sphere import design_directions

SR = 16000
LENGTH = 3 * SR
DIRECTIONS = [(0.0, 0.0), (180.0, 0.0), (37.0, 89.9), (-120.0, -89.9), (90.0, 90.0), (-45.0, -90.0), (-170.0, 25.0)]


def plane_wave(signal: np.ndarray, az: float, el: float) -> np.ndarray:
    """AmbiX image ``(4, L)`` of a plane wave carrying ``signal`` from ``(az, el)``."""
    return encode_direction(az, el)[:, None] * signal[None, :]


def diffuse(rng: np.random.Generator, length: int, power: float) -> np.ndarray:
    """Diffuse field of W power ``power``: independent noise from the 32 directions of a rotated 5-design."""
    dirs = design_directions(rng)
    return np.sqrt(power / dirs.shape[0]) * (encode_vectors(dirs).T @ rng.standard_normal((dirs.shape[0], length)))


def sdr(est: np.ndarray, ref: np.ndarray) -> float:
    """SI-SDR in dB through :func:`foabench.model.loss.si_sdr` (float64)."""
    return float(si_sdr(torch.from_numpy(np.asarray(est, np.float64)), torch.from_numpy(np.asarray(ref, np.float64))))


def at_angle(az: float, el: float, angle_deg: float, rng: np.random.Generator) -> tuple[float, float]:
    """A direction ``angle_deg`` away from ``(az, el)`` (random azimuth around it)."""
    d = unit_vector(az, el)
    p = np.cross(d, rng.standard_normal(3))
    p /= np.linalg.norm(p)
    u = math.cos(math.radians(angle_deg)) * d + math.sin(math.radians(angle_deg)) * p
    a, e, _ = direction_of(u)
    return float(a), float(e)


def harmonic(rng: np.random.Generator, f0: float, rate: float, length: int = LENGTH) -> np.ndarray:
    """Speech-like source: a harmonic complex (1/k amplitudes, random phases) gated on and off at ``rate`` Hz."""
    t = np.arange(length) / SR
    s = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 2 * np.pi)) / k for k in range(1, int(5000 / f0)))
    gate = np.sin(2 * np.pi * rate * t + rng.uniform(0, 2 * np.pi)) > -0.3
    return s * gate / np.std(s * gate)


@pytest.fixture(scope="module")
def scene() -> dict:
    """Two independent unit-power noise sources 120 degrees apart plus a diffuse field 30 dB below."""
    rng = np.random.default_rng(11)
    s, i = rng.standard_normal((2, LENGTH))
    target_dir, interf_dir = (30.0, 10.0), (-90.0, -5.0)
    target_img, interf_img = plane_wave(s, *target_dir), plane_wave(i, *interf_dir)
    noise = diffuse(rng, LENGTH, 2e-3)
    mix = target_img + interf_img + noise
    return dict(s=s, i=i, dir=target_dir, idir=interf_dir, target_img=target_img, interf_img=interf_img, mix=mix)


# -- STFT pair ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n_fft,hop", [(1024, 256), (512, 128), (1000, 300), (64, 32)])
@pytest.mark.parametrize("length", [1, 100, 1023, 1024, 4097])
def test_stft_perfect_reconstruction(n_fft: int, hop: int, length: int) -> None:
    x = np.random.default_rng(length).standard_normal((2, length))
    spec = stft(x, n_fft, hop)
    assert spec.shape == (2, n_fft // 2 + 1, length // hop + 1)
    np.testing.assert_allclose(istft(spec, length, n_fft, hop), x, atol=1e-12)


# -- fixed beams --------------------------------------------------------------------------------------------


def test_steering_vector_is_ambix_plane_wave() -> None:
    for az, el in DIRECTIONS:
        a, e = math.radians(az), math.radians(el)
        expected = [1.0, math.sin(a) * math.cos(e), math.sin(e), math.cos(a) * math.cos(e)]
        np.testing.assert_allclose(steering_vector(az, el), expected, atol=1e-15)


@pytest.mark.parametrize("pattern", sorted(PATTERNS))
def test_fixed_beam_unit_gain_on_axis(pattern: str) -> None:
    s = np.random.default_rng(0).standard_normal(4000)
    for az, el in DIRECTIONS:
        assert beam_weights(pattern, az, el) @ steering_vector(az, el) == pytest.approx(1.0, abs=1e-12)
        y = fixed_beam(plane_wave(s, az, el), az, el, pattern)
        assert y.dtype == np.float32 and y.shape == s.shape
        np.testing.assert_allclose(y, s, atol=1e-5 * np.max(np.abs(s)))


@pytest.mark.parametrize("pattern", sorted(PATTERNS))
def test_fixed_beam_gain_matches_closed_form(pattern: str) -> None:
    rng = np.random.default_rng(1)
    s = rng.standard_normal(2000)
    for az, el in DIRECTIONS:
        for angle in (0.0, 30.0, 60.0, 90.0, 109.47, 125.26, 150.0, 180.0):
            y = fixed_beam(plane_wave(s, *at_angle(az, el, angle, rng)), az, el, pattern).astype(np.float64)
            gain = (y @ s) / (s @ s)
            assert gain == pytest.approx(float(pattern_gain(pattern, angle)), abs=2e-6)


def test_pattern_nulls_and_rear_rejection() -> None:
    rng = np.random.default_rng(2)
    s = rng.standard_normal(2000)

    def measured(pattern: str, angle: float) -> float:
        y = fixed_beam(plane_wave(s, *at_angle(20.0, 30.0, angle, rng)), 20.0, 30.0, pattern).astype(np.float64)
        return float((y @ s) / (s @ s))

    hyper_null = math.degrees(math.acos(-1.0 / 3.0))
    assert hyper_null == pytest.approx(109.47, abs=0.01)
    assert abs(measured("hypercardioid", hyper_null)) < 1e-6
    assert abs(measured("cardioid", 180.0)) < 1e-6
    a_re = 1.0 / (1.0 + math.sqrt(3.0))
    assert measured("max_re", 90.0) == pytest.approx(a_re, abs=1e-6)
    assert abs(measured("max_re", math.degrees(math.acos(-1.0 / math.sqrt(3.0))))) < 1e-6
    # rear (180 degree) gains: 0, -1/2 (-6.0 dB, inverted) and (1 - sqrt 3) / (1 + sqrt 3) (-11.4 dB, inverted)
    assert measured("hypercardioid", 180.0) == pytest.approx(-0.5, abs=1e-6)
    assert measured("max_re", 180.0) == pytest.approx((1 - math.sqrt(3)) / (1 + math.sqrt(3)), abs=1e-6)
    assert 20 * math.log10(abs(pattern_gain("max_re", 180.0))) == pytest.approx(-11.44, abs=0.01)


def test_pattern_coefficients_and_directivity() -> None:
    for a, b in PATTERNS.values():
        assert a + b == pytest.approx(1.0, abs=1e-15)
    # max-rE at order 1: g1 = largest root of P2 = 1/sqrt(3); the N3D sampling beam weights order 1 by 3 g1
    a, b = PATTERNS["max_re"]
    g1 = 1.0 / math.sqrt(3.0)
    assert scipy.special.eval_legendre(2, g1) == pytest.approx(0.0, abs=1e-15)
    assert b / a == pytest.approx(3.0 * g1, abs=1e-12)
    assert math.cos(math.radians(137.9 / (1 + 1.51))) == pytest.approx(g1, abs=3e-3)  # Zotter-Frank approx.
    assert directivity_index("cardioid") == pytest.approx(10 * math.log10(3.0), abs=1e-12)
    assert directivity_index("hypercardioid") == pytest.approx(10 * math.log10(4.0), abs=1e-12)
    assert directivity_index("max_re") == pytest.approx(10 * math.log10((1 + math.sqrt(3)) ** 2 / 2), abs=1e-12)
    # hypercardioid is the maximum over a + b = 1, and the closed form matches a numerical sphere average
    grid = np.linspace(0.0, 1.0, 1001)
    assert max(directivity_index((x, 1 - x)) for x in grid) == pytest.approx(directivity_index("hypercardioid"))
    cos_g = fibonacci_grid(20000) @ unit_vector(40.0, -10.0)
    for name in PATTERNS:
        diffuse_power = np.mean(pattern_gain(name, np.degrees(np.arccos(np.clip(cos_g, -1, 1)))) ** 2)
        assert -10 * math.log10(diffuse_power) == pytest.approx(directivity_index(name), abs=2e-3)


# -- MPDR / MVDR --------------------------------------------------------------------------------------------


def test_mvdr_with_diffuse_covariance_is_hypercardioid() -> None:
    for az, el in DIRECTIONS:
        np.testing.assert_allclose(superdirective_weights(az, el), beam_weights("hypercardioid", az, el), atol=1e-14)
    # and a diffuse field really has that covariance (5-design directions, exact)
    g = encode_vectors(design_directions(np.random.default_rng(3)))
    np.testing.assert_allclose(g.T @ g / g.shape[0], diffuse_covariance(), atol=1e-14)


def test_mvdr_weights_distortionless_for_any_covariance() -> None:
    rng = np.random.default_rng(4)
    a = rng.standard_normal((5, 4, 4)) + 1j * rng.standard_normal((5, 4, 4))
    cov = a @ np.conj(np.swapaxes(a, -1, -2))
    v = steering_vector(-60.0, 20.0)
    w = mvdr_weights(cov, v, loading=1e-3)
    np.testing.assert_allclose(np.conj(w) @ v, np.ones(5), atol=1e-12)


@pytest.mark.parametrize("block_frames", [None, 40])
def test_mpdr_passes_lone_plane_wave(block_frames: int | None) -> None:
    s = np.random.default_rng(5).standard_normal(LENGTH)
    for az, el in [(0.0, 0.0), (180.0, 0.0), (70.0, 89.0), (-100.0, -45.0)]:
        y = mpdr_beam(plane_wave(s, az, el), az, el, block_frames=block_frames)
        assert y.dtype == np.float32 and y.shape == s.shape
        np.testing.assert_allclose(y, s, atol=1e-5 * np.max(np.abs(s)))


@pytest.mark.parametrize("block_frames,min_db", [(None, 20.0), (125, 15.0)])
def test_mpdr_nulls_interferer(block_frames: int | None, min_db: float) -> None:
    """MPDR null depth is limited by the finite-sample correlation of target and interferer (about
    10 log10(frames) dB: 24 dB over 6 s here, 20 dB in blocks of 2 s); MVDR on the true noise has no such limit."""
    rng = np.random.default_rng(12)
    s, i = rng.standard_normal((2, 6 * SR))
    interferer = plane_wave(i, -90.0, -5.0)
    mix = plane_wave(s, 30.0, 10.0) + interferer  # anechoic two-source mixture
    y = mpdr_beam(mix, 30.0, 10.0, block_frames=block_frames).astype(np.float64)
    residual = y - s  # distortionless: the target passes exactly, the rest is interference
    rejection = 10 * np.log10(np.sum(i**2) / np.sum(residual**2))
    assert rejection > min_db, rejection
    oracle = mpdr_beam(mix, 30.0, 10.0, noise=interferer, block_frames=block_frames).astype(np.float64)
    rejection = 10 * np.log10(np.sum(i**2) / np.sum((oracle - s) ** 2))
    assert rejection > 40.0, rejection


def test_every_beamformer_improves_si_sdr(scene: dict) -> None:
    s, mix, (az, el) = scene["s"], scene["mix"], scene["dir"]
    base = sdr(mix[0], s)
    estimates = {name: fixed_beam(mix, az, el, name) for name in PATTERNS}
    estimates["mpdr"] = mpdr_beam(mix, az, el)
    estimates["mpdr_blocks"] = mpdr_beam(mix, az, el, block_frames=50)
    estimates["mvdr_oracle_noise"] = mpdr_beam(mix, az, el, noise=mix - scene["target_img"])
    scores = {name: sdr(y, s) for name, y in estimates.items()}
    assert abs(base) < 1.0  # equal-power sources: the W channel is at ~0 dB
    for name, score in scores.items():
        assert score > base + 10.0, (name, score, base)
    # closed-form expectation for the fixed beams: interferer gain a + b cos(120 deg) (+ a little diffuse noise)
    for name in PATTERNS:
        expected = -20 * math.log10(abs(float(pattern_gain(name, 120.0))))
        assert scores[name] == pytest.approx(expected, abs=1.5), (name, scores[name], expected)
    assert scores["mpdr"] > 15.0 and scores["mvdr_oracle_noise"] > 25.0


# -- oracle bounds -------------------------------------------------------------------------------------------


def test_ideal_ratio_mask_separates_disjoint_spectra() -> None:
    rng = np.random.default_rng(6)
    low = scipy.signal.sosfiltfilt(
        scipy.signal.butter(10, 1500, "low", fs=SR, output="sos"), rng.standard_normal(LENGTH)
    )
    high = scipy.signal.sosfiltfilt(
        scipy.signal.butter(10, 3000, "high", fs=SR, output="sos"), rng.standard_normal(LENGTH)
    )
    low, high = low / np.std(low), high / np.std(high)
    w = low + high
    base = sdr(w, low)
    y = ideal_ratio_mask(w, low)
    assert y.dtype == np.float32 and y.shape == w.shape
    assert base == pytest.approx(0.0, abs=0.5)
    assert sdr(y, low) > 25.0
    assert sdr(ideal_ratio_mask(w, low, exponent=1.0), low) > 25.0
    # overlapping spectra (harmonic target in white noise): still far better than the mixture
    tone = harmonic(rng, 220.0, 3.0)
    noisy = tone + rng.standard_normal(LENGTH)
    assert sdr(ideal_ratio_mask(noisy, tone), tone) > sdr(noisy, tone) + 10.0


def test_multichannel_wiener_recovers_target(scene: dict) -> None:
    s = scene["s"]
    anechoic = scene["target_img"] + scene["interf_img"]
    assert sdr(multichannel_wiener(anechoic, s), s) > 40.0
    assert sdr(multichannel_wiener(anechoic, s, block_frames=50), s) > 30.0
    noisy = sdr(multichannel_wiener(scene["mix"], s), s)
    assert noisy > 20.0 and noisy > sdr(scene["mix"][0], s) + 20.0


# -- DOA candidates ------------------------------------------------------------------------------------------


def test_candidate_directions_find_two_speechlike_sources() -> None:
    rng = np.random.default_rng(7)
    dirs = [(40.0, 15.0), (-75.0, -20.0)]
    foa = plane_wave(harmonic(rng, 180.0, 3.0), *dirs[0]) + plane_wave(harmonic(rng, 290.0, 2.2), *dirs[1])
    foa += diffuse(rng, LENGTH, 0.01)  # 23 dB below the sources
    cands = candidate_directions(foa, SR)
    assert 2 <= len(cands) <= 6
    assert all(-180.0 < az <= 180.0 and -90.0 <= el <= 90.0 and 0.0 <= w <= 1.0 for az, el, w in cands)
    assert [w for _, _, w in cands] == sorted((w for _, _, w in cands), reverse=True)
    for d in dirs:
        assert min(angular_distance(az, el, *d) for az, el, _ in cands[:2]) < 2.0
    assert cands[0][2] + cands[1][2] > 0.8


def test_candidate_directions_find_two_noise_sources(scene: dict) -> None:
    cands = candidate_directions(scene["mix"], SR)
    for d in (scene["dir"], scene["idir"]):
        assert min(angular_distance(az, el, *d) for az, el, _ in cands[:2]) < 5.0


def test_candidate_directions_single_source_and_degenerate() -> None:
    s = np.random.default_rng(8).standard_normal(SR)
    az, el, w = candidate_directions(plane_wave(s, 120.0, -60.0), SR)[0]
    assert angular_distance(az, el, 120.0, -60.0) < 0.5 and w > 0.9
    omni = np.zeros((4, SR))
    omni[0] = s  # no directional information at all
    assert candidate_directions(omni, SR) == [(0.0, 0.0, 0.0)]
    assert candidate_directions(np.zeros((4, SR)), SR) == []


# -- silence ---------------------------------------------------------------------------------------------------


def test_silent_input_gives_zeros_without_warnings() -> None:
    silent = np.zeros((4, 5000), dtype=np.float32)
    loud = np.random.default_rng(9).standard_normal((4, 5000))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        outputs = [fixed_beam(silent, 10.0, 0.0, name) for name in PATTERNS]
        outputs += [
            mpdr_beam(silent, 10.0, 0.0),
            mpdr_beam(silent, 10.0, 0.0, block_frames=4),
            mpdr_beam(silent, 10.0, 0.0, noise=silent),
            ideal_ratio_mask(silent[0], silent[0]),
            multichannel_wiener(silent, silent[0]),
            multichannel_wiener(loud, silent[0]),  # silent target
            ideal_ratio_mask(loud[0], silent[0]),
        ]
        for y in outputs:
            assert y.shape == (5000,) and y.dtype == np.float32 and not np.any(y)
        assert candidate_directions(silent, SR) == []
        # silent noise reference or silent stretches: finite output
        partly = loud.copy()
        partly[:, 2000:] = 0.0
        for y in (mpdr_beam(loud, 10.0, 0.0, noise=silent), mpdr_beam(partly, 10.0, 0.0, block_frames=4)):
            assert np.all(np.isfinite(y))
        assert np.all(np.isfinite(multichannel_wiener(partly, partly[0], block_frames=4)))
