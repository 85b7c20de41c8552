"""``foabench bank noise ...``: diffuse noise banks from mono recordings and measured 4-channel ambience."""

from __future__ import annotations

import argparse


def register_noise(cmds: argparse._SubParsersAction) -> None:
    """Add the noise bank commands to ``foabench bank``."""
