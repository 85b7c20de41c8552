"""Retrieval figures of a query encoder on labelled clips, each beside its chance level.

- text -> audio (captions): each clip's caption queries all clips; a hit at K when one of the K nearest clips
  has the caption's class. Chance: the expected hit rate of a random ranking, ``1 - C(N - m, K) / C(N, K)``
  with ``m`` clips of the class among ``N``.
- text -> audio (class phrases): the same with "the sound of a <class>" as the query, one per class.
- audio -> audio: each clip queries the other clips; precision@1 of the same class (chance ``(m - 1)/(N - 1)``).
"""

from __future__ import annotations

from collections import Counter
from math import comb

import numpy as np

from foabench.synth.scenes.query_plan import class_phrase


def _chance_at_k(n: int, m: int, k: int) -> float:
    k = min(k, n)
    return 1.0 - comb(n - m, k) / comb(n, k) if n - m >= k else 1.0


def recall_at_k(sim: np.ndarray, query_labels: list[str], item_labels: list[str], k: int) -> tuple[float, float]:
    """(hit rate, chance) of queries whose K most similar items include one of their class."""
    items = np.asarray(item_labels)
    counts = Counter(item_labels)
    top = np.argsort(-sim, axis=1, kind="stable")[:, :k]
    hits = [bool(np.any(items[row] == q)) for row, q in zip(top, query_labels, strict=True)]
    chance = [_chance_at_k(len(items), counts[q], k) for q in query_labels]
    return float(np.mean(hits)), float(np.mean(chance))


def retrieval_report(encoder, waves: list[np.ndarray], sample_rate: int, labels: list[str],
                     captions: list[str]) -> dict:  # fmt: skip
    """Text->audio R@1/R@5 (captions and class phrases) and audio->audio P@1, each with chance."""
    audio = encoder.embed_audio(waves, sample_rate)
    text = encoder.embed_text(captions)
    classes = sorted(set(labels))
    phrases = encoder.embed_text([class_phrase(c, 0) for c in classes])
    report: dict = {"clips": len(labels), "classes": len(classes)}
    for k in (1, 5):
        hit, chance = recall_at_k(text @ audio.T, labels, labels, k)
        report[f"text_to_audio_r@{k}"] = {"value": round(hit, 4), "chance": round(chance, 4)}
        hit, chance = recall_at_k(phrases @ audio.T, classes, labels, k)
        report[f"class_phrase_to_audio_r@{k}"] = {"value": round(hit, 4), "chance": round(chance, 4)}
    sim = audio @ audio.T
    np.fill_diagonal(sim, -np.inf)
    nearest = np.argmax(sim, axis=1)
    lab = np.asarray(labels)
    counts = Counter(labels)
    n = len(labels)
    report["audio_to_audio_p@1"] = {
        "value": round(float(np.mean(lab[nearest] == lab)), 4),
        "chance": round(float(np.mean([(counts[c] - 1) / (n - 1) for c in labels])), 4),
    }
    return report


def format_report(report: dict) -> str:
    """One line per figure: 'text_to_audio_r@1  0.812  (chance 0.061)'."""
    lines = [f"held-out clips: {report['clips']} in {report['classes']} classes"]
    for key, val in report.items():
        if isinstance(val, dict):
            lines.append(f"{key:<28} {val['value']:.3f}  (chance {val['chance']:.3f})")
    return "\n".join(lines)
