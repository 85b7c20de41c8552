"""Estimates written the DCASE way (``foabench eval --save-estimates DIR``), so DCASE's own evaluation scores them.

- ``DIR/<query>/NAME_LABEL.wav`` (2025 rules) or ``DIR/<query>/NAME_N_LABEL.wav`` (2026 rules, where two targets
  may share a class): the estimate of each target for each query type scored (``audio``, ``text``), named by
  the target's class and number — an S5 answer with the true labels, DCASE's "oracle label" setting;
- ``DIR/labelled/NAME_LABEL.wav`` (or ``NAME_N_LABEL.wav`` when a label repeats or under the 2026 rules): what
  a separator that labels its output (``segment`` or ``detect``) answered, the S5 answer DCASE ranks.

Each folder is a DCASE ``estimate_target_dir``. Files are mono 32-bit float WAV at the mixtures' rate: exactly
the estimates the harness scored, so DCASE's scripts reproduce foabench's figures.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from foabench.benchmark.class_aware import SILENCE
from foabench.manifests.dcase_layout import target_file_name, target_file_names
from foabench.synth.audio_io import write_audio_atomic

LABELLED = "labelled"


def rule_layout(rule: str) -> str:
    """The DCASE layout whose names a class-aware rule implies: ``ca_sdri`` 2025, ``capi_sdri`` 2026."""
    return "2026" if rule == "capi_sdri" else "2025"


class EstimateWriter:
    """Writes estimates under ``folder`` in the naming of ``layout`` (:func:`rule_layout`)."""

    def __init__(self, folder: str | Path, layout: str, sample_rate: int):
        self.folder, self.layout, self.sample_rate = Path(folder), layout, int(sample_rate)

    def _write(self, sub: str, name: str, wave: np.ndarray) -> None:
        path = self.folder / sub / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write_audio_atomic(path, np.asarray(wave, dtype=np.float32), self.sample_rate, subtype="FLOAT")

    def target(self, query: str, row: dict, target: int, wave: np.ndarray) -> None:
        """The estimate of target ``target`` (index among the row's targets) for one query type."""
        labels = [e["label"] for e in row["events"] if e["role"] == "target"]
        self._write(query, target_file_names(row["id"], labels, self.layout)[target], wave)

    def labelled(self, row_id: str, estimates: list[tuple[str, np.ndarray]]) -> None:
        """A labelled answer to one mixture (``silence`` left out); numbered names when a label repeats (or under
        the 2026 rules)."""
        estimates = [(label, wave) for label, wave in estimates if label != SILENCE]
        labels = [label for label, _ in estimates]
        layout = "2026" if len(set(labels)) < len(labels) else self.layout
        for k, (label, wave) in enumerate(estimates):
            self._write(LABELLED, target_file_name(row_id, k, label, layout), wave)
