"""``foabench train``: the training harness every trainable separator uses.

Dynamic mixing: each step draws fresh scenes of the training split from a seed stream (the manifests' sampler
and renderer, run in DataLoader workers) with pseudo-queries made on the fly from each target's own clip
embedding and the row's recorded recipe. Validation renders a fixed manifest and reports SI-SDR and SI-SDRi
(against the mixture's W channel) for audio and for text queries. A run folder holds ``config.json`` (model
config, settings, seeds, bank fingerprints, encoder hash), ``metrics.jsonl`` and ``checkpoints/`` (model,
optimizer and scheduler state; ``last.pt`` after every save). ``--resume`` continues from ``last.pt``: the same
step, learning rate and data stream, so the next batch and loss are those of an uninterrupted run.

Devices: CPU, or CUDA with bf16 autocast; under ``torchrun`` (``WORLD_SIZE`` > 1) it trains data-parallel
(DistributedDataParallel), each rank taking every ``world``-th scene of the stream.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from foabench import synth
from foabench.benchmark.model_registry import LOSSES, MODELS
from foabench.benchmark.train_data import (
    DynamicMixDataset,
    ManifestDataset,
    StreamSampler,
    build_query_table,
    gathered_batch,
    mix_gathered,
)
from foabench.synth.audio_io import atomic_write_text
from foabench.synth.banks.bank_set import BankSet
from foabench.synth.scenes.manifest import read_manifest
from foabench.synth.scenes.render_torch import DeviceMixer
from foabench.synth.scenes.sampler import SceneStream
from foabench.synth.scenes.spec import load_spec

CKPT_DIR = "checkpoints"
LAST = "last.pt"


@dataclass
class TrainSettings:
    """Everything a run depends on (recorded in ``config.json``)."""

    out: str
    banks: list[str]
    model: str = "bsast"
    config: str = "tiny"
    model_overrides: dict = field(default_factory=dict)
    val: str | None = None
    spec: str = "tiny"
    split: str = "train"
    seed: int = 0
    steps: int = 1000
    batch_size: int = 8
    lr: float = 3e-4
    weight_decay: float = 1e-2
    warmup: int = 50
    grad_clip: float = 5.0
    l1_weight: float = 100.0  # lambda of the SI-SDR + lambda * L1 loss (the paper's 100)
    loss: str = "auto"  # one of LOSSES; auto = the model's own (BSAST: si_sdr_l1, ResUNet: l1)
    workers: int = 2
    val_every: int = 200
    ckpt_every: int = 200
    log_every: int = 10
    encoder: str = "foabench-data/encoders/builtin"
    cache: str = "foabench-data/embeddings"
    query_recipe: dict = field(default_factory=dict)  # replaces fields of every row's pseudo-query recipe
    threads: int = 0  # torch intra-op threads in the training process; 0: the machine's cores
    compile: bool = False  # torch.compile the transformer blocks (BSAST) or the whole model (compile_blocks)
    max_minutes: float = 0.0  # stop (with a checkpoint and a validation) after this much training; 0: no limit
    mix_on: str = "workers"  # workers: render in the DataLoader workers (numpy); device: mix on the training device


#: where training mixes its scenes (TrainSettings.mix_on)
MIX_ON = ("workers", "device")


def make_model(name: str, config: str, overrides: dict, query_dim: int) -> torch.nn.Module:
    """A trainable separator by name (:data:`MODELS`) with preset ``config`` and field ``overrides``."""
    import importlib

    if name not in MODELS:
        raise ValueError(f"unknown trainable separator {name!r} (known: {', '.join(MODELS)})")
    target, implied = MODELS[name]
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)(config, **{"query_dim": query_dim, **implied, **overrides})


def training_loss(model: torch.nn.Module, settings: TrainSettings):
    """``loss(est, ref) -> (loss, parts)``: ``si_sdr_l1`` (BSAST: -SI-SDR + lambda L1 on the level-normalised
    waveform) or ``l1`` (AudioSep: raw waveform L1); ``auto`` takes the model's ``default_loss``."""
    from foabench.model.loss import bsast_loss, level_l1, si_sdr

    name = settings.loss if settings.loss != "auto" else getattr(model, "default_loss", "si_sdr_l1")
    if name == "si_sdr_l1":
        return lambda est, ref: bsast_loss(est, ref, lam=settings.l1_weight)
    if name == "l1":

        def l1(est, ref):
            loss = level_l1(est, ref, normalize=False).mean()
            return loss, {"loss": loss, "si_sdr": si_sdr(est.detach(), ref).mean(), "l1": loss}

        return l1
    raise ValueError(f"unknown loss {name!r} (known: {', '.join(LOSSES)})")


