"""Which direction does the query want? Steering a beamformer from the query instead of the oracle.

Method (a steered-power scan scored by the query encoder, restricted to where sources are):

1. **Candidates.** The pseudo-intensity histogram of the mixture (:func:`foabench.baselines.doa.candidate_directions`)
   gives up to ``max_candidates`` directions where directional energy concentrates, at least
   ``min_separation_deg`` apart — where the sources of the scene are.
2. **Listen.** For each candidate, a fixed first-order beam (``pattern``, max-rE by default: the sharpest
   first-order beam without a rear lobe of opposite sign worth worrying about) extracts that direction.
3. **Score.** The query encoder embeds each beam's output (the same audio tower that embeds audio queries,
   so a beam's embedding lives in the query space); the candidate whose beam is most similar (cosine) to
   the query embedding wins. Ties (within 1e-6) go to the candidate with more histogram mass.

A beamformer steered this way can tell which source the query wants whenever the encoder can tell the
target's class from the others' in a first-order beam, which is exactly what a query-based baseline needs.
Its failure mode is honest: a wrong pick scores like steering at an interferer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from foabench.baselines.beams import fixed_beam
from foabench.baselines.doa import candidate_directions


@dataclass
class SteeringChoice:
    """The chosen direction, and every candidate's ``(azimuth, elevation, histogram weight, similarity)``."""

    azimuth: float
    elevation: float
    candidates: list[tuple[float, float, float, float]]


class QuerySteering:
    """Choose a steering direction for one FOA mixture from its query embedding (see the module docstring)."""

    def __init__(self, encoder, pattern: str = "max_re", max_candidates: int = 6, min_separation_deg: float = 25.0):
        if encoder is None:
            raise ValueError("query steering needs the query encoder (to embed candidate beams)")
        self.encoder = encoder
        self.pattern = pattern
        self.max_candidates = max_candidates
        self.min_separation_deg = min_separation_deg

    def choose(self, foa: np.ndarray, sample_rate: int, query: np.ndarray) -> SteeringChoice:
        """``foa`` ``(4, L)``, ``query`` ``(D,)`` unit-norm -> the direction whose beam best matches the query."""
        cands = candidate_directions(foa, sample_rate, max_sources=self.max_candidates,
                                     min_separation_deg=self.min_separation_deg)  # fmt: skip
        if not cands:  # silent mixture: any direction gives silence
            return SteeringChoice(0.0, 0.0, [])
        beams = [fixed_beam(foa, az, el, self.pattern) for az, el, _ in cands]
        live = [i for i, b in enumerate(beams) if np.any(b)]
        sims = np.full(len(cands), -np.inf)
        if live:
            emb = self.encoder.embed_audio([beams[i] for i in live], sample_rate)
            sims[live] = emb @ np.asarray(query, dtype=np.float32)
        weights = np.array([w for _, _, w in cands])
        best = int(np.lexsort((-weights, -np.round(sims, 6)))[0])
        table = [(float(az), float(el), float(w), float(s)) for (az, el, w), s in zip(cands, sims, strict=True)]
        return SteeringChoice(float(cands[best][0]), float(cands[best][1]), table)
