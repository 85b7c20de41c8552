"""foabench.model: the BSAST separator and the AudioSep-style ResUNet baseline.

``PRESETS``/``get_config`` are BSAST's; the ResUNet's are in :mod:`model.resunet_config`.
"""

from model.bands import DEFAULT_BAND_EDGES_HZ, band_bins, quarter_octave_edges_hz
from model.bsast import BSAST
from model.bsast_config import PRESETS, BSASTConfig, get_config
from model.loss import bsast_loss, level_l1, si_sdr
from model.resunet import ResUNet
from model.resunet_config import ResUNetConfig

__all__ = [
    "BSAST",
    "DEFAULT_BAND_EDGES_HZ",
    "PRESETS",
    "BSASTConfig",
    "ResUNet",
    "ResUNetConfig",
    "band_bins",
    "bsast_loss",
    "get_config",
    "level_l1",
    "quarter_octave_edges_hz",
    "si_sdr",
]
