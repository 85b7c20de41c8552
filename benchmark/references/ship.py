"""``foabench references ship``: turn a finished training run into a shipped reference (see the package docstring)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
import yaml

from foabench.benchmark.references import ENCODER, INFO_FILE, MODEL_FILE, ROOT, ReferenceError, load_recipe
from foabench.synth.audio_io import atomic_copy_tree, atomic_write_text

#: float16 weights are shipped when the estimates they give agree with the float32 ones to at least this SI-SDR
#: (dB) on the run's validation mixtures: far below what any reported figure resolves
FP16_AGREEMENT_DB = 50.0
CHECK_TARGETS = 16


def _last_val(metrics: Path) -> dict:
    val = {}
    for line in metrics.read_text().splitlines():
        record = json.loads(line)
        if "val" in record:
            val = {"step": record["step"], **record["val"]}
    return val


def fp16_agreement_db(model: torch.nn.Module, half_state: dict, settings: dict) -> float:
    """Worst SI-SDR (dB) of the float16-weight model's estimates against the float32 model's, on the first
    :data:`CHECK_TARGETS` targets of the run's validation manifest."""
    from foabench.benchmark.train import make_model
    from foabench.benchmark.train_data import ManifestDataset, build_query_table
    from foabench.model.loss import si_sdr
    from foabench.synth.banks.bank_set import BankSet
    from foabench.synth.queries.registry import open_encoder
    from foabench.synth.scenes.manifest import read_manifest

    if not settings.get("val"):
        raise ReferenceError("the run has no validation manifest to check float16 weights on")
    rows = read_manifest(settings["val"]).rows
    encoder = open_encoder(settings["encoder"])
    table = build_query_table(encoder, BankSet.open(settings["banks"]), settings["cache"])
    data = ManifestDataset(rows, settings["banks"], table, model.config.n_channels)
    half = make_model(settings["model"], settings["config"], settings["model_overrides"], model.config.query_dim)
    half.load_state_dict(half_state)
    half.eval()
    worst = float("inf")
    with torch.inference_mode():
        for i in range(min(CHECK_TARGETS, len(data))):
            item = data[i]
            mix, q = item["mixture"][None], item["audio_query"][None]
            worst = min(worst, float(si_sdr(half(mix, q).double(), model(mix, q).double())))
    return worst


def ship_run(run: str | Path, name: str, recipe: str | Path, overwrite: bool = False) -> Path:
    """Copy run ``run``'s last checkpoint into ``references/NAME`` (float16 where it agrees, see
    :data:`FP16_AGREEMENT_DB`), with its config, curve, recipe and the encoder it was trained with."""
    from foabench.benchmark.train import load_trained
    from foabench.synth.queries.registry import open_encoder

    run = Path(run)
    folder = ROOT / name
    if folder.exists() and not overwrite:  # refused before anything is loaded or copied
        raise ReferenceError(f"{folder} exists; pass --overwrite to replace it")
    recipe_fields = load_recipe(recipe)
    model, info = load_trained(run)
    settings = info["settings"]
    encoder = open_encoder(settings["encoder"])
    if encoder.hash != info.get("encoder_hash"):
        raise ReferenceError(f"{run}: trained with encoder {info.get('encoder_hash')}, {settings['encoder']} is "
                             f"{encoder.hash}")  # fmt: skip
    if (ENCODER / "encoder.json").is_file():
        shipped_encoder = open_encoder(str(ENCODER))
        if shipped_encoder.hash != encoder.hash:
            raise ReferenceError(f"{run} was trained with encoder {encoder.hash[:12]}, the shipped references with "
                                 f"{shipped_encoder.hash[:12]}: every reference must share one encoder")  # fmt: skip
    else:
        atomic_copy_tree(settings["encoder"], ENCODER)
    folder.mkdir(parents=True, exist_ok=True)
    state = model.state_dict()
    half = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    agreement = fp16_agreement_db(model, half, settings)
    use_half = agreement >= FP16_AGREEMENT_DB
    payload = {"step": info["step"], "model": half if use_half else state, "settings": settings,
               "model_config": model.config.to_dict(), "elapsed_s": info["train_seconds"]}  # fmt: skip
    tmp = folder / (MODEL_FILE + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(folder / MODEL_FILE)
    shutil.copy2(run / "config.json", folder / "config.json")
    shutil.copy2(run / "metrics.jsonl", folder / "metrics.jsonl")
    atomic_write_text(folder / "recipe.yaml", yaml.safe_dump(recipe_fields, sort_keys=False))
    record = {
        "name": name,
        "model": settings["model"],
        "config": settings["config"],
        "step": int(info["step"]),
        "steps_planned": int(settings["steps"]),
        "train_seconds": float(info["train_seconds"] or 0.0),
        "weights_dtype": "float16" if use_half else "float32",
        "fp16_agreement_db": round(agreement, 1),
        "encoder_hash": encoder.hash,
        "banks": info.get("banks", {}),
        "parameters": info.get("parameters"),
        "val": _last_val(run / "metrics.jsonl"),
    }
    atomic_write_text(folder / INFO_FILE, json.dumps(record, indent=2, sort_keys=True) + "\n")
    return folder
