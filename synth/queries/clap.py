"""Adapter from a laion-clap model to the :class:`~foabench.synth.queries.base.QueryEncoder` interface (optional extra).

laion-clap is not a dependency of foabench: it pins ``numpy<2`` and, when its ``CLAP_Module`` is built, loads
the ``roberta-base`` tokenizer and model through the Hugging Face hub. Install it into a separate environment
(``pip install 'foabench[clap]'``); it is imported only inside :func:`load_clap`, never when foabench is imported.

Audio preprocessing is fixed and deterministic, so that an embedding depends on the clip alone:

1. resample each mono clip to 48 kHz with soxr (:func:`foabench.synth.resample.resample`);
2. fit it to exactly 10 s (480000 samples), the length CLAP was trained on. laion-clap itself takes a *random*
   10 s crop of a longer clip; here a longer clip is cut to its centred 10 s (``long_clip="centre"``) or split
   into evenly spaced 10 s windows whose embeddings are averaged (``long_clip="mean"``). A shorter clip is
   repeated whole from the start and the remainder zero-padded, as laion-clap's ``repeatpad`` filling does
   (``short_clip="repeatpad"``), or tiled to fill the 10 s completely (``short_clip="tile"``);
3. quantise through int16 the way CLAP's training data was (clip to [-1, 1], scale by 32767, truncate to int16,
   divide by 32767). The result is a fixed point of laion-clap's own quantisation, so the model's repeat of this
   step inside ``get_audio_embedding_from_data`` changes nothing.

Because every clip reaches the model at exactly 10 s, fusion checkpoints see no "longer" clips and their fusion
branch (which also draws random crops) is never used.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import torch

from foabench.synth.audio_io import sha256_file
from foabench.synth.queries.base import as_wave_list, fit_length, unit_rows
from foabench.synth.resample import resample

ADAPTER_VERSION = "foabench-laion-clap-adapter-1"
CLAP_SAMPLE_RATE = 48_000
CLAP_CLIP_SAMPLES = 480_000
CLAP_DIM = 512
INT16_SCALE = 32767.0
TEXT_BATCH = 64
INSTALL_HINT = "pip install 'foabench[clap]' (this installs laion-clap, which pins numpy<2: use a separate environment)"

LongClip = Literal["centre", "mean"]
ShortClip = Literal["repeatpad", "tile"]

# Patch-embedding width of the HTS-AT audio branch -> laion-clap model config name. From laion_clap's
# ``create_htsat_model``: tiny uses embed_dim 96 with depths (2, 2, 6, 2), base 128 with (2, 2, 12, 2),
# large 256 with (2, 2, 12, 2).
HTSAT_BY_EMBED_DIM = {96: "HTSAT-tiny", 128: "HTSAT-base", 256: "HTSAT-large"}
HTSAT_STAGE3_DEPTH = {"HTSAT-tiny": 6, "HTSAT-base": 12, "HTSAT-large": 12}
PATCH_KEY = "audio_branch.patch_embed.proj.weight"
STFT_KEY = "audio_branch.spectrogram_extractor.stft.conv_real.weight"
STAGE3_PREFIX = "audio_branch.layers.2.blocks."
# Present in old checkpoints; newer transformers keep it as a non-persistent buffer, so it may be unexpected.
OPTIONAL_KEYS = ("text_branch.embeddings.position_ids",)


class ClapModel(Protocol):
    """What :class:`ClapEncoder` needs: laion-clap's ``CLAP_Module`` embedding methods."""

    def get_audio_embedding_from_data(self, x: np.ndarray, use_tensor: bool = False) -> Any: ...

    def get_text_embedding(self, x: list[str], tokenizer: Any = None, use_tensor: bool = False) -> Any: ...


class ClapCheckpointError(ValueError):
    """A checkpoint that is not a laion-clap model this adapter can identify or load."""


def quantise_int16(wave: np.ndarray) -> np.ndarray:
    """Round-trip through int16 as CLAP's training data did: clip to [-1, 1], scale, truncate, rescale."""
    q = (np.clip(np.asarray(wave, dtype=np.float32), -1.0, 1.0) * INT16_SCALE).astype(np.int16)
    return (q / INT16_SCALE).astype(np.float32)


