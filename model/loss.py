"""BSAST training objective: ``L = -SI-SDR + lam * L1`` (the paper uses lam = 100).

Definitions (per item, over the last axis):

- ``si_sdr(est, ref)``: both signals zero-mean; ``a = <est, ref> / (<ref, ref> + eps)``;
  ``SI-SDR = 10 log10((||a ref||^2 + eps) / (||est - a ref||^2 + eps))`` in dB.
- L1 (``normalize=True``, the default): ``mean(|est - ref|) / (rms(ref) + eps)`` with
  ``rms(ref) = sqrt(mean(ref^2))`` (not zero-meaned), i.e. the mean absolute error of both signals divided
  by the reference's RMS. It is level-independent, so ``lam`` means the same at any mixture level. Note
  the balance: an error as large as the reference costs about ``0.8 lam`` here, while a raw-waveform L1
  (the paper does not say which it uses) at target RMS 0.02-0.1 would be 10-50x smaller for the same
  ``lam``. ``normalize=False`` gives the raw ``mean(|est - ref|)``.

Computed in float32 at least (float64 inputs stay float64; half/bfloat16 are promoted).
"""

from __future__ import annotations

import torch
from torch import Tensor


def _promote(x: Tensor) -> Tensor:
    return x if x.dtype == torch.float64 else x.float()


def si_sdr(est: Tensor, ref: Tensor, eps: float = 1e-8) -> Tensor:
    """Scale-invariant SDR in dB of ``est`` against ``ref`` (``(..., L)`` each) -> ``(...)``."""
    est, ref = _promote(est), _promote(ref)
    if est.shape != ref.shape:
        raise ValueError(f"shape mismatch: est {tuple(est.shape)} vs ref {tuple(ref.shape)}")
    est = est - est.mean(-1, keepdim=True)
    ref = ref - ref.mean(-1, keepdim=True)
    alpha = (est * ref).sum(-1, keepdim=True) / (ref.pow(2).sum(-1, keepdim=True) + eps)
    target = alpha * ref
    noise = est - target
    return 10 * torch.log10((target.pow(2).sum(-1) + eps) / (noise.pow(2).sum(-1) + eps))


def level_l1(est: Tensor, ref: Tensor, eps: float = 1e-8, normalize: bool = True) -> Tensor:
    """Per-item L1 ``(...)``: ``mean|est - ref| / (rms(ref) + eps)`` (or raw with ``normalize=False``)."""
    est, ref = _promote(est), _promote(ref)
    l1 = (est - ref).abs().mean(-1)
    if normalize:
        l1 = l1 / (ref.pow(2).mean(-1).sqrt() + eps)
    return l1


def bsast_loss(
    est: Tensor, ref: Tensor, lam: float = 100.0, eps: float = 1e-8, normalize: bool = True
) -> tuple[Tensor, dict[str, Tensor]]:
    """Batch mean of ``-si_sdr + lam * level_l1`` and the parts ``{"loss", "si_sdr", "l1"}`` (batch means;
    ``si_sdr`` in dB, carries gradients, ``.item()`` them for logging)."""
    sdr = si_sdr(est, ref, eps)
    l1 = level_l1(est, ref, eps, normalize)
    loss = (-sdr + lam * l1).mean()
    return loss, {"loss": loss, "si_sdr": sdr.mean(), "l1": l1.mean()}
