"""Train and evaluate the CTC recognizer on manifests.

The loop runs whole epochs until `TrainConfig.epochs` or the wall-clock budget
`max_minutes` is reached, evaluates dev loss and greedy CER after each epoch, and
keeps the checkpoint with the lowest dev CER. Each epoch appends a row to the
checkpoint's `history` (the learning curve).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from voxlate.data.manifest import ManifestEntry
from voxlate.eval.metrics import cer, wer
from voxlate.tasks.ctc.augment import AugmentConfig
from voxlate.tasks.ctc.dataset import collate, load_clips, make_batches, pad_targets
from voxlate.tasks.ctc.decode import beam_decode, greedy_decode
from voxlate.tasks.ctc.features import SAMPLE_RATE
from voxlate.tasks.ctc.model import CTCConfig, CTCModel, load_ctc, save_ctc
from voxlate.text.normalize import normalize_text
from voxlate.text.tokenizers import Tokenizer


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 100  # upper bound on epochs
    max_minutes: float = 15.0  # wall-clock budget; stops after the epoch that passes it
    batch_seconds: float = 120.0  # audio per batch, padding included, seconds
    lr: float = 1.5e-3  # peak AdamW learning rate
    warmup_steps: int = 200  # linear warm-up, then cosine decay over the epochs
    weight_decay: float = 1e-2
    grad_clip: float = 5.0  # max gradient norm
    seed: int = 0
    threads: int = 0  # torch CPU threads; 0 keeps torch's default
    augment: AugmentConfig | None = field(default_factory=AugmentConfig)  # None: no augmentation
    max_duration: float = 16.0  # skip training utterances longer than this, seconds


def prepare_texts(entries: Sequence[ManifestEntry]) -> list[str]:
    """Training targets: lower-cased, punctuation removed."""
    return [normalize_text(e.text) for e in entries]


def lr_at(step: int, total: int, cfg: TrainConfig) -> float:
    """Learning rate at `step` of `total`: linear warm-up, then cosine to 5 % of the peak."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    p = min(1.0, (step - cfg.warmup_steps) / max(1, total - cfg.warmup_steps))
    return cfg.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * p)))


def planned_steps(epoch: int, steps_per_epoch: int, cfg: TrainConfig, elapsed_s: float) -> int:
    """The schedule's length in steps, as known at the start of `epoch` (1-based).

    With a time budget (`cfg.max_minutes`), the epochs that fit are estimated from the
    `elapsed_s` seconds the finished epochs took, so the cosine decay ends with the budget.
    """
    if not cfg.max_minutes or epoch == 1:
        return steps_per_epoch * cfg.epochs
    per_epoch = elapsed_s / (epoch - 1)
    return steps_per_epoch * max(epoch, min(cfg.epochs, int(cfg.max_minutes * 60 / per_epoch)))


@torch.no_grad()
def recognize_clips(
    model: CTCModel,
    tokenizer: Tokenizer,
    clips: Sequence[np.ndarray],
    beam: int = 0,
    batch_seconds: float = 60.0,
) -> list[str]:
    """Hypothesis text per clip (int16 16 kHz); beam 0 or 1 = greedy, else prefix beam search."""
    model.eval()
    hyps: list[str] = [""] * len(clips)
    for idx in make_batches([len(c) for c in clips], int(batch_seconds * SAMPLE_RATE)):
        b = collate(clips, idx, model.cfg.encoder.n_mels)
        logp, out_len = model(b.feats, b.lengths)
        seqs = beam_decode(logp, out_len, beam) if beam > 1 else greedy_decode(logp, out_len)
        for i, s in zip(idx, seqs, strict=True):
            hyps[i] = " ".join(tokenizer.decode(s).split())
    return hyps


@torch.no_grad()
def dev_loss(
    model: CTCModel, clips: Sequence[np.ndarray], targets: Sequence[list[int]], batch_seconds: float
) -> float:
    model.eval()
    total, n = 0.0, 0
    for idx in make_batches([len(c) for c in clips], int(batch_seconds * SAMPLE_RATE)):
        b = collate(clips, idx, model.cfg.encoder.n_mels)
        tg, tl = pad_targets([targets[i] for i in idx])
        total += float(model.loss(b.feats, b.lengths, tg, tl)) * len(idx)
        n += len(idx)
    return total / max(1, n)