def _distributed() -> tuple[int, int, torch.device]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    else:
        device = torch.device("cpu")
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return rank, world, device


def lr_at(step: int, settings: TrainSettings) -> float:
    """Linear warm-up to ``lr``, then cosine decay to 10 % of it at the last step."""
    if step < settings.warmup:
        return settings.lr * (step + 1) / settings.warmup
    progress = (step - settings.warmup) / max(1, settings.steps - settings.warmup)
    return settings.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def _save(path: Path, model, opt, step: int, settings: TrainSettings, elapsed_s: float) -> None:
    tmp = path.with_suffix(".tmp")
    core = model.module if hasattr(model, "module") else model
    torch.save({"step": step, "model": core.state_dict(), "optimizer": opt.state_dict(),
                "settings": asdict(settings), "model_config": core.config.to_dict(),
                "elapsed_s": round(elapsed_s, 3)}, tmp)  # fmt: skip
    tmp.replace(path)


#: the queries validation scores: each target's audio and text query, and the swap test's (another class's clip)
QUERY_KINDS = ("audio", "text", "swap")


def evaluate(model, dataset: ManifestDataset, device: torch.device, batch_size: int = 4) -> dict:
    """Mean SI-SDR and SI-SDRi (vs the mixture's W channel) of the targets of a manifest, per query type
    (:data:`QUERY_KINDS`; ``swap``: another target's audio query, which a query-using model does worse with)."""
    from foabench.model.loss import si_sdr

    model.eval()
    scores: dict[str, list[float]] = {**{k: [] for k in QUERY_KINDS}, "mixture": []}
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=0)
    with torch.inference_mode():
        for batch in loader:
            mix, ref = batch["mixture"].to(device), batch["target"].to(device).double()
            scores["mixture"] += si_sdr(batch["w"].double(), batch["target"].double()).tolist()
            for kind in QUERY_KINDS:
                est = model(mix, batch[f"{kind}_query"].to(device)).double()
                scores[kind] += si_sdr(est, ref).cpu().tolist()
    model.train()
    base = np.array(scores["mixture"])
    out = {"targets": len(base), "mixture_si_sdr": round(float(base.mean()), 3)}
    for kind in QUERY_KINDS:
        vals = np.array(scores[kind])
        out[f"{kind}_query_si_sdr"] = round(float(vals.mean()), 3)
        out[f"{kind}_query_si_sdri"] = round(float((vals - base).mean()), 3)
    return out


