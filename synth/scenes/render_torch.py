"""Mixing a batch of scenes on a torch device (a GPU for dynamic mixing): mixtures and one ``direct`` each.

The same scenes, levels and clipping policy as :func:`~foabench.synth.scenes.mix.mix_scene`, computed for a
whole batch at once: every excerpt and RIR of the batch transformed at one size (the largest any event needs),
every wet image from one batched inverse transform, each event's gain from its W level over its active samples
(accumulated in float64), the noise looped and levelled, every target's ``direct`` through the windowed W
channel, and the clipping guard over the mixture and every target's ``direct``, ``dry`` and ``wet`` peaks, as on
the numpy path. Results equal the numpy path within float32 tolerance (tested on the CPU); bit-exact re-rendering
stays a property of the numpy path. Inputs come from :meth:`~foabench.synth.scenes.render.Renderer.inputs`;
:class:`DeviceMixer` keeps RIRs and noise clips on the device once uploaded (a bank is reused batch after batch).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from foabench.synth.scenes.convolve import fft_size
from foabench.synth.scenes.levels import PEAK_CEILING, SILENCE_RMS
from foabench.synth.scenes.mix import SceneInputs, direct_window, level_reference


@dataclass
class DeviceMixtures:
    """A mixed batch on its device: ``mixtures`` ``(B, frames, 4)``, the chosen target's ``directs``
    ``(B, frames)``, the ``clip_gains`` ``(B,)`` and every event's ``gains`` ``(events,)`` (scene by scene)."""

    mixtures: torch.Tensor
    directs: torch.Tensor
    clip_gains: torch.Tensor
    gains: torch.Tensor


