"""DCASE Task 4 scoring of separators that say which sources are present: labelled answers per mixture.

A separator answers a mixture with labelled estimates in one of two ways (:func:`labelling_mode`):

- ``segment(mixture, sample_rate) -> [[(label, waveform), ...]]`` — a full S5 system (``mixture`` a float32
  tensor ``(1, 4, L)``, one list per mixture, mono waveforms of ``L`` samples);
- ``detect(mixture, sample_rate) -> [[label, ...]]`` on a query-based separator that reads a text form of the
  query (``query_text`` or ``query_embedding``) and no oracle information: it is then queried once per detected
  label (repeats kept) with that label's text query, :func:`label_text` — DCASE's tagger + label-queried
  separator pipeline;
- with ``labels="oracle"`` (``eval --labels oracle``), a separator that reads a text form of the query and no
  oracle information is queried that way with each target's true label instead: DCASE's "oracle label"
  setting, the separation half of the task alone (shown as oracle labels, never as a system's score).

Each mixture gets one record (:func:`score_answer`): the labels on both sides, CA-SDRi (2025; ``None`` when a
label repeats on either side, where the 2025 rule is undefined, or no label exists), CAPI-SDRi (2026; ``None``
for a mixture with no label at all) and whether the label multisets match, all by
:mod:`foabench.benchmark.class_aware` against the targets' references and the mixture's first channel.
:func:`summarize_labelled` gives the means over mixtures with bootstrap intervals; :func:`class_rule` says which
metric the split's rules call for (same-class targets or mixtures without a target: the 2026 rules).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from foabench.benchmark.breakdowns import mean_with_ci
from foabench.benchmark.class_aware import SILENCE, capi_sdri, labels_match
from foabench.benchmark.class_aware import ca_sdri as ca_sdri_of
from foabench.benchmark.separator import ORACLE_USES, QueryBatch
from foabench.synth.scenes.query_plan import class_phrase

RULES = ("ca_sdri", "capi_sdri")
RULE_NAMES = {"ca_sdri": "CA-SDRi", "capi_sdri": "CAPI-SDRi"}


def labelling_mode(sep, labels: str | None = None) -> str | None:
    """``segment``, ``detect`` (a tagger in front of a text-queried separator), ``oracle`` (``labels="oracle"``:
    the true labels in front of it) or None (not scored this way)."""
    uses = set(sep.uses)
    text_queried = bool(uses & {"query_text", "query_embedding"}) and not uses & ORACLE_USES
    if labels == "oracle":
        if not text_queried:
            raise ValueError(f"{sep.name}: oracle labels need a separator that takes text queries (query_text or "
                             f"query_embedding) and reads no oracle information; it uses {sorted(uses)}")  # fmt: skip
        return "oracle"
    if labels is not None:
        raise ValueError(f"labels must be None or 'oracle', not {labels!r}")
    if hasattr(sep, "segment"):
        return "segment"
    if hasattr(sep, "detect") and text_queried:
        return "detect"
    return None


def label_text(label: str) -> str:
    """The text query a detected label is answered with: the class in foabench's first template."""
    return class_phrase(label, 0)


def class_rule(rows: list[dict]) -> str:
    """``capi_sdri`` when a row has two targets of one class or none at all (DCASE 2026 rules), else ``ca_sdri``."""
    for row in rows:
        labels = [e["label"] for e in row["events"] if e["role"] == "target"]
        if not labels or len(set(labels)) < len(labels):
            return "capi_sdri"
    return "ca_sdri"


def _labels(found, what: str) -> list[str]:
    if not isinstance(found, list | tuple) or len(found) != 1:
        raise ValueError(f"{what} must return one list per mixture, got {type(found).__name__}")
    if not all(isinstance(x, str) for x in found[0]):
        raise ValueError(f"{what} must return label strings")
    return list(found[0])


def answer(sep, mode: str, mixture: np.ndarray, sample_rate: int, query_batch: Callable[[list[str]], QueryBatch],
           true_labels: list[str] | None = None) -> list[tuple[str, np.ndarray]]:  # fmt: skip
    """The separator's labelled estimates for one ``(frames, 4)`` mixture; ``query_batch(texts)`` builds the text
    queries of ``detect`` and ``oracle`` modes (``true_labels``: the targets' labels, for ``oracle``). Estimates
    are float64 of the mixture's length; a bad answer is a clear error."""
    frames = mixture.shape[0]
    tensor = torch.from_numpy(np.ascontiguousarray(mixture.T, dtype=np.float32))[None]
    if mode == "segment":
        found = sep.segment(tensor, sample_rate)
        if not isinstance(found, list | tuple) or len(found) != 1:
            raise ValueError(f"{sep.name}: segment() must return one list of (label, waveform) per mixture")
        pairs = [(str(label), np.asarray(wave.detach().cpu() if torch.is_tensor(wave) else wave, dtype=np.float64))
                 for label, wave in found[0]]  # fmt: skip
    else:
        if mode == "oracle":
            labels = list(true_labels)
        else:
            labels = _labels(sep.detect(tensor, sample_rate), f"{sep.name}: detect()")
        if not labels:
            return []
        est = sep.separate(tensor.expand(len(labels), -1, -1), query_batch([label_text(x) for x in labels]))
        est = est.detach().cpu().numpy() if torch.is_tensor(est) else np.asarray(est)
        pairs = list(zip(labels, np.asarray(est, dtype=np.float64), strict=True))
    pairs = [(label, wave) for label, wave in pairs if label != SILENCE]  # DCASE's "no source" slot
    for label, wave in pairs:
        if wave.shape != (frames,):
            raise ValueError(f"{sep.name}: the estimate labelled {label!r} has shape {wave.shape}, not ({frames},)")
        if not np.isfinite(wave).all():
            raise ValueError(f"{sep.name}: the estimate labelled {label!r} holds NaN/Inf")
    return pairs


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 4)


def score_answer(row_id: str, pairs: list[tuple[str, np.ndarray]], ref_labels: list[str], refs: list[np.ndarray],
                 mixture: np.ndarray) -> dict:  # fmt: skip
    """One mixture's record: labels, CA-SDRi, CAPI-SDRi and label match (see the module docstring)."""
    est_labels, est = [p[0] for p in pairs], [p[1] for p in pairs]
    mix = np.asarray(mixture, dtype=np.float64).T
    repeated = len(set(est_labels)) < len(est_labels) or len(set(ref_labels)) < len(ref_labels)
    ca = None if repeated else ca_sdri_of(est_labels, est, ref_labels, refs, mix)
    return {"key": row_id, "mixture": row_id, "est_labels": est_labels, "ref_labels": list(ref_labels),
            "ca_sdri": _round(ca), "capi_sdri": _round(capi_sdri(est_labels, est, ref_labels, refs, mix)),
            "label_accuracy": 100.0 if labels_match(est_labels, ref_labels) else 0.0}  # fmt: skip


def summarize_labelled(records: list[dict], rule: str, mode: str) -> dict | None:
    """Means over mixtures with 95 % bootstrap intervals: CA-SDRi, CAPI-SDRi, label accuracy (percent of mixtures
    whose label multiset is right); ``rule`` names the one the split's rules rank by. None without records."""
    if not records:
        return None
    return {"rule": rule, "mode": mode, "n_mixtures": len(records),
            **{m: mean_with_ci(records, m) for m in (*RULES, "label_accuracy")}}  # fmt: skip