def train(settings: TrainSettings, resume: bool = False, progress: bool = True, stop_after: int | None = None) -> dict:
    """Run (or resume) training; returns the last validation metrics (empty without ``val``).

    ``stop_after`` ends this invocation after that many total steps (with a checkpoint), as an interruption
    would; ``resume`` then continues to ``settings.steps``."""
    from tqdm import tqdm

    from foabench.synth.queries.registry import open_encoder

    for name, low in (("steps", 1), ("batch_size", 1), ("workers", 0), ("val_every", 1), ("ckpt_every", 1),
                      ("log_every", 1), ("warmup", 0)):  # fmt: skip
        if getattr(settings, name) < low:
            raise ValueError(f"{name} must be at least {low}, got {getattr(settings, name)}")
    if settings.mix_on not in MIX_ON:
        raise ValueError(f"mix_on must be one of {', '.join(MIX_ON)}, not {settings.mix_on!r}")
    rank, world, device = _distributed()
    torch.set_num_threads(settings.threads or os.cpu_count() or 1)
    torch.manual_seed(settings.seed)
    out = Path(settings.out)
    ckpts = out / CKPT_DIR
    ckpts.mkdir(parents=True, exist_ok=True)
    banks = BankSet.open(settings.banks)
    encoder = open_encoder(settings.encoder)
    val_rows = read_manifest(settings.val).rows if settings.val else []
    val_texts = [e["query"]["text"] for r in val_rows for e in r["events"] if e.get("query")]
    table = build_query_table(encoder, banks, settings.cache, val_texts)
    spec = load_spec(settings.spec)
    stream = SceneStream(spec, list(banks.banks.values()), settings.split, settings.seed)
    model = make_model(settings.model, settings.config, settings.model_overrides, encoder.dim).to(device)
    loss_fn = training_loss(model, settings)
    opt = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    start, elapsed_before = 0, 0.0
    if resume and (ckpts / LAST).is_file():
        state = torch.load(ckpts / LAST, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        start = int(state["step"])
        elapsed_before = float(state.get("elapsed_s", 0.0))
    elif (out / "metrics.jsonl").exists() and not resume:
        raise ValueError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
    n_channels = model.config.n_channels
    if rank == 0:
        info = {
            "settings": asdict(settings),
            "model_config": model.config.to_dict(),
            "generator": f"foabench {synth.__version__}",
            "parameters": sum(p.numel() for p in model.parameters()),
            "encoder": encoder.name,
            "encoder_hash": encoder.hash,
            "banks": {n: b.fingerprint for n, b in banks.banks.items()},
            "world_size": world,
            "device": str(device),
        }
        atomic_write_text(out / "config.json", json.dumps(info, indent=2, sort_keys=True) + "\n")
    core = model
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    if settings.compile:
        compile_blocks(core)
    condition = getattr(core.config, "condition", "embedding")
    cloud_points = int(getattr(core.config, "cloud_points", 256))
    on_device = settings.mix_on == "device"
    data = DynamicMixDataset(stream, settings.banks, table, n_channels, settings.query_recipe, condition, cloud_points,
                             gather_only=on_device)  # fmt: skip
    mixer = DeviceMixer(device) if on_device else None
    remaining = settings.steps - start
    loader = DataLoader(
        data,
        batch_size=settings.batch_size,
        sampler=StreamSampler(start * settings.batch_size, remaining * settings.batch_size, rank, world),
        num_workers=settings.workers,
        persistent_workers=False,
        prefetch_factor=4 if settings.workers > 0 else None,
        collate_fn=gathered_batch if on_device else None,
    )
    val_set = (
        ManifestDataset(val_rows, settings.banks, table, n_channels, condition, cloud_points) if val_rows else None
    )
    metrics_path = out / "metrics.jsonl"
    last_val: dict = {}
    t_last, render_times = time.perf_counter(), []
    t_start = t_last
    bar = tqdm(total=settings.steps, initial=start, desc=f"train {settings.model}-{settings.config}", unit="step",
               disable=not progress or rank != 0)  # fmt: skip
    model.train()
    step = logged_step = start
    for mixture, target, query, render_s in loader:
        if mixer is not None:  # mixture and target are the gathered scenes and the targets' indices
            mixture, target = mix_gathered(mixer, mixture, target, n_channels)
        lr = lr_at(step, settings)
        for group in opt.param_groups:
            group["lr"] = lr
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            est = model(mixture.to(device), query.to(device))
        loss, parts = loss_fn(est.float(), target.to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        loss = loss.detach()
        torch.nn.utils.clip_grad_norm_(model.parameters(), settings.grad_clip)
        opt.step()
        step += 1
        render_times += render_s.tolist()
        bar.update(1)
        if rank == 0 and (step % settings.log_every == 0 or step == settings.steps):
            now = time.perf_counter()
            record = {
                "step": step,
                "loss": round(float(loss), 5),
                "lr": lr,
                **{k: round(float(v.detach() if torch.is_tensor(v) else v), 4) for k, v in parts.items()},
                "steps_per_s": round((step - logged_step) / (now - t_last), 4),
                "render_mixtures_per_s_per_worker": round(1.0 / float(np.mean(render_times)), 3),
            }
            _append(metrics_path, record)
            t_last, render_times, logged_step = now, [], step
            bar.set_postfix(loss=f"{float(loss):.3f}")
        stopping = stop_after is not None and step >= stop_after
        out_of_time = settings.max_minutes > 0 and time.perf_counter() - t_start >= 60 * settings.max_minutes
        stopping = stopping or out_of_time
        if rank == 0 and (step % settings.ckpt_every == 0 or step == settings.steps or stopping):
            elapsed = elapsed_before + time.perf_counter() - t_start
            _save(ckpts / f"step{step:07d}.pt", core, opt, step, settings, elapsed)
            _save(ckpts / LAST, core, opt, step, settings, elapsed)
        if rank == 0 and val_set is not None and (step % settings.val_every == 0 or step == settings.steps
                                                  or out_of_time):  # fmt: skip
            last_val = evaluate(core, val_set, device)
            _append(metrics_path, {"step": step, "val": last_val})
        if stopping:
            break
    bar.close()
    return last_val


def compile_blocks(model: torch.nn.Module) -> None:
    """``torch.compile`` in place each transformer block of ``model`` (BSAST: the element-wise work around the
    matmuls is fused; the STFT's complex ops stay eager), or the whole model where it has none (ResUNet). The first
    step pays the compilation (2 cores: about 40 s for BSAST-tiny, 150 s for ResUNet-tiny)."""
    blocks = getattr(model, "blocks", None)
    if blocks is None:
        model.compile()
        return
    for block in blocks:
        block.compile()


def checkpoint_path(run: str | Path) -> Path:
    """The checkpoint a run spec names: a ``.pt`` file, or a run folder's ``checkpoints/last.pt``."""
    run = Path(run)
    ckpt = run if run.suffix == ".pt" else run / CKPT_DIR / LAST
    if not ckpt.is_file():
        raise FileNotFoundError(f"{run}: no checkpoint {ckpt}; train with `foabench train --out RUN`")
    return ckpt


def load_trained(run: str | Path, device: str = "cpu") -> tuple[torch.nn.Module, dict]:
    """The model of a checkpoint (a run folder's ``last.pt`` or a given ``.pt``), in eval mode, and the run's
    ``config.json`` plus ``step``, ``checkpoint`` (path) and ``checkpoint_sha256``."""
    from foabench.synth.audio_io import sha256_file

    ckpt = checkpoint_path(run)
    folder = ckpt.parent.parent if ckpt.parent.name == CKPT_DIR else ckpt.parent
    state = torch.load(ckpt, map_location=device, weights_only=False)
    info = json.loads((folder / "config.json").read_text()) if (folder / "config.json").is_file() else {}
    settings = state["settings"]
    info.setdefault("settings", settings)
    model = make_model(settings["model"], settings["config"], settings["model_overrides"],
                       int(state["model_config"]["query_dim"]))  # fmt: skip
    model.load_state_dict(state["model"])
    info.setdefault("parameters", sum(p.numel() for p in model.parameters()))
    extra = {"step": int(state["step"]), "checkpoint": str(ckpt), "checkpoint_sha256": sha256_file(ckpt),
             "train_seconds": state.get("elapsed_s")}  # fmt: skip
    return model.eval(), {**info, **extra}


def run_is_complete(run: str | Path, steps: int) -> bool:
    """True when the run folder's last checkpoint reached ``steps``."""
    ckpt = Path(run) / CKPT_DIR / LAST
    return ckpt.is_file() and int(torch.load(ckpt, map_location="cpu", weights_only=False)["step"]) >= steps


def _append(path: Path, record: dict) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, sort_keys=True) + "\n")