def train_ctc(
    train: Sequence[ManifestEntry],
    dev: Sequence[ManifestEntry],
    out: str | os.PathLike,
    model_cfg: CTCConfig | None = None,
    cfg: TrainConfig | None = None,
    tokenizer_kind: str = "char",
    noises: Sequence[np.ndarray] = (),
    cache_dir: str | os.PathLike | None = None,
    log: Callable[[str], None] = print,
) -> list[dict]:
    """Train a CTC model; writes the best checkpoint (by dev CER) to `out`; returns the history."""
    cfg = cfg or TrainConfig()
    model_cfg = model_cfg or CTCConfig()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    train = [e for e in train if e.duration <= cfg.max_duration]
    train_text, dev_text = prepare_texts(train), prepare_texts(dev)
    tok = Tokenizer.build(train_text, tokenizer_kind)
    model_cfg = replace(
        model_cfg, vocab_size=tok.vocab_size, language=train[0].language if train else ""
    )
    cache = Path(cache_dir) if cache_dir else None
    train_clips = load_clips(train, cache / "train.npz" if cache else None)
    dev_clips = load_clips(dev, cache / "dev.npz" if cache else None)
    train_ids = [tok.encode(t) for t in train_text]
    dev_ids = [tok.encode(t) for t in dev_text]
    model = CTCModel(model_cfg)
    n_params = sum(p.numel() for p in model.parameters())
    log(
        f"train {len(train)} utts {sum(e.duration for e in train) / 60:.1f} min, dev {len(dev)}, vocab {tok.vocab_size}, params {n_params / 1e6:.2f} M"
    )
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    max_samples = int(cfg.batch_seconds * SAMPLE_RATE)
    lengths = [len(c) for c in train_clips]
    steps_per_epoch = len(make_batches(lengths, max_samples))
    t0, step, best, history = time.time(), 0, math.inf, []
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        total_steps = planned_steps(epoch, steps_per_epoch, cfg, time.time() - t0)
        losses = []
        for idx in make_batches(lengths, max_samples, rng):
            for g in opt.param_groups:
                g["lr"] = lr_at(step, total_steps, cfg)
            b = collate(train_clips, idx, model_cfg.encoder.n_mels, cfg.augment, noises, rng)
            tg, tl = pad_targets([train_ids[i] for i in idx])
            loss = model.loss(b.feats, b.lengths, tg, tl)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            losses.append(loss.item())
            step += 1
        row = {
            "epoch": epoch,
            "step": step,
            "minutes": (time.time() - t0) / 60,
            "train_loss": float(np.mean(losses)),
        }
        if dev:
            row["dev_loss"] = dev_loss(model, dev_clips, dev_ids, cfg.batch_seconds)
            row["dev_cer"] = cer(dev_text, recognize_clips(model, tok, dev_clips))
        history.append(row)
        log(
            " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())
        )
        score = row.get("dev_cer", -epoch)
        if score <= best:
            best = score
            save_ctc(out, model, tok, history)
        if cfg.max_minutes and time.time() - t0 > cfg.max_minutes * 60:
            break
    # keep the full curve in the best checkpoint
    ckpt = torch.load(out, map_location="cpu", weights_only=False)
    ckpt["history"] = history
    ckpt["train_minutes"] = (time.time() - t0) / 60
    from voxlate.audio import atomic_path

    with atomic_path(out) as tmp:
        torch.save(ckpt, tmp)
    return history


def evaluate_ctc(
    checkpoint: str | os.PathLike,
    entries: Sequence[ManifestEntry],
    beam: int = 0,
    cache: str | os.PathLike | None = None,
) -> dict:
    """CER and WER (fractions) of a checkpoint on `entries`, with the hypotheses."""
    model, tok, _ = load_ctc(checkpoint)
    clips = load_clips(entries, cache)
    refs = prepare_texts(entries)
    hyps = recognize_clips(model, tok, clips, beam)
    return {
        "cer": cer(refs, hyps),
        "wer": wer(refs, hyps),
        "n": len(entries),
        "refs": refs,
        "hyps": hyps,
    }


def plot_history(
    history: Sequence[dict], png: str | os.PathLike, title: str = "CTC training"
) -> None:
    """Learning curve: losses (left axis) and dev CER (right axis) per epoch, as a PNG."""
    from voxlate.plots import pyplot, save_png

    plt = pyplot()
    ep = [h["epoch"] for h in history]
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=120)
    ax.plot(ep, [h["train_loss"] for h in history], label="train loss")
    if "dev_loss" in history[0]:
        ax.plot(ep, [h["dev_loss"] for h in history], label="dev loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("CTC loss per token")
    lines, labels = ax.get_legend_handles_labels()
    if "dev_cer" in history[0]:
        ax2 = ax.twinx()
        ax2.plot(ep, [100 * h["dev_cer"] for h in history], "C3--", label="dev CER %")
        ax2.set_ylabel("dev CER (%)")
        l2, lb2 = ax2.get_legend_handles_labels()
        lines, labels = lines + l2, labels + lb2
    ax.legend(lines, labels, loc="upper right", fontsize=8)
    ax.set_title(title)
    save_png(fig, png, dpi=120)