class _DeviceStore:
    """Arrays kept on the device by key, in one flat buffer (``(frames, ...)`` each)."""

    def __init__(self, device: torch.device, max_bytes: int):
        self.device, self.max_bytes = device, max_bytes
        self.buffer: torch.Tensor | None = None
        self.where: dict[tuple, tuple[int, int]] = {}

    def rows(self, keys: list[tuple], arrays: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(buffer, starts, lengths) holding ``arrays`` (uploaded once per key; all forgotten when full)."""
        missing = {k: a for k, a in zip(keys, arrays, strict=True) if k not in self.where}
        if missing:
            size = sum(a.nbytes for a in missing.values()) + (0 if self.buffer is None else self.buffer.nbytes)
            if self.buffer is not None and size > self.max_bytes:
                self.buffer, self.where = None, {}
                missing = dict(zip(keys, arrays, strict=True))
            at = 0 if self.buffer is None else len(self.buffer)
            for k, a in missing.items():
                self.where[k] = (at, len(a))
                at += len(a)
            new = torch.from_numpy(np.concatenate(list(missing.values()))).to(self.device)
            self.buffer = new if self.buffer is None else torch.cat([self.buffer, new])
        starts, lengths = zip(*(self.where[k] for k in keys), strict=True)
        return self.buffer, torch.tensor(starts, device=self.device), torch.tensor(lengths, device=self.device)


def _gather(flat: torch.Tensor, starts: torch.Tensor, lengths: torch.Tensor, width: int) -> torch.Tensor:
    """Rows ``flat[starts[i] : starts[i] + lengths[i]]`` zero-padded to ``width`` frames, ``(n, width, ...)``."""
    t = torch.arange(width, device=flat.device)
    inside = t[None, :] < lengths[:, None]
    out = flat[torch.where(inside, starts[:, None] + t[None, :], 0)]
    return out * inside.view(*inside.shape, *([1] * (out.dim() - 2))).to(out.dtype)


def _upload(device: torch.device, parts: list[np.ndarray], width: int) -> torch.Tensor:
    """``parts`` stacked and zero-padded to ``width`` frames on ``device`` (one upload, one gather)."""
    lengths = torch.tensor([len(p) for p in parts], device=device)
    flat = torch.from_numpy(np.concatenate(parts)).to(device)
    return _gather(flat, torch.cumsum(lengths, 0) - lengths, lengths, width)


def _level_gain(energy: torch.Tensor, frames: torch.Tensor, dbfs: torch.Tensor) -> torch.Tensor:
    """Gains (float64) that bring signals of ``energy`` over ``frames`` samples to ``dbfs`` (0 for silence)."""
    level = torch.sqrt(energy / frames.clamp(min=1))
    return torch.where(level > SILENCE_RMS, 10.0 ** (dbfs / 20.0) / level.clamp(min=SILENCE_RMS), 0.0)


def _masked_peak(x: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    """Per row of ``x`` ``(n, frames[, channels])``, the largest absolute value among its first ``count``."""
    a = x.abs()
    if a.dim() == 3:
        a = a.amax(2)
    keep = torch.arange(a.shape[1], device=a.device)[None, :] < count[:, None]
    return (a * keep).amax(1) if a.shape[1] else torch.zeros(len(a), device=a.device)


class DeviceMixer:
    """Mixes batches of scenes on ``device``, keeping up to ``cache_mb`` of RIRs and noise clips there."""

    def __init__(self, device: torch.device | str = "cpu", cache_mb: int = 4096):
        self.device = torch.device(device)
        self._rirs = _DeviceStore(self.device, cache_mb << 19)
        self._noise = _DeviceStore(self.device, cache_mb << 19)

    def mix(self, scenes: list[SceneInputs], targets: list[int]) -> DeviceMixtures:
        """Mix ``scenes`` (all of one length and rate); ``targets[b]`` picks which target of scene ``b`` (counted
        among its targets) gives ``directs[b]``."""
        dev = self.device
        rows = [s.row for s in scenes]
        n, sr = int(rows[0]["num_frames"]), int(rows[0]["sample_rate"])
        if any(int(r["num_frames"]) != n or int(r["sample_rate"]) != sr for r in rows):
            raise ValueError("a batch mixed on a device needs scenes of one length and sample rate")
        if len(targets) != len(scenes):
            raise ValueError(f"{len(targets)} target choices for {len(scenes)} scenes")
        events = [(b, k, ev) for b, row in enumerate(rows) for k, ev in enumerate(row["events"])]
        is_target = [ev["role"] == "target" for _, _, ev in events]
        chosen = []
        for b, row in enumerate(rows):
            own = [e for e, (bb, _, _) in enumerate(events) if bb == b and is_target[e]]
            if not 0 <= targets[b] < len(own):
                raise ValueError(f"{row['id']}: no target {targets[b]} among its {len(own)}")
            chosen.append(own[targets[b]])

        def tensor(values, dtype=torch.int64) -> torch.Tensor:
            return torch.tensor(values, dtype=dtype, device=dev)

        level_ref = tensor([level_reference(r) for r in rows], torch.float64)
        mixtures = self._noise_of(scenes, level_ref, n)
        if not events:
            return DeviceMixtures(mixtures, torch.zeros((len(rows), n), device=dev), torch.ones(len(rows), device=dev),
                                  torch.zeros(0, dtype=torch.float64, device=dev))  # fmt: skip

        # every excerpt and RIR transformed at one size, every wet image from one inverse transform
        owner = tensor([b for b, _, _ in events])
        onset = tensor([int(ev["onset"]) for _, _, ev in events])
        length = tensor([int(ev["length"]) for _, _, ev in events])
        rirs = [scenes[b].rirs[k] for b, k, _ in events]
        rir_frames = tensor([len(h) for h in rirs])
        span = torch.minimum(n - onset, length + rir_frames - 1)
        nfft = fft_size(max(int(ev["length"]) + len(h) - 1 for (_, _, ev), h in zip(events, rirs, strict=True)))
        x = _upload(dev, [scenes[b].excerpts[k] for b, k, _ in events], int(length.max()))
        buffer, starts, frames = self._rirs.rows([scenes[b].rir_keys[k] for b, k, _ in events], rirs)
        h = _gather(buffer, starts, frames, int(frames.max())).transpose(1, 2)
        spectra = torch.fft.rfft(x, n=nfft)
        wet = torch.fft.irfft(spectra[:, None, :] * torch.fft.rfft(h, n=nfft), n=nfft)  # (E, 4, nfft)
        measured = torch.minimum(length, span)  # the W samples the level is measured on
        keep = torch.arange(x.shape[1], device=dev)[None, :] < measured[:, None]
        w = wet[:, 0, : x.shape[1]].double()
        snr = tensor([float(ev["snr_db"]) for _, _, ev in events], torch.float64)
        gains = _level_gain((w.square() * keep).sum(1), measured, level_ref[owner] + snr)
        wet *= gains[:, None, None].float()
        host_span = span.tolist()
        for e, (b, _, ev) in enumerate(events):  # one slice-add per event: no atomics, the same sum every time
            a = int(ev["onset"])
            mixtures[b, a : a + host_span[e]] += wet[e, :, : host_span[e]].T
        peaks = mixtures.abs().amax(dim=(1, 2))

        # targets: direct through the windowed W channel; wet, dry and direct peaks for the clipping guard
        te = [e for e in range(len(events)) if is_target[e]]
        if te:
            tt = tensor(te)
            windows = [direct_window(scenes[events[e][0]].direct_samples[events[e][1]], len(rirs[e]), sr) for e in te]
            first = tensor([win.start for win in windows])
            taps = _upload(dev, [np.ascontiguousarray(rirs[e][win, 0]) for e, win in zip(te, windows, strict=True)],
                           max(win.stop - win.start for win in windows))  # fmt: skip
            direct = torch.fft.irfft(spectra[tt] * torch.fft.rfft(taps, n=nfft), n=nfft)
            count = torch.clamp(torch.minimum(length[tt] + tensor([win.stop - win.start for win in windows]) - 1,
                                              span[tt] - first), min=0)  # fmt: skip
            dry = torch.clamp(torch.minimum(length[tt], n - onset[tt] - tensor([
                scenes[events[e][0]].direct_samples[events[e][1]] for e in te])), min=0)  # fmt: skip
            gain = gains[tt].float()
            found = torch.stack([_masked_peak(wet[tt], span[tt]), _masked_peak(direct, count) * gain,
                                 _masked_peak(x[tt], dry) * gain], 1).amax(1)  # fmt: skip
            peaks = peaks.scatter_reduce(0, owner[tt], found, "amax")
            pick = tensor([te.index(e) for e in chosen])
            u = torch.arange(n, device=dev)[None, :] - (onset[tt] + first)[pick][:, None]
            inside = (u >= 0) & (u < count[pick][:, None])
            directs = torch.gather(direct[pick], 1, u.clamp(0, nfft - 1)) * inside * gain[pick][:, None]
        else:
            directs = torch.zeros((len(rows), n), device=dev)
        clip = torch.where(peaks > PEAK_CEILING, PEAK_CEILING / peaks.clamp(min=PEAK_CEILING), 1.0)
        return DeviceMixtures(mixtures * clip[:, None, None], directs * clip[:, None], clip, gains)

    def _noise_of(self, scenes: list[SceneInputs], level_ref: torch.Tensor, n: int) -> torch.Tensor:
        """``(B, n, 4)``: each scene's noise clip looped from its offset, at its level (zeros without noise)."""
        mixtures = torch.zeros((len(scenes), n, 4), device=self.device)
        noisy = [b for b, s in enumerate(scenes) if s.row["noise"] is not None]
        if not noisy:
            return mixtures
        buffer, starts, frames = self._noise.rows(
            [scenes[b].noise_key for b in noisy], [scenes[b].noise for b in noisy]
        )
        offsets = torch.tensor([int(scenes[b].row["noise"]["offset"]) for b in noisy], device=self.device)
        t = torch.arange(n, device=self.device)
        looped = buffer[starts[:, None] + (offsets[:, None] + t[None, :]) % frames[:, None]]
        gain = _level_gain(looped[..., 0].double().square().sum(1), torch.full_like(level_ref[noisy], n),
                           level_ref[noisy])  # fmt: skip
        if bool((gain == 0).any()):
            raise ValueError(f"{scenes[noisy[int((gain == 0).nonzero()[0])]].row['id']}: its noise clip is silent")
        mixtures[noisy] = looped * gain[:, None, None].float()
        return mixtures


def mix_batch(scenes: list[SceneInputs], targets: list[int], device: torch.device | str = "cpu") -> DeviceMixtures:
    """:meth:`DeviceMixer.mix` without keeping anything on the device."""
    return DeviceMixer(device, cache_mb=0).mix(scenes, targets)