def repeat_pad(wave: np.ndarray, frames: int) -> np.ndarray:
    """A short clip repeated whole as often as it fits in ``frames``, then zero-padded (laion-clap's repeatpad)."""
    reps = frames // len(wave)
    out = np.zeros(frames, dtype=np.float32)
    out[: reps * len(wave)] = np.tile(wave, reps)
    return out


def window_starts(frames: int, window: int) -> list[int]:
    """Start offsets of ``ceil(frames / window)`` evenly spaced windows covering ``frames`` (frames >= window)."""
    count = -(-frames // window)
    return [int(s) for s in np.round(np.linspace(0, frames - window, count))]


def clap_windows(
    wave: np.ndarray, long_clip: LongClip = "centre", short_clip: ShortClip = "repeatpad"
) -> list[np.ndarray]:
    """The 10 s windows a 48 kHz clip is embedded from (one, unless ``long_clip="mean"`` and it is longer)."""
    n = CLAP_CLIP_SAMPLES
    if len(wave) < n:
        return [repeat_pad(wave, n) if short_clip == "repeatpad" else fit_length(wave, n)]
    if long_clip == "mean":
        return [wave[s : s + n] for s in window_starts(len(wave), n)]
    return [fit_length(wave, n)]


def _to_numpy(x: Any) -> np.ndarray:
    """A model output (numpy array or torch tensor) as a float64 numpy array."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


class ClapEncoder:
    """A laion-clap model (or anything with its two embedding methods) as a foabench query encoder.

    ``ckpt_sha256`` identifies the weights; together with the variant, the adapter version and the
    preprocessing settings it makes up :attr:`hash`, under which embeddings are cached.
    """

    def __init__(
        self,
        model: ClapModel,
        *,
        ckpt_sha256: str,
        variant: str = "HTSAT-tiny",
        fusion: bool = False,
        name: str | None = None,
        dim: int = CLAP_DIM,
        long_clip: LongClip = "centre",
        short_clip: ShortClip = "repeatpad",
        batch_size: int = 8,
    ):
        if long_clip not in ("centre", "mean"):
            raise ValueError(f"long_clip must be 'centre' or 'mean', got {long_clip!r}")
        if short_clip not in ("repeatpad", "tile"):
            raise ValueError(f"short_clip must be 'repeatpad' or 'tile', got {short_clip!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.model = model
        self.ckpt_sha256 = ckpt_sha256
        self.variant, self.fusion = variant, fusion
        self.name = name or f"laion-clap-{variant.lower()}" + ("-fusion" if fusion else "")
        self.dim = dim
        self.long_clip, self.short_clip = long_clip, short_clip
        self.batch_size = batch_size

    def preprocessing(self) -> dict:
        """The audio preprocessing settings (part of :attr:`hash`)."""
        return {
            "sample_rate": CLAP_SAMPLE_RATE,
            "resampler": "soxr-VHQ",
            "clip_samples": CLAP_CLIP_SAMPLES,
            "long_clip": self.long_clip,
            "short_clip": self.short_clip,
            "quantise": "int16-truncate/32767",
        }

    @property
    def hash(self) -> str:
        """sha256 over the adapter version, variant, checkpoint sha256 and preprocessing settings."""
        blob = {
            "adapter": ADAPTER_VERSION,
            "variant": self.variant,
            "fusion": self.fusion,
            "ckpt_sha256": self.ckpt_sha256,
            "preprocessing": self.preprocessing(),
        }
        return hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()

    def _check_rows(self, rows: np.ndarray, n: int, what: str) -> np.ndarray:
        """Refuse a model output that is not ``(n, dim)``."""
        if rows.shape != (n, self.dim):
            raise ValueError(f"laion-clap {what} embedding has shape {rows.shape}, expected ({n}, {self.dim})")
        return rows

    def _embed_windows(self, windows: list[np.ndarray]) -> np.ndarray:
        """Unit-norm embeddings ``(len(windows), dim)`` of 10 s windows, in batches."""
        out = []
        for i in range(0, len(windows), self.batch_size):
            batch = np.stack([quantise_int16(w) for w in windows[i : i + self.batch_size]])
            with torch.no_grad():
                rows = _to_numpy(self.model.get_audio_embedding_from_data(batch, use_tensor=False))
            out.append(unit_rows(self._check_rows(rows, len(batch), "audio")))
        return np.concatenate(out)

    def embed_audio(self, waves: Sequence[np.ndarray] | np.ndarray, sample_rate: int) -> np.ndarray:
        """Unit-norm float32 ``(n, dim)`` audio embeddings (preprocessing as in the module docstring)."""
        windows: list[np.ndarray] = []
        owner: list[int] = []
        for i, wave in enumerate(as_wave_list(waves)):
            wave = resample(wave, sample_rate, CLAP_SAMPLE_RATE)
            clip_windows = clap_windows(wave, self.long_clip, self.short_clip)
            windows += clip_windows
            owner += [i] * len(clip_windows)
        if not windows:
            return np.zeros((0, self.dim), dtype=np.float32)
        rows = self._embed_windows(windows)
        owner_arr = np.asarray(owner)
        means = np.stack([rows[owner_arr == i].mean(axis=0) for i in range(owner_arr[-1] + 1)])
        return unit_rows(means)

    def embed_text(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-norm float32 ``(n, dim)`` text embeddings (a bare string counts as one text)."""
        items = [texts] if isinstance(texts, str) else [str(t) for t in texts]
        out = [np.zeros((0, self.dim), dtype=np.float32)]
        for i in range(0, len(items), TEXT_BATCH):
            batch = items[i : i + TEXT_BATCH]
            with torch.no_grad():
                rows = _to_numpy(self.model.get_text_embedding(batch, use_tensor=False))
            out.append(unit_rows(self._check_rows(rows, len(batch), "text")))
        return np.concatenate(out)


def read_clap_state(path: str | Path, *, trust_pickle: bool = False) -> dict[str, torch.Tensor]:
    """The model state dict of a laion-clap checkpoint, with any ``module.`` (DataParallel) prefix removed.

    Reads with ``torch.load(weights_only=True)``; a checkpoint that needs full unpickling is refused unless
    ``trust_pickle`` (unpickling can run arbitrary code: only for files you trust).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"laion-clap checkpoint not found: {path}")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if not trust_pickle:
            raise ClapCheckpointError(
                f"{path}: cannot be read with torch.load(weights_only=True) ({exc}); "
                "pass trust_pickle=True if you trust this file"
            ) from exc
        blob = torch.load(path, map_location="cpu", weights_only=False)
    state = blob["state_dict"] if isinstance(blob, Mapping) and "state_dict" in blob else blob
    if not isinstance(state, Mapping) or not state:
        raise ClapCheckpointError(f"{path}: no state dict found (expected a mapping of tensors)")
    return {(k[len("module.") :] if k.startswith("module.") else k): v for k, v in state.items()}


def _detect_amodel(state: Mapping[str, torch.Tensor]) -> str:
    """The laion-clap audio model name (``HTSAT-tiny`` ...) from the audio branch's tensor shapes."""
    if PATCH_KEY not in state:
        raise ClapCheckpointError(
            f"not a recognised laion-clap HTS-AT checkpoint (no {PATCH_KEY!r}); pass variant= explicitly"
        )
    width = int(state[PATCH_KEY].shape[0])
    if width not in HTSAT_BY_EMBED_DIM:
        raise ClapCheckpointError(f"unrecognised HTS-AT patch-embedding width {width} (known: tiny 96, base 128)")
    amodel = HTSAT_BY_EMBED_DIM[width]
    depth = len({k[len(STAGE3_PREFIX) :].split(".")[0] for k in state if k.startswith(STAGE3_PREFIX)})
    if depth and depth != HTSAT_STAGE3_DEPTH[amodel]:
        raise ClapCheckpointError(
            f"patch-embedding width {width} suggests {amodel}, but stage 3 has {depth} blocks "
            f"(expected {HTSAT_STAGE3_DEPTH[amodel]}); pass variant= explicitly"
        )
    if amodel == "HTSAT-tiny" and STFT_KEY in state and int(state[STFT_KEY].shape[-1]) == 1536:
        amodel = "HTSAT-tiny-win-1536"
    return amodel


def _detect_fusion(state: Mapping[str, torch.Tensor]) -> bool:
    """Whether the checkpoint is a fusion model of the kind ``CLAP_Module(enable_fusion=True)`` builds (aff_2d)."""
    keys = [k for k in state if k.startswith("audio_branch.")]
    if not any(part in k for k in keys for part in ("fusion_model.", "mel_conv2d.", "mel_conv1d.")):
        return False
    is_aff_2d = (
        any("mel_conv2d." in k for k in keys)
        and any("fusion_model.local_att." in k for k in keys)
        and not any("mel_conv1d." in k or "fusion_model.local_att2." in k for k in keys)
    )
    if not is_aff_2d:
        raise ClapCheckpointError(
            "fusion checkpoint of a kind CLAP_Module cannot build (it builds only 2-D AFF fusion, 'aff_2d')"
        )
    return True


def detect_variant(state: Mapping[str, torch.Tensor]) -> tuple[str, bool]:
    """``(amodel, fusion)`` of a laion-clap state dict, e.g. ``("HTSAT-base", False)``.

    The HTS-AT size comes from the patch embedding's output width (tiny 96, base 128, large 256), checked
    against the number of blocks in the third Swin stage when present (tiny 6, base and large 12); a tiny model
    whose STFT kernel is 1536 wide is ``HTSAT-tiny-win-1536``. Fusion is the presence of the 2-D fusion layers
    (``mel_conv2d`` and an AFF ``fusion_model``). Raises :class:`ClapCheckpointError` on anything unrecognised.
    """
    return _detect_amodel(state), _detect_fusion(state)


def _import_laion_clap() -> Any:
    """The ``laion_clap`` package, or an ImportError saying how to install it."""
    try:
        import laion_clap
    except ImportError as exc:
        raise ImportError(f"the laion-clap encoder needs the laion_clap package ({exc}); {INSTALL_HINT}") from exc
    return laion_clap


def _build_module(laion_clap: Any, amodel: str, fusion: bool, device: str) -> Any:
    """``laion_clap.CLAP_Module``; an offline failure to fetch roberta-base becomes a clear error."""
    try:
        return laion_clap.CLAP_Module(enable_fusion=fusion, amodel=amodel, device=device)
    except OSError as exc:
        raise RuntimeError(
            "could not build laion_clap.CLAP_Module, most likely because the 'roberta-base' tokenizer and model "
            "are not in the local Hugging Face cache (laion-clap loads both with from_pretrained('roberta-base')). "
            "Download them once on a networked machine (e.g. transformers.RobertaModel.from_pretrained and "
            "RobertaTokenizer.from_pretrained('roberta-base')), copy the cache (HF_HOME) here and set "
            f"HF_HUB_OFFLINE=1. Original error: {exc}"
        ) from exc


def _load_weights(module: Any, state: dict[str, torch.Tensor], label: str) -> None:
    """Load ``state`` strictly into ``module.model`` (keys the model does not keep are dropped first)."""
    target = module.model
    expected = set(target.state_dict())
    state = {k: v for k, v in state.items() if k in expected or k not in OPTIONAL_KEYS}
    try:
        target.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ClapCheckpointError(f"{label}: weights do not fit the model built for it: {exc}") from exc
    target.eval()


def load_clap(
    ckpt_path: str | Path,
    variant: str | None = None,
    device: str = "cpu",
    *,
    fusion: bool | None = None,
    long_clip: LongClip = "centre",
    short_clip: ShortClip = "repeatpad",
    batch_size: int = 8,
    trust_pickle: bool = False,
) -> ClapEncoder:
    """A :class:`ClapEncoder` over a laion-clap checkpoint (``*.pt`` as released by LAION).

    ``variant`` (``HTSAT-tiny``, ``HTSAT-base`` ...) and ``fusion`` are read from the checkpoint when not given.
    Needs the optional ``laion_clap`` package and the ``roberta-base`` files in the Hugging Face cache.
    """
    path = Path(ckpt_path)
    if not path.is_file():
        raise FileNotFoundError(f"laion-clap checkpoint not found: {path}")
    laion_clap = _import_laion_clap()
    state = read_clap_state(path, trust_pickle=trust_pickle)
    amodel = variant or _detect_amodel(state)
    use_fusion = _detect_fusion(state) if fusion is None else fusion
    module = _build_module(laion_clap, amodel, use_fusion, device)
    _load_weights(module, state, f"{path} ({amodel}, fusion={use_fusion})")
    return ClapEncoder(
        module,
        ckpt_sha256=sha256_file(path),
        variant=amodel,
        fusion=use_fusion,
        long_clip=long_clip,
        short_clip=short_clip,
        batch_size=batch_size,
    )
