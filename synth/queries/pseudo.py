"""Pseudo-query recipes: how a training condition is made from the target's own embedding, without labels.

Each recipe is a named, recorded choice (``{"name": ..., parameters..., "seed": ...}``) that the scene sampler
writes into the manifest (:func:`foabench.synth.scenes.query_plan.make_recipe`, which holds the parameters and
their defaults) and :func:`apply_recipe` applies; the same recipe and seed give the same query.

- ``gaussian``: ``normalize(e + sigma * n)`` with ``n`` standard normal (CapDec's noise injection uses a
  variance of 0.016, i.e. ``sigma = 0.126``). For a ``d``-dimensional unit ``e`` the cosine to the clean
  embedding is about ``1 / sqrt(1 + d * sigma**2)``.
- ``interpolate``: ``normalize((1 - lam) * e_audio + lam * e_text)`` with ``lam ~ U(0, lam_max)`` when a text
  embedding (the caption's) exists, else the audio embedding unchanged; then the Gaussian step if ``sigma``.
- ``dropout``: each dimension zeroed with probability ``p``, then renormalised.
- ``clean``: the embedding itself (a control).
"""

from __future__ import annotations

import numpy as np


def _normalize(x: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.where(n > 0, n, 1.0)).astype(np.float32)


def apply_recipe(recipe: dict, audio: np.ndarray, text: np.ndarray | None = None) -> np.ndarray:
    """The pseudo-query for unit embedding(s) ``audio`` ``(dim,)`` or ``(n, dim)`` under ``recipe``."""
    rng = np.random.default_rng(int(recipe["seed"]))
    e = np.asarray(audio, dtype=np.float64)
    name = recipe["name"]
    if name == "clean":
        return _normalize(e)
    if name == "dropout":
        keep = rng.uniform(size=e.shape) >= float(recipe["p"])
        return _normalize(e * keep)
    if name == "interpolate" and text is not None:
        lam = rng.uniform(0.0, float(recipe["lam_max"]), size=(*e.shape[:-1], 1))
        e = _normalize((1.0 - lam) * e + lam * np.asarray(text, dtype=np.float64)).astype(np.float64)
    sigma = float(recipe.get("sigma", 0.0))
    if name in ("gaussian", "interpolate") and sigma > 0:
        e = e + sigma * rng.standard_normal(e.shape)
    if name not in ("gaussian", "interpolate"):
        raise ValueError(f"unknown pseudo-query recipe {name!r}")
    return _normalize(e)
