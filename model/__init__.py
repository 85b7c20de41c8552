"""foabench.model: the BSAST separator and the AudioSep-style ResUNet baseline.

``PRESETS``/``get_config`` are BSAST's; the ResUNet's are in :mod:`foabench.model.resunet_config`.
"""

from foabench.model.bands import DEFAULT_BAND_EDGES_HZ, band_bins, quarter_octave_edges_hz
from foabench.model.bsast import BSAST
from foabench.model.bsast_config import PRESETS, BSASTConfig, get_config
from foabench.model.loss import bsast_loss, level_l1, si_sdr
from foabench.model.resunet import ResUNet
from foabench.model.resunet_config import ResUNetConfig

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
