"""Training the built-in encoder's audio tower contrastively (InfoNCE, CLAP-style) into the text tower's space.

Pairs are (clip, caption) from a source bank; with probability ``template_p`` the caption is replaced by a
class phrase ("the sound of a piano") so short class queries work too. Batches are class-balanced crops of
``crop_s`` seconds (tiled when shorter). The loss is symmetric cross-entropy over the audio-text similarity
matrix (learnable temperature), where every pair of the same class counts as a positive (captions of one
class say nearly the same thing, so they are not treated as negatives). The text tower stays frozen.
Clips of the held-out split groups (the ``test`` share of :func:`foabench.synth.scenes.splits.plan_splits`, the same
assignment scene splits use) are never trained on; the retrieval figures in ``encoder.json`` come from them.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from foabench.synth.audio_io import read_audio
from foabench.synth.banks.format import Bank
from foabench.synth.queries.builtin import AudioTower, BuiltinEncoder, save_encoder, update_info
from foabench.synth.queries.melspec import MelConfig
from foabench.synth.queries.retrieval import retrieval_report
from foabench.synth.queries.text_tower import embed_sentences
from foabench.synth.scenes.query_plan import class_phrase
from foabench.synth.scenes.splits import plan_splits

TEMPLATES_FOR_TRAINING = 4


@dataclass
class TrainConfig:
    steps: int = 500
    batch_size: int = 32
    crop_s: float = 1.5
    lr: float = 2e-3
    weight_decay: float = 1e-4
    template_p: float = 0.3
    seed: int = 0
    held_out_split: str = "test"
    # the starter-v1 benchmark's split (the demo samples with it too): its test groups are the encoder's held-out clips,
    # so no query of a benchmark test target is ever trained on
    splits: tuple[tuple[str, float], ...] = (("train", 0.6), ("val", 0.2), ("test", 0.2))
    split_seed: int = 0
    threads: int = 2


def _load_clips(bank: Bank, sample_rate: int) -> list[np.ndarray]:
    waves = []
    for rec in bank.records:
        wave, sr = read_audio(bank.resolve(rec.path))
        if sr != sample_rate:
            raise ValueError(f"bank {bank.name!r} is at {sr} Hz; the encoder is configured for {sample_rate} Hz")
        waves.append(wave[:, 0])
    return waves


def _crop(rng: np.random.Generator, wave: np.ndarray, frames: int) -> np.ndarray:
    if len(wave) <= frames:
        return np.tile(wave, -(-frames // len(wave)))[:frames]
    start = int(rng.integers(len(wave) - frames + 1))
    return wave[start : start + frames]


def train_builtin_encoder(bank_root: str | Path, out: str | Path, cfg: TrainConfig | None = None,
                          progress: bool = True) -> BuiltinEncoder:  # fmt: skip
    """Train the audio tower on a source bank and save the encoder folder ``out``; return the loaded encoder."""
    cfg = cfg or TrainConfig()
    t_start = time.perf_counter()
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    rng = np.random.default_rng(cfg.seed)
    bank = Bank.open(bank_root, kind="sources")
    mel = MelConfig(sample_rate=bank.sample_rate, f_max=min(14000.0, 0.45 * bank.sample_rate))
    plan = plan_splits([bank], list(cfg.splits), cfg.split_seed)
    held = [plan.sources[(bank.name, r.split_group)] == cfg.held_out_split for r in bank.records]
    labels = [r.labels[0] for r in bank.records]
    classes = sorted(set(labels))
    train_idx = [i for i, h in enumerate(held) if not h]
    test_idx = [i for i, h in enumerate(held) if h]
    if len({labels[i] for i in train_idx}) < 2 or len(test_idx) < 2:
        raise ValueError(f"bank {bank.name!r} has too few classes or held-out clips to train an encoder")
    waves = _load_clips(bank, mel.sample_rate)
    captions = [r.caption or class_phrase(lab, 0) for r, lab in zip(bank.records, labels, strict=True)]
    caption_emb = torch.from_numpy(embed_sentences(captions, batch_size=64))  # always this list: deterministic
    phrases = [class_phrase(c, k) for c in classes for k in range(TEMPLATES_FOR_TRAINING)]
    phrase_emb = torch.from_numpy(embed_sentences(phrases, batch_size=64))
    phrase_emb = phrase_emb.reshape(len(classes), TEMPLATES_FOR_TRAINING, -1)
    class_of = torch.tensor([classes.index(lab) for lab in labels])
    by_class = {c: [i for i in train_idx if labels[i] == c] for c in classes}
    by_class = {c: v for c, v in by_class.items() if v}

    tower = AudioTower(mel)
    log_scale = torch.nn.Parameter(torch.tensor(np.log(1 / 0.07), dtype=torch.float32))
    opt = torch.optim.AdamW([*tower.parameters(), log_scale], lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.steps, pct_start=0.1)
    frames = round(cfg.crop_s * mel.sample_rate)
    pool = sorted(by_class)
    tower.train()
    losses = []
    for _ in tqdm(range(cfg.steps), desc="train encoder", unit="step", disable=not progress):
        picked_classes = [pool[int(k)] for k in rng.integers(len(pool), size=cfg.batch_size)]
        idx = [by_class[c][int(rng.integers(len(by_class[c])))] for c in picked_classes]
        audio = torch.from_numpy(np.stack([_crop(rng, waves[i], frames) for i in idx]))
        use_template = rng.uniform(size=len(idx)) < cfg.template_p
        text = torch.stack([
            phrase_emb[int(class_of[i]), int(rng.integers(TEMPLATES_FOR_TRAINING))] if t else caption_emb[i]
            for i, t in zip(idx, use_template, strict=True)
        ])  # fmt: skip
        a = F.normalize(tower(audio), dim=1)
        logits = log_scale.exp().clamp(max=100.0) * a @ text.T
        cls = class_of[idx]
        positives = (cls[:, None] == cls[None, :]).float()
        targets = positives / positives.sum(dim=1, keepdim=True)
        loss = 0.5 * (
            -(targets * F.log_softmax(logits, dim=1)).sum(1).mean()
            - (targets * F.log_softmax(logits.T, dim=1)).sum(1).mean()
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
    tower.eval()
    train_seconds = time.perf_counter() - t_start
    info = {
        "training": {
            "bank": bank.name,
            "bank_fingerprint": bank.fingerprint,
            "config": asdict(cfg),
            "train_clips": len(train_idx),
            "held_out_clips": len(test_idx),
            "final_loss": round(float(np.mean(losses[-20:])), 4),
            "train_seconds": round(train_seconds, 1),
        },
    }
    save_encoder(out, tower, info)
    encoder = BuiltinEncoder.load(out)
    held_waves = [waves[i] for i in test_idx]
    report = retrieval_report(encoder, held_waves, mel.sample_rate, [labels[i] for i in test_idx],
                              [captions[i] for i in test_idx])  # fmt: skip
    update_info(out, {"held_out_retrieval": report})
    return BuiltinEncoder.load(out)
