"""The built-in query encoder: a pretrained text tower and a log-mel CNN audio tower trained into its space.

Text: all-MiniLM-L6-v2 (frozen, :mod:`foabench.synth.queries.text_tower`), 384-d, unit norm. Audio: a small CNN over
48-band log-mel (20 ms hop) spectrograms whose pooled output is projected into the same 384-d space; it is trained here
contrastively against the text embeddings of the bank's captions (:mod:`foabench.synth.queries.train_encoder`), so
text queries need no separate text model at all. Inference is deterministic: a clip is embedded whole
(fully convolutional, mean and max pooling over time); clips shorter than one second are tiled to it.

A trained encoder is a folder holding ``audio_tower.pt`` (weights and configuration) and ``encoder.json``
(version, hashes, training provenance and held-out retrieval figures). Its ``hash`` covers the audio tower
file and the text tower's weights; embeddings are cached and recorded under it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from foabench.synth.audio_io import sha256_file
from foabench.synth.queries.base import as_wave_list, fit_length, unit_rows
from foabench.synth.queries.melspec import LogMel, MelConfig
from foabench.synth.queries.text_tower import TEXT_DIM, TEXT_MODEL, embed_sentences, text_tower_hash
from foabench.synth.resample import resample

ENCODER_VERSION = 1
WEIGHTS_NAME = "audio_tower.pt"
INFO_NAME = "encoder.json"
MIN_SECONDS = 1.0


class EncoderError(ValueError):
    """An encoder folder that cannot be used (missing, corrupt, or from a newer foabench)."""


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.AvgPool2d(2, ceil_mode=True),
    )


class AudioTower(nn.Module):
    """Waveforms ``(batch, samples)`` -> unnormalised embeddings ``(batch, dim)``."""

    def __init__(self, mel: MelConfig, dim: int = TEXT_DIM, channels: tuple[int, ...] = (32, 64, 128, 256)):
        super().__init__()
        self.mel_config, self.dim, self.channels = mel, dim, tuple(channels)
        self.mel = LogMel(mel)
        self.input_norm = nn.BatchNorm2d(1)
        blocks, c_in = [], 1
        for c in channels:
            blocks.append(_block(c_in, c))
            c_in = c
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.Linear(2 * c_in, c_in), nn.ReLU(inplace=True), nn.Linear(c_in, dim))

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.input_norm(self.mel(wave))).mean(dim=2)  # (batch, channels, frames)
        return self.head(torch.cat([x.mean(dim=2), x.amax(dim=2)], dim=1))

    def config(self) -> dict:
        return {"mel": self.mel_config.to_dict(), "dim": self.dim, "channels": list(self.channels)}

    @classmethod
    def from_config(cls, cfg: dict) -> AudioTower:
        return cls(MelConfig(**cfg["mel"]), dim=int(cfg["dim"]), channels=tuple(cfg["channels"]))


def save_encoder(folder: str | Path, tower: AudioTower, info: dict) -> Path:
    """Write ``audio_tower.pt`` and ``encoder.json`` (with the hashes) into ``folder``; return the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / WEIGHTS_NAME
    tmp = weights.with_suffix(".tmp")
    torch.save({"config": tower.config(), "state_dict": tower.state_dict()}, tmp)
    tmp.replace(weights)
    full = {
        **info,
        "name": "foabench-builtin",
        "version": ENCODER_VERSION,
        "text_model": TEXT_MODEL,
        "text_tower_sha256": text_tower_hash(),
        "audio_tower_sha256": sha256_file(weights),
    }
    (folder / INFO_NAME).write_text(json.dumps(full, indent=2, sort_keys=True) + "\n")
    return folder


def update_info(folder: str | Path, extra: dict) -> None:
    """Merge ``extra`` into a saved encoder's ``encoder.json`` (weights untouched)."""
    path = Path(folder) / INFO_NAME
    info = json.loads(path.read_text())
    path.write_text(json.dumps({**info, **extra}, indent=2, sort_keys=True) + "\n")


class BuiltinEncoder:
    """The offline CLAP-style encoder (see the module docstring)."""

    def __init__(self, tower: AudioTower, info: dict):
        self.tower = tower.eval()
        self.info = info
        self.name = f"foabench-builtin-v{info.get('version', ENCODER_VERSION)}"
        self.dim = tower.dim
        self.sample_rate = tower.mel_config.sample_rate

    @property
    def hash(self) -> str:
        h = hashlib.sha256(f"{self.name}\n{self.info['audio_tower_sha256']}\n{self.info['text_tower_sha256']}".encode())
        return h.hexdigest()

    @classmethod
    def load(cls, folder: str | Path) -> BuiltinEncoder:
        """Open a trained encoder folder, checking its weights against the recorded hash."""
        folder = Path(folder)
        info_path, weights = folder / INFO_NAME, folder / WEIGHTS_NAME
        if not info_path.is_file() or not weights.is_file():
            raise EncoderError(f"{folder}: not a trained encoder (needs {INFO_NAME} and {WEIGHTS_NAME}); "
                               "train one with `foabench queries train-encoder`")  # fmt: skip
        info = json.loads(info_path.read_text())
        if int(info.get("version", 0)) > ENCODER_VERSION:
            raise EncoderError(f"{folder}: encoder version {info['version']} is newer than this foabench knows")
        if sha256_file(weights) != info.get("audio_tower_sha256"):
            raise EncoderError(f"{weights}: weights differ from the hash in {INFO_NAME}; the folder was modified")
        blob = torch.load(weights, map_location="cpu", weights_only=True)
        tower = AudioTower.from_config(blob["config"])
        tower.load_state_dict(blob["state_dict"])
        return cls(tower, info)

    def embed_audio(self, waves: Sequence[np.ndarray] | np.ndarray, sample_rate: int) -> np.ndarray:
        """Unit-norm float32 ``(n, dim)``; each clip is resampled to the tower's rate and embedded whole."""
        out = np.zeros((0, self.dim), dtype=np.float32)
        rows = []
        min_frames = round(MIN_SECONDS * self.sample_rate)
        with torch.inference_mode():
            for w in as_wave_list(waves):
                if sample_rate != self.sample_rate:
                    w = resample(w[:, None], sample_rate, self.sample_rate)[:, 0]
                w = fit_length(w, max(len(w), min_frames))
                rows.append(self.tower(torch.from_numpy(np.ascontiguousarray(w))[None]).numpy()[0])
        return unit_rows(np.stack(rows)) if rows else out

    def embed_text(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-norm float32 ``(n, dim)`` MiniLM sentence embeddings."""
        return embed_sentences(list(texts))
