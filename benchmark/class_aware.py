"""DCASE Task 4 (S5) class-aware metrics, per mixture, in float64, with DCASE's own signatures.

A system answers a mixture with labelled estimates; the reference is the mixture's labelled dry targets.
Both metrics use SDR as plain SNR against the reference (``metrics.sdr``: no zero-mean, no scaling) and its
improvement over the mixture's first channel (W), and both ignore the label ``silence``:

- :func:`ca_sdri` (2025, one source per class): over label sets, true positives ``TP = E & R`` score their
  SDRi, every false positive (``E - R``) and false negative (``R - E``) scores 0; the mixture's score is the
  mean of those ``|TP| + |FP| + |FN|`` values.
- :func:`capi_sdri` (2026, same-class duplicates allowed): within each class of ``E | R``, the pairing of
  ``min(n_est, n_ref)`` estimates with references that has the best *mean SDR* (not SDRi) is kept and its
  pairs score their SDRi; every source left unpaired (estimate or reference) scores 0; the mixture's score
  is the mean of all those values.

A mixture with no label on either side has no score: both return ``None`` and it is left out of the mean
(:func:`mean_score`). :func:`labels_match` is the per-mixture half of label accuracy: the predicted label
multiset equals the reference's.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from foabench.benchmark.metrics import sdr

#: the label DCASE systems emit for "no source": dropped before scoring
SILENCE = "silence"


def _labelled(labels: Sequence[str], waveforms: np.ndarray | Sequence[np.ndarray], what: str,
              length: int) -> list[tuple[str, np.ndarray]]:  # fmt: skip
    """``(label, waveform)`` pairs with ``silence`` dropped; waveforms float64 mono of the mixture's length."""
    waveforms = list(waveforms)
    if len(labels) != len(waveforms):
        raise ValueError(f"{what}: {len(labels)} labels but {len(waveforms)} waveforms")
    out = []
    for label, wave in zip(labels, waveforms, strict=True):
        if label == SILENCE:
            continue
        wave = np.asarray(wave, dtype=np.float64)
        if wave.ndim != 1 or wave.shape[0] != length:
            raise ValueError(f"{what} {label!r}: need a mono waveform of {length} samples, got shape {wave.shape}")
        out.append((str(label), wave))
    return out


def _first_channel(mixture: np.ndarray) -> np.ndarray:
    mixture = np.asarray(mixture, dtype=np.float64)
    if mixture.ndim == 2:  # (channels, samples): DCASE improves over the first channel
        return mixture[0]
    if mixture.ndim != 1:
        raise ValueError(f"mixture must be (samples,) or (channels, samples), got shape {mixture.shape}")
    return mixture


def _inputs(est_labels, est_waveforms, ref_labels, ref_waveforms, mixture):
    mix = _first_channel(mixture)
    est = _labelled(est_labels, est_waveforms, "estimate", mix.shape[0])
    ref = _labelled(ref_labels, ref_waveforms, "reference", mix.shape[0])
    return est, ref, mix


def _sdri(est: np.ndarray, ref: np.ndarray, mix: np.ndarray) -> float:
    return float(sdr(est, ref) - sdr(mix, ref))


def ca_sdri(est_labels: Sequence[str], est_waveforms: np.ndarray | Sequence[np.ndarray], ref_labels: Sequence[str],
            ref_waveforms: np.ndarray | Sequence[np.ndarray], mixture: np.ndarray) -> float | None:  # fmt: skip
    """DCASE 2025's class-aware SDRi of one mixture (dB), or None when neither side has a label.

    Labels must be unique on each side (2025 scenes hold one source per class); ``mixture`` is ``(L,)`` or
    ``(C, L)`` (its first channel is the improvement's baseline)."""
    est, ref, mix = _inputs(est_labels, est_waveforms, ref_labels, ref_waveforms, mixture)
    for what, side in (("estimate", est), ("reference", ref)):
        repeated = [label for label, n in Counter(label for label, _ in side).items() if n > 1]
        if repeated:
            raise ValueError(f"CA-SDRi takes one {what} per class; repeated: {repeated} (use capi_sdri)")
    est_by, ref_by = dict(est), dict(ref)
    classes = set(est_by) | set(ref_by)
    if not classes:
        return None
    hits = [_sdri(est_by[c], ref_by[c], mix) for c in sorted(set(est_by) & set(ref_by))]
    return float(sum(hits) / len(classes))


def _best_pairing(ests: list[np.ndarray], refs: list[np.ndarray], mix: np.ndarray) -> list[float]:
    """SDRi of the pairs in the pairing of ``min(len)`` estimates and references with the best mean SDR."""
    table = np.array([[float(sdr(e, r)) for r in refs] for e in ests])  # (n_est, n_ref)
    if len(ests) <= len(refs):  # every estimate paired, with each ordered choice of references
        pairings = ([*enumerate(cols)] for cols in itertools.permutations(range(len(refs)), len(ests)))
    else:  # every reference paired, with each ordered choice of estimates
        pairings = (
            [(i, j) for j, i in enumerate(rows)] for rows in itertools.permutations(range(len(ests)), len(refs))
        )
    best_pairs = max(pairings, key=lambda pairs: sum(table[i, j] for i, j in pairs))  # first of equal sums
    return [float(table[i, j] - sdr(mix, refs[j])) for i, j in best_pairs]


def capi_sdri(est_labels: Sequence[str], est_waveforms: np.ndarray | Sequence[np.ndarray], ref_labels: Sequence[str],
              ref_waveforms: np.ndarray | Sequence[np.ndarray], mixture: np.ndarray) -> float | None:  # fmt: skip
    """DCASE 2026's class-aware permutation-invariant SDRi of one mixture (dB), or None when neither side has
    a label. Same-class sources are paired by the best mean SDR; each unpaired source scores 0."""
    est, ref, mix = _inputs(est_labels, est_waveforms, ref_labels, ref_waveforms, mixture)
    values: list[float] = []
    for c in sorted({label for label, _ in est} | {label for label, _ in ref}):
        ests = [w for label, w in est if label == c]
        refs = [w for label, w in ref if label == c]
        if ests and refs:
            values += _best_pairing(ests, refs, mix)
        values += [0.0] * abs(len(ests) - len(refs))
    return float(np.mean(values)) if values else None


def labels_match(est_labels: Iterable[str], ref_labels: Iterable[str]) -> bool:
    """Whether the predicted label multiset (``silence`` dropped) equals the reference's: one mixture's term
    of label accuracy."""
    return Counter(x for x in est_labels if x != SILENCE) == Counter(x for x in ref_labels if x != SILENCE)


def mean_score(scores: Iterable[float | None]) -> float:
    """The mean of per-mixture scores, mixtures without a score (None) left out; NaN when none is left."""
    kept = [s for s in scores if s is not None]
    return float(np.mean(kept)) if kept else float("nan")
