"""Rendering one manifest row against its banks: the inputs gathered and checked, then mixed.

:meth:`Renderer.inputs` decodes what a row references (verified by hash, cached) into
:class:`~foabench.synth.scenes.mix.SceneInputs`; :func:`~foabench.synth.scenes.mix.mix_scene` computes the
mixture and the references from them (how: :mod:`foabench.synth.scenes.mix`). The split lets inputs be gathered
in DataLoader workers and mixed elsewhere, e.g. on a GPU by :mod:`foabench.synth.scenes.render_torch`.
"""

from __future__ import annotations

import numpy as np

from foabench.synth.audio_io import AudioError, read_audio
from foabench.synth.banks.bank_set import BankSet, InputError
from foabench.synth.scenes.convolve import FFT_SIZE_STEP, fft_size
from foabench.synth.scenes.mix import (
    REFERENCES,
    LRUCache,
    RenderedMixture,
    RenderError,
    SceneInputs,
    TargetReferences,
    direct_window,
    mix_scene,
)

__all__ = [
    "FFT_SIZE_STEP",
    "REFERENCES",
    "RenderError",
    "RenderedMixture",
    "Renderer",
    "SceneInputs",
    "TargetReferences",
    "direct_window",
    "fft_size",
]


class Renderer:
    """Renders rows against a :class:`BankSet`, caching decoded audio and RIR spectra."""

    def __init__(self, banks: BankSet, cache_mb: int = 1024):
        self.banks = banks
        self._audio = LRUCache(cache_mb << 19)
        self._spectra = LRUCache(cache_mb << 19)

    def reset_spectra(self) -> None:
        """Forget cached RIR spectra, direct-window filters and noise energies (benchmarks start every pass cold)."""
        self._spectra = LRUCache(self._spectra.max_bytes)

    def audio(self, ref: dict, channels: int) -> np.ndarray:
        """Decoded float32 ``(frames, channels)`` of a referenced bank file (hash-checked once)."""

        path = self.banks.resolve(ref)  # every reference is checked, also when its audio is cached

        def load() -> np.ndarray:
            wave, sr = read_audio(path)
            bank = self.banks.bank(ref["bank"])
            if sr != bank.sample_rate or wave.shape[1] != channels:
                raise InputError(f"{path}: {wave.shape[1]} ch at {sr} Hz, expected {channels} ch at {bank.sample_rate}")
            return wave

        return self._audio.get((ref["bank"], ref["path"]), load)

    def inputs(self, row: dict) -> SceneInputs:
        """A row's inputs, decoded and checked (errors as for :meth:`render`)."""
        where = ["noise"]
        return self._named(row, where, lambda: self._inputs(row, where))

    def render(self, row: dict) -> RenderedMixture:
        """Render one row (see :mod:`foabench.synth.scenes.manifest` for its fields).

        An input that cannot be used (missing, changed, unreadable, wrong rate or channels) raises its own error
        type with the mixture and the part of the row it belongs to named in front of its message."""
        where = ["noise"]
        return self._named(row, where, lambda: mix_scene(self._inputs(row, where), self._spectra, where))

    @staticmethod
    def _named(row: dict, where: list[str], work):
        try:
            return work()
        except (InputError, AudioError, RenderError) as exc:
            if str(exc).startswith(f"{row.get('id')}: "):
                raise
            raise type(exc)(f"{row.get('id', 'a row without id')}: {where[0]}: {exc}") from exc

    def _inputs(self, row: dict, where: list[str]) -> SceneInputs:
        noise = row["noise"]
        clip = None if noise is None else self.audio(noise, 4)
        inputs = SceneInputs(row, [], [], [], [], clip, None if noise is None else (noise["bank"], noise["path"]))
        for k, ev in enumerate(row["events"]):
            where[0] = f"event {k} ({ev['role']} {ev['label']!r})"
            src = self.audio(ev["source"], 1)[:, 0]
            off, length = ev["source_offset"], ev["length"]
            if off + length > len(src):
                raise RenderError(f"{row['id']}: event {k} reads past the end of {ev['source']['path']}")
            inputs.excerpts.append(src[off : off + length])
            inputs.rirs.append(self.audio(ev["rir"], 4))
            inputs.rir_keys.append((ev["rir"]["bank"], ev["rir"]["path"]))
            inputs.direct_samples.append(int(self.banks.record(ev["rir"]).direct_sample))
        return inputs
