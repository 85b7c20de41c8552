"""foabench.model: the BSAST separator."""

from model.bands import DEFAULT_BAND_EDGES_HZ, band_bins, quarter_octave_edges_hz
from model.bsast import BSAST
from model.bsast_config import PRESETS, BSASTConfig, get_config
from model.loss import bsast_loss, level_l1, si_sdr

__all__ = [
    "BSAST",
    "DEFAULT_BAND_EDGES_HZ",
    "PRESETS",
    "BSASTConfig",
    "band_bins",
    "bsast_loss",
    "get_config",
    "level_l1",
    "quarter_octave_edges_hz",
    "si_sdr",
]
