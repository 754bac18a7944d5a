"""One training loop for every diffusion task: EMA, checkpoints, progress, AMP, DDP.

A task supplies a model (nn.Module), a loss ``loss_fn(model, batch, generator) -> scalar``,
an endless iterator of batches and its own frozen config dataclass (everything needed to
rebuild the model); `train` does the rest. Launch on several GPUs with
``torchrun --nproc_per_node=N -m voxlate ...``: the loop notices WORLD_SIZE and wraps the
model in DistributedDataParallel. The device is chosen at run time (CUDA if present).
"""

from __future__ import annotations

import copy
import json
import math
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from voxlate.checkpoint import load_checkpoint, save_checkpoint
from voxlate.distributed import any_rank
from voxlate.training import TrainingInterrupted, TrainRun, TrainSettings

LossFn = Callable[[nn.Module, Any, torch.Generator], torch.Tensor]


@dataclass(frozen=True)
class TrainConfig(TrainSettings):
    """Optimisation settings of step-based training; saved in every checkpoint next to the
    model config."""

    steps: int = 10_000  # optimizer steps in total (a resumed run continues up to this)
    lr: float = 1e-4  # Adam learning rate
    warmup_steps: int = 100  # linear learning-rate warm-up
    weight_decay: float = 0.0  # AdamW weight decay
    grad_clip: float = 1.0  # max gradient norm; 0 disables clipping
    ema_decay: float = 0.999  # EMA decay (with the 1+n/10+n warm-up of Song et al.)
    seed: int = 0  # seed for python, numpy and torch (rank added under DDP)
    precision: str = "fp32"  # 'fp32', 'bf16' or 'fp16' (autocast on CUDA only)
    log_every: int = 50  # steps between lines in the .log.jsonl file
    ckpt_every: int = 1000  # steps between checkpoints (and one at the end)
    max_minutes: float = 0.0  # stop and save after this wall time (--minutes); 0 means no limit
    device: str = "auto"  # 'auto' (CUDA if available, else CPU), 'cpu', 'cuda', 'cuda:1', ...


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def pick_device(name: str = "auto") -> torch.device:
    """The device to train or run on; 'auto' is CUDA when present, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


@dataclass(frozen=True)
class DistInfo:
    rank: int  # global rank (0 without DDP)
    world_size: int  # number of processes (1 without DDP)
    device: torch.device  # this process's device

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup_distributed(device: str = "auto") -> DistInfo:
    """Initialise torch.distributed when launched by torchrun (WORLD_SIZE > 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and torch.distributed.is_available():
        if not torch.distributed.is_initialized():
            torch.distributed.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        local = int(os.environ.get("LOCAL_RANK", "0"))
        dev = torch.device(f"cuda:{local}") if torch.cuda.is_available() else torch.device("cpu")
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        return DistInfo(torch.distributed.get_rank(), world, dev)
    return DistInfo(0, 1, pick_device(device))


class EMA:
    """Exponential moving average of a model's parameters (Polyak averaging).

    decay_n = min(decay, (1 + n)/(10 + n)) so early averages are not dominated by init.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.n = 0

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.n += 1
        d = min(self.decay, (1 + self.n) / (10 + self.n))
        for e, p in zip(self.model.parameters(), model.parameters(), strict=True):
            e.lerp_(p.detach(), 1 - d)
        for eb, b in zip(self.model.buffers(), model.buffers(), strict=True):
            eb.copy_(b)


def to_device(batch: Any, device: torch.device) -> Any:
    """Move tensors in a (nested) tuple/list/dict batch to `device`."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, tuple | list):
        return type(batch)(to_device(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    return batch


def train(
    model: nn.Module,
    loss_fn: LossFn,
    batches: Iterator[Any],
    config: Any,
    train_config: TrainConfig,
    out: str | os.PathLike,
    resume: str | os.PathLike | None = None,
    progress: bool = True,
) -> Path:
    """Train `model` and write checkpoints to `out` (a .pt path); returns `out`.

    config: the task's frozen config dataclass, stored in the checkpoint so that
    `load_checkpoint(out)` can rebuild the model. resume: a checkpoint to continue from
    (weights, EMA, optimizer and step). The loss is logged every `log_every` steps to
    ``<out>.log.jsonl`` (one JSON object per line: step, loss, lr, elapsed seconds).
    On Ctrl-C it saves a checkpoint and raises `TrainingInterrupted`; with
    `max_minutes` it saves and returns once the budget is spent.
    """
    tc = train_config
    dist = setup_distributed(tc.device)
    seed_everything(tc.seed + dist.rank)
    gen = torch.Generator(device=dist.device).manual_seed(tc.seed + dist.rank)
    model = model.to(dist.device)
    ema = EMA(model, tc.ema_decay)
    opt = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    step = 0
    if resume is not None:
        ck = load_checkpoint(resume, map_location=dist.device)
        model.load_state_dict(ck.model)
        if ck.ema is not None:
            ema.model.load_state_dict(ck.ema)
        if ck.optimizer is not None:
            opt.load_state_dict(ck.optimizer)
        step = ck.step
        ema.n = step
    net: nn.Module = model
    if dist.world_size > 1:
        net = nn.parallel.DistributedDataParallel(
            model, device_ids=[dist.device.index] if dist.device.type == "cuda" else None
        )
    use_amp = tc.precision in ("bf16", "fp16") and dist.device.type == "cuda"
    amp_dtype = torch.bfloat16 if tc.precision == "bf16" else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and tc.precision == "fp16")
    out = Path(out)
    log_path = out.with_suffix(".log.jsonl")
    start = time.monotonic()
    run = TrainRun(tc.max_minutes, tc.steps, step, progress and dist.main).start()
    running = math.nan
    history: list[tuple[int, float]] = []

    def save() -> None:
        if dist.main:
            save_checkpoint(
                out,
                config=config,
                model=model.state_dict(),
                ema=ema.model.state_dict(),
                optimizer=opt.state_dict(),
                step=step,
                train_config=tc,
                extra={"loss_history": history, "train_seconds": time.monotonic() - start},
            )

    net.train()
    while step < tc.steps and not any_rank(run.stop):  # every rank stops at the same step
        batch = to_device(next(batches), dist.device)
        lr = tc.lr * min(1.0, (step + 1) / max(1, tc.warmup_steps))
        for g in opt.param_groups:
            g["lr"] = lr
        ctx = torch.autocast(dist.device.type, dtype=amp_dtype) if use_amp else nullcontext()
        with ctx:
            loss = loss_fn(net, batch, gen)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if tc.grad_clip > 0:
            scaler.unscale_(opt)
            nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
        scaler.step(opt)
        scaler.update()
        ema.update(model)
        step += 1
        value = float(loss.detach())
        running = value if math.isnan(running) else 0.98 * running + 0.02 * value
        run.advance(loss=f"{running:.4f}")
        if step % tc.log_every == 0 or step == tc.steps:
            history.append((step, running))
            if dist.main:
                with open(log_path, "a", encoding="utf-8") as f:
                    f.write(
                        json.dumps(
                            {
                                "step": step,
                                "loss": running,
                                "lr": lr,
                                "elapsed_s": round(time.monotonic() - start, 1),
                            }
                        )
                        + "\n"
                    )
        if step % tc.ckpt_every == 0:
            save()
    run.close()
    save()
    if dist.world_size > 1:
        torch.distributed.barrier()
    if run.interrupted:
        raise TrainingInterrupted(out if dist.main else None, step)
    if run.out_of_time and step < tc.steps and dist.main:
        run.write(f"time limit of {tc.max_minutes} min reached at step {step}; saved {out}")
    return out
