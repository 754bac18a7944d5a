"""The epoch loop shared by the CTC recognizer, the speech translator and the text translator.

Each epoch runs the batches once with AdamW, a linear warm-up then cosine decay sized to
the time budget (`planned_steps`), evaluates on dev, appends a row to the history (the
learning curve) and keeps the weights with the best dev score. At the end the best
weights are saved once more with the whole history. The budget (``--minutes``), Ctrl-C
and the ETA come from `voxlate.training.TrainRun`.
"""

from __future__ import annotations

import copy
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from voxlate.tasks.ctc.augment import AugmentConfig
from voxlate.training import TrainingInterrupted, TrainRun, TrainSettings

Weights = dict[str, torch.Tensor]


@dataclass(frozen=True)
class EpochTrainConfig(TrainSettings):
    """Settings of epoch-based training (CTC, speech and text translation)."""

    epochs: int = 100  # upper bound on epochs
    max_minutes: float = 15.0  # wall-clock budget (--minutes): stops and saves after it; 0 = none
    batch_seconds: float = 120.0  # audio per batch, padding included, seconds
    lr: float = 1.5e-3  # peak AdamW learning rate
    warmup_steps: int = 200  # linear warm-up, then cosine decay over the epochs
    weight_decay: float = 1e-2  # AdamW weight decay
    grad_clip: float = 5.0  # max gradient norm
    seed: int = 0  # seed of torch and of the batch shuffling
    threads: int = 0  # torch CPU threads; 0 keeps torch's default
    augment: AugmentConfig | None = field(default_factory=AugmentConfig)  # None: no augmentation
    max_duration: float = 16.0  # skip training utterances longer than this, seconds


def lr_at(step: int, total: int, cfg: TrainSettings) -> float:
    """Learning rate at `step` of `total`: linear warm-up, then cosine to 5 % of the peak."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    p = min(1.0, (step - cfg.warmup_steps) / max(1, total - cfg.warmup_steps))
    return cfg.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * p)))


def planned_steps(epoch: int, steps_per_epoch: int, cfg: EpochTrainConfig, elapsed_s: float) -> int:
    """The schedule's length in steps, as known at the start of `epoch` (1-based).

    With a time budget (`cfg.max_minutes`), the epochs that fit are estimated from the
    `elapsed_s` seconds the finished epochs took, so the cosine decay ends with the budget.
    """
    if not cfg.max_minutes or epoch == 1:
        return steps_per_epoch * cfg.epochs
    per_epoch = elapsed_s / (epoch - 1)
    return steps_per_epoch * max(epoch, min(cfg.epochs, int(cfg.max_minutes * 60 / per_epoch)))


def format_row(row: dict[str, Any]) -> str:
    """'epoch=3 step=120 train_loss=1.234' for a history row."""
    return " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())


def run_epochs(
    model: nn.Module,
    cfg: EpochTrainConfig,
    batches: Callable[[np.random.Generator | None], Sequence[Any]],
    losses: Callable[[Any], dict[str, torch.Tensor]],
    evaluate: Callable[[], dict[str, float]],
    score_key: str,
    save: Callable[[Weights, list[dict[str, Any]], float], None],
    out: str,
    log: Callable[[str], None] = print,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Train `model` by epochs; returns the history (one row per epoch).

    batches(rng): one epoch's batches (shuffled with `rng`; None: their plain order, used
        once to count them); losses(batch): the batch's named losses, of which 'total'
        (else 'loss') is minimised; evaluate(): dev metrics after an epoch (model in eval
        mode; {} without dev data); score_key: the row key whose lowest value marks the
        weights to keep (missing: the latest epoch is kept);
    save(weights, history, minutes): write the checkpoint `out` (called on each new best
        and once at the end with the best weights and the whole history).
    Raises TrainingInterrupted after saving on Ctrl-C.
    """
    rng = np.random.default_rng(cfg.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = len(batches(None))
    step, best = 0, math.inf
    best_weights: Weights | None = None
    history: list[dict[str, Any]] = []
    with TrainRun(cfg.max_minutes, steps_per_epoch * cfg.epochs, progress=progress) as run:
        for epoch in range(1, cfg.epochs + 1):
            total_steps = planned_steps(epoch, steps_per_epoch, cfg, run.elapsed_s)
            run.set_total(total_steps)
            model.train()
            sums: dict[str, float] = {}
            n = 0
            for batch in batches(rng):
                for g in opt.param_groups:
                    g["lr"] = lr_at(step, total_steps, cfg)
                named = losses(batch)
                loss = named["total"] if "total" in named else named["loss"]
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                opt.step()
                for k, v in named.items():
                    sums[k] = sums.get(k, 0.0) + float(v.item())
                n += 1
                step += 1
                run.advance(loss=f"{float(loss.item()):.3f}")
                if run.stop:
                    break
            if run.interrupted:
                break
            row: dict[str, Any] = {"epoch": epoch, "step": step, "minutes": run.elapsed_s / 60}
            row.update({f"train_{k}": v / max(1, n) for k, v in sums.items()})
            model.eval()
            with torch.no_grad():
                row.update({k: float(v) for k, v in evaluate().items()})
            history.append(row)
            with tqdm.external_write_mode(file=sys.stderr):  # above the bar
                log(format_row(row))
            score = row.get(score_key, -epoch)
            if score <= best:
                best = score
                best_weights = copy.deepcopy(model.state_dict())
                save(best_weights, history, run.elapsed_s / 60)
            if run.stop:
                break
        minutes = run.elapsed_s / 60
    save(best_weights or model.state_dict(), history, minutes)
    if run.interrupted:
        raise TrainingInterrupted(out, step)
    return history
