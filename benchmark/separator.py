"""The separator interface every model, baseline and researcher's class implements, and the spec loader.

A separator is any object with

- ``name: str`` — how it appears on the leaderboard;
- ``uses: tuple[str, ...]`` — what it reads besides the mixture, from :data:`USES`. ``query_embedding``,
  ``query_text`` and ``query_audio`` are the three forms of the query, ``query_direction`` and ``query_region``
  the recorded spatial queries (a noisy pointing at the target, a region holding it: not oracle information);
  ``oracle_direction`` (the target's true direction of arrival from the manifest) and ``oracle_target`` (the
  reference being scored) are oracle
  information, and results of a separator that uses either are marked oracle and kept out of the ranking;
- ``separate(mixture, query) -> (B, L)`` — ``mixture`` is a float32 tensor ``(B, 4, L)`` of AmbiX
  ``[W, Y, Z, X]`` mixtures, ``query`` a :class:`QueryBatch`; the result is the estimate of each item's
  target reference (the mono ``direct`` reference by default), float, same length;
- optionally ``is_bound = True`` for the reference points (the mixture itself, oracle masks) that are not
  separators in their own right; only these may read neither query nor oracle information;
- optionally ``segment(mixture, sample_rate) -> [[(label, waveform), ...]]`` (a full DCASE S5 system: one list
  of labelled mono estimates per mixture), or ``detect(mixture, sample_rate) -> [[label, ...]]`` (a tagger in
  front of a separator that reads ``query_text`` or ``query_embedding``: the harness then queries it once per
  detected label with that label's text query); either way the harness scores DCASE Task 4's class-aware
  CA-SDRi / CAPI-SDRi and label accuracy per mixture (:mod:`foabench.benchmark.labelled_eval`);
- optionally ``setup(context: SeparatorContext)``, called once before the first batch with the sample rate,
  the device and the query encoder the harness uses (a separator that embeds audio itself, like the
  query-steered beamformer, takes the encoder from there).

Only the fields named in ``uses`` are filled in the :class:`QueryBatch`; the others are ``None``.

A command-line spec becomes a separator in :mod:`foabench.benchmark.separator_spec`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

USES = (
    "query_embedding",
    "query_text",
    "query_audio",
    "query_direction",
    "query_region",
    "query_pointcloud",
    "oracle_direction",
    "oracle_target",
)
ORACLE_USES = frozenset({"oracle_direction", "oracle_target"})
QUERY_USES = frozenset(
    {"query_embedding", "query_text", "query_audio", "query_direction", "query_region", "query_pointcloud"}
)


class SeparatorError(ValueError):
    """A separator spec that cannot be loaded, or a separator that breaks the interface."""


@dataclass
class QueryBatch:
    """The queries of a batch, and oracle information for separators that declare it (else ``None``).

    ``kind`` is ``audio`` or ``text`` (which query the row is scored with). ``embedding`` ``(B, D)`` float32
    is the encoder's embedding of that query; ``text`` the description (for audio queries too: the text query
    of the same target); ``audio`` the query clip as mono float32 arrays (only for ``kind == "audio"``);
    ``direction`` ``(B, 2)`` float64 true azimuth, elevation in degrees (oracle); ``target`` ``(B, L)`` float32
    reference (oracle); ``query_direction`` ``(B, 2)`` float64 the recorded direction query (a pointing with a
    sampled error, :mod:`foabench.synth.scenes.direction_query`), given with either query type; ``query_region``
    the recorded region queries (``shape``, centre ``azimuth``/``elevation``, ``size_deg``, ``ambiguous``;
    :mod:`foabench.synth.scenes.region_query`); ``query_pointcloud`` each target's point cloud as the depth
    sensor at the microphone captured it (``(N, 3)`` float32 metres, AmbiX frame; ``N`` may be 0 when its class
    has no shape or its object is hidden; :mod:`foabench.synth.scenes.pointcloud_query`).
    """

    kind: str
    sample_rate: int
    embedding: torch.Tensor | None = None
    text: list[str] | None = None
    audio: list[np.ndarray] | None = None
    direction: np.ndarray | None = None
    target: torch.Tensor | None = None
    query_direction: np.ndarray | None = None
    query_region: list[dict] | None = None
    query_pointcloud: list[np.ndarray] | None = None


@dataclass
class SeparatorContext:
    """What the harness hands a separator's optional ``setup``: sample rate, device, query encoder."""

    sample_rate: int
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    encoder: Any = None


@runtime_checkable
class Separator(Protocol):
    name: str
    uses: tuple[str, ...]

    def separate(self, mixture: torch.Tensor, query: QueryBatch) -> torch.Tensor: ...


def check_separator(sep: Any, where: str) -> Any:
    """``sep`` if it implements the interface (name, uses from :data:`USES`, separate), else a clear error."""
    missing = [a for a in ("name", "uses", "separate") if not hasattr(sep, a)]
    if missing:
        raise SeparatorError(
            f"{where}: not a separator, it lacks {', '.join(missing)} (see foabench.benchmark.separator)"
        )
    unknown = sorted(set(sep.uses) - set(USES))
    if unknown:
        raise SeparatorError(f"{where}: unknown entries in uses: {unknown}; known: {list(USES)}")
    if not set(sep.uses) & (QUERY_USES | ORACLE_USES) and not getattr(sep, "is_bound", False):
        raise SeparatorError(
            f"{where}: uses {tuple(sep.uses)} names no query; a separator must read the query (or oracle information)"
        )
    return sep


def is_oracle(sep: Any) -> bool:
    """True when the separator reads oracle information (direction or the reference itself)."""
    return bool(set(sep.uses) & ORACLE_USES)
