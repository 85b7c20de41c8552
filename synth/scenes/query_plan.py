"""What a manifest records about each target's query, besides the audio clip: its text and its recipe.

- **Text.** A clip's caption, or a class phrase where there is none (or where the spec asks for templates):
  fixed templates, chosen by index, so the phrase is a recorded, re-derivable choice.
- **Recipe.** The pseudo-query recipe a training condition is made with, recorded per target as
  ``{"name": ..., parameters..., "seed": ...}`` by :func:`make_recipe`. Applying it to an embedding is the
  query builder's job (:func:`foabench.synth.queries.pseudo.apply_recipe`, where each recipe is defined).
"""

from __future__ import annotations

import numpy as np

TEMPLATES = (
    "the sound of {a} {label}",
    "{a} {label}",
    "{label} sound",
    "a recording of {a} {label}",
    "someone playing {a} {label}",
    "{a} {label} can be heard",
)

#: CapDec's noise injection uses a variance of 0.016
CAPDEC_SIGMA = float(np.sqrt(0.016))
#: recipe name -> its parameters and their defaults
RECIPES = {
    "clean": {},
    "gaussian": {"sigma": CAPDEC_SIGMA},
    "interpolate": {"lam_max": 0.5, "sigma": 0.0},
    "dropout": {"p": 0.1},
}


def _article(label: str) -> str:
    if label.endswith("speech") or label.endswith("s"):
        return ""
    return "an" if label[:1].lower() in "aeiou" else "a"


def class_phrase(label: str, index: int) -> str:
    """Template ``index`` (modulo the number of templates) filled with ``label`` ('the sound of a piano')."""
    text = TEMPLATES[index % len(TEMPLATES)].format(a=_article(label), label=label)
    return " ".join(text.split())


def make_recipe(name: str, seed: int, **params) -> dict:
    """A recorded recipe with defaults filled in; unknown names or parameters are an error."""
    if name not in RECIPES:
        raise ValueError(f"unknown pseudo-query recipe {name!r}; known: {sorted(RECIPES)}")
    unknown = set(params) - set(RECIPES[name])
    if unknown:
        raise ValueError(f"recipe {name!r} takes {sorted(RECIPES[name])}, not {sorted(unknown)}")
    return {"name": name, **RECIPES[name], **params, "seed": int(seed)}
