"""AmbiX conventions: closed-form plane waves, conversions from FuMa/N3D/orthonormal, direction helpers."""

import numpy as np
import pytest

from foabench.synth.audio_io import AudioError
from foabench.synth.foa import (
    CONVENTIONS,
    ConventionError,
    angular_distance,
    check_foa,
    convention_from_parts,
    direction_of,
    encode_direction,
    from_ambix,
    intensity_direction,
    normalize_convention,
    to_ambix,
    unit_vector,
)
from foabench.synth.sphere import design_directions

RNG = np.random.default_rng(7)
AZ = np.concatenate([RNG.uniform(-180, 180, 40), [180.0, 179.9, -179.9, 0.0, 90.0, -90.0]])
EL = np.concatenate([np.degrees(np.arcsin(RNG.uniform(-1, 1, 40))), [0.0, 89.9, -89.9, 90.0, -90.0, 45.0]])


def closed_form(convention: str, az: np.ndarray, el: np.ndarray) -> np.ndarray:
    """Plane-wave gains written out per convention (independently of foabench.synth.foa's conversion tables)."""
    a, e = np.radians(az), np.radians(el)
    x, y, z = np.cos(a) * np.cos(e), np.sin(a) * np.cos(e), np.sin(e)
    one = np.ones_like(x)
    if convention == "ambix":
        return np.stack([one, y, z, x], -1)
    if convention == "fuma":
        return np.stack([one / np.sqrt(2), x, y, z], -1)
    if convention == "n3d":
        return np.stack([one, np.sqrt(3) * y, np.sqrt(3) * z, np.sqrt(3) * x], -1)
    if convention == "orthonormal":
        return np.stack([one / np.sqrt(4 * np.pi)] + [np.sqrt(3 / (4 * np.pi)) * c for c in (y, z, x)], -1)
    raise AssertionError(convention)


def test_ambix_plane_wave_closed_form():
    g = encode_direction(AZ, EL)
    a, e = np.radians(AZ), np.radians(EL)
    np.testing.assert_allclose(g[:, 0], 1.0)
    np.testing.assert_allclose(g[:, 1], np.sin(a) * np.cos(e), atol=1e-12)
    np.testing.assert_allclose(g[:, 2], np.sin(e), atol=1e-12)
    np.testing.assert_allclose(g[:, 3], np.cos(a) * np.cos(e), atol=1e-12)


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_each_convention_maps_plane_wave_to_ambix(convention):
    converted = to_ambix(closed_form(convention, AZ, EL), convention)
    np.testing.assert_allclose(converted, closed_form("ambix", AZ, EL), atol=1e-12)
    np.testing.assert_allclose(from_ambix(converted, convention), closed_form(convention, AZ, EL), atol=1e-12)


def test_orthonormal_matches_spaudiopy_real_sh():
    """spaudiopy's real SH (an independent implementation) converted to AmbiX equals the closed form."""
    from foabench.synth.spaudiopy_compat import import_spaudiopy

    spaudiopy = import_spaudiopy()  # spaudiopy 0.2 calls the API that SciPy 1.17 removed: shimmed there
    sh = spaudiopy.sph.sh_matrix(1, np.radians(AZ), np.pi / 2 - np.radians(EL), "real")
    np.testing.assert_allclose(to_ambix(sh, "orthonormal"), encode_direction(AZ, EL), atol=1e-9)


def test_conversion_along_other_axes_and_int_input():
    sig = RNG.standard_normal((4, 100))
    np.testing.assert_allclose(to_ambix(sig, "n3d", channel_axis=0)[1], sig[1] / np.sqrt(3))
    with pytest.raises(ValueError, match="4 FOA channels"):
        to_ambix(np.zeros((10, 3)), "fuma")


@pytest.mark.parametrize(
    ("ordering", "norm", "expected"),
    [
        ("acn", "sn3d", "ambix"),
        ("ACN", "N3D", "n3d"),
        ("fuma", "fuma", "fuma"),
        ("", "fuma", "fuma"),
        ("acn", "orthonormal", "orthonormal"),
    ],
)
def test_convention_from_parts(ordering, norm, expected):
    assert convention_from_parts(ordering, norm) == expected


@pytest.mark.parametrize(
    ("ordering", "norm"), [(None, None), ("acn", ""), ("fuma", "n3d"), ("sid", "sn3d"), ("acn", "maxn3")]
)
def test_undeclared_or_ambiguous_convention_is_an_error(ordering, norm):
    with pytest.raises(ConventionError, match=r"file\.sofa"):
        convention_from_parts(ordering, norm, where="file.sofa")


def test_normalize_convention_refuses_unknown_and_missing():
    assert normalize_convention("SN3D") == "ambix"
    with pytest.raises(ConventionError, match="not declared"):
        normalize_convention(None, "x.wav")
    with pytest.raises(ConventionError, match="unknown"):
        normalize_convention("ambisonic", "x.wav")


def test_directions_round_trip_including_poles_and_back():
    az, el, r = direction_of(3.0 * unit_vector(AZ, EL))
    np.testing.assert_allclose(r, 3.0)
    np.testing.assert_allclose(el, EL, atol=1e-9)
    off_pole = np.abs(EL) < 89.0
    d = [angular_distance(a1, e1, a2, e2) for a1, e1, a2, e2 in zip(az, el, AZ, EL, strict=True)]
    assert max(d) < 1e-6
    assert np.all((az > -180) & (az <= 180))
    np.testing.assert_allclose(np.cos(np.radians(az[off_pole] - AZ[off_pole])), 1.0, atol=1e-9)
    with pytest.raises(ValueError):
        direction_of(np.zeros(3))


def test_pseudo_intensity_of_plane_wave_noise():
    for a, e in zip(AZ, EL, strict=True):
        s = RNG.standard_normal(256)
        foa = s[:, None] * encode_direction(a, e)[None, :]
        assert angular_distance(*intensity_direction(foa), a, e) < 1e-6


def test_check_foa_errors_name_the_input():
    with pytest.raises(AudioError, match=r"rir\.wav.*4 first-order"):
        check_foa(np.zeros((10, 3)), "rir.wav")
    with pytest.raises(AudioError, match=r"rir\.wav.*NaN"):
        check_foa(np.full((10, 4), np.nan), "rir.wav")
    with pytest.raises(AudioError, match="all samples are zero"):
        check_foa(np.zeros((10, 4)), "rir.wav")
    with pytest.raises(AudioError, match="no samples"):
        check_foa(np.zeros((0, 4)), "rir.wav")


def test_design_directions_is_a_rotated_spherical_design():
    for rng in (None, np.random.default_rng(1), np.random.default_rng(2)):
        d = design_directions(rng)
        assert d.shape == (32, 3)
        np.testing.assert_allclose(np.linalg.norm(d, axis=1), 1.0)
        np.testing.assert_allclose(d.sum(axis=0), 0.0, atol=1e-12)
        np.testing.assert_allclose(d.T @ d, np.eye(3) * 32 / 3, atol=1e-12)
    assert not np.allclose(design_directions(np.random.default_rng(1)), design_directions(np.random.default_rng(2)))
