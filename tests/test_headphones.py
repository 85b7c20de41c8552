"""The headphone preview: spaudiopy's SH and cardioid weights give the closed-form cardioid pair on plane waves."""

import numpy as np
import pytest

from foabench.synth.foa import encode_direction
from foabench.synth.headphones import DECODER, placed_preview, stereo_preview


def test_stereo_preview_is_a_cardioid_pair_at_plus_minus_90():
    rng = np.random.default_rng(0)
    az, el = rng.uniform(-180, 180, 200), np.degrees(np.arcsin(rng.uniform(-1, 1, 200)))
    foa = np.stack([encode_direction(a, e) for a, e in zip(az, el, strict=True)])  # (200, 4): one frame each
    lr = stereo_preview(foa)
    side = np.cos(np.radians(el)) * np.sin(np.radians(az))  # the direction's component towards the left ear
    np.testing.assert_allclose(lr[:, 0], (1 + side) / 2, atol=1e-6)
    np.testing.assert_allclose(lr[:, 1], (1 - side) / 2, atol=1e-6)
    assert "spaudiopy" in DECODER


def test_stereo_preview_refuses_other_shapes():
    with pytest.raises(ValueError, match=r"\(frames, 4\)"):
        stereo_preview(np.zeros((10, 2)))


@pytest.mark.parametrize("azimuth, elevation", [(90.0, 0.0), (-30.0, 0.0), (150.0, 40.0)])
def test_a_placed_estimate_is_heard_from_its_direction(azimuth, elevation):
    mono = np.random.default_rng(1).standard_normal(800)
    lr = placed_preview(mono, azimuth, elevation)
    side = np.sin(np.radians(azimuth)) * np.cos(np.radians(elevation))  # the plane wave's y component
    np.testing.assert_allclose(lr[:, 0], mono * (1 + side) / 2, atol=1e-5)
    np.testing.assert_allclose(lr[:, 1], mono * (1 - side) / 2, atol=1e-5)
