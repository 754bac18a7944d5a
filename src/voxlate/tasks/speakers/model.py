"""SpeakerDiff training: a DDPM over speaker-embedding vectors (the model and its sampling
are `voxlate.engines.voice.speakerdiff`, which `--voice anonymize` uses at run time)."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from voxlate.checkpoint import export_inference
from voxlate.diffusion.ddpm import DDPM
from voxlate.diffusion.training import TrainConfig, train
from voxlate.engines.voice.speakerdiff import SpeakerDiffConfig, build_denoiser
from voxlate.errors import InputError


def _batches(x: torch.Tensor, batch_size: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    while True:
        yield x[torch.randint(0, len(x), (min(batch_size, len(x)),), generator=g)]


def train_speakerdiff(
    embeddings: np.ndarray,
    out: str | os.PathLike,
    denoiser: str = "mlp",
    train_config: TrainConfig | None = None,
    config: SpeakerDiffConfig | None = None,
    encoder: str = "resemblyzer",
    progress: bool = True,
) -> Path:
    """Train on embeddings (N, D) with the toolkit's loop; returns the checkpoint path."""
    e = np.asarray(embeddings, dtype=np.float32)
    if e.ndim != 2 or len(e) < 2:
        raise InputError("SpeakerDiff needs at least two embeddings of shape (N, D).")
    mean, std = e.mean(axis=0), e.std(axis=0) + 1e-6
    base = config or SpeakerDiffConfig()
    config = replace(
        base,
        dim=e.shape[1],
        denoiser=denoiser,
        mlp=replace(base.mlp, dim=e.shape[1]),
        mean=tuple(float(v) for v in mean),
        std=tuple(float(v) for v in std),
        encoder=encoder,
    )
    tc = train_config or TrainConfig(steps=1500, lr=1e-3, warmup_steps=100, ema_decay=0.999)
    x = torch.from_numpy((e - mean) / std)
    ddpm = DDPM.from_config(config.ddpm)

    def loss_fn(model: nn.Module, batch: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        return ddpm.loss(model, batch, gen)

    model = build_denoiser(config)
    return train(
        model, loss_fn, _batches(x, config.batch_size, tc.seed), config, tc, out, progress=progress
    )


def export_for_inference(path: str | os.PathLike, out: str | os.PathLike) -> Path:
    """Copy a SpeakerDiff checkpoint keeping only its config and EMA weights (small enough
    to ship in the package as the default anonymization model)."""
    return export_inference(path, out, expect=SpeakerDiffConfig)
