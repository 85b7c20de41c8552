"""``foabench bank rooms`` (simulated FOA RIRs) and the measured-RIR importers."""

from __future__ import annotations

import argparse


def register_rirs(cmds: argparse._SubParsersAction) -> None:
    """Add the RIR bank commands to ``foabench bank``."""
