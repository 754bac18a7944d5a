"""Training an SGMSE+ enhancer: on-the-fly mixing (or paired folders) into the shared loop."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from voxlate.audio import load_audio
from voxlate.data.mixing import MixConfig, NoiseSampler, load_many, noisy_pairs
from voxlate.diffusion.training import TrainConfig, train
from voxlate.tasks.enhance.model import EnhanceConfig, ScoreModel, batch_to_specs, dsm_loss


def mixed_batches(
    clean: list[np.ndarray],
    noise: NoiseSampler,
    config: EnhanceConfig,
    mix: MixConfig,
    batch_size: int,
    seed: int,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless (y, x0) spectrogram batches (B, 2, F, chunk_frames), mixed on the fly."""
    n = (config.chunk_frames - 1) * config.stft.hop
    pairs = noisy_pairs(clean, noise, n, mix, seed)
    while True:
        ys, xs = zip(*(next(pairs) for _ in range(batch_size)), strict=True)
        yield batch_to_specs(
            torch.from_numpy(np.stack(ys)), torch.from_numpy(np.stack(xs)), config.stft
        )


def paired_batches(
    pairs: list[tuple[np.ndarray, np.ndarray]], config: EnhanceConfig, batch_size: int, seed: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless (y, x0) batches of aligned random excerpts from (noisy, clean) recordings."""
    rng = np.random.default_rng(seed)
    n = (config.chunk_frames - 1) * config.stft.hop
    while True:
        ys, xs = [], []
        for _ in range(batch_size):
            y, x = pairs[int(rng.integers(len(pairs)))]
            if len(y) < n:
                y, x = np.pad(y, (0, n - len(y))), np.pad(x, (0, n - len(x)))
            s = int(rng.integers(0, len(y) - n + 1))
            ys.append(y[s : s + n])
            xs.append(x[s : s + n])
        yield batch_to_specs(
            torch.from_numpy(np.stack(ys)), torch.from_numpy(np.stack(xs)), config.stft
        )


def train_enhancer(
    config: EnhanceConfig,
    train_config: TrainConfig,
    out: str | os.PathLike,
    clean_files: list[Path] | None = None,
    noise_files: list[Path] | None = None,
    pair_files: list[tuple[Path, Path]] | None = None,
    mix: MixConfig = MixConfig(),
    batch_size: int = 8,
    resume: str | os.PathLike | None = None,
    progress: bool = True,
) -> Path:
    """Train on clean + noise files mixed on the fly, or on (noisy, clean) pairs; returns `out`."""
    sr = config.sample_rate
    if pair_files:
        pairs = [(load_audio(y, sr).samples, load_audio(x, sr).samples) for y, x in pair_files]
        batches = paired_batches(pairs, config, batch_size, train_config.seed)
    else:
        clean = load_many(clean_files or [], sr, "clean speech")
        recorded = load_many(noise_files or [], sr, "noise") if noise_files else []
        sampler = NoiseSampler(recorded, clean, mix)
        batches = mixed_batches(clean, sampler, config, mix, batch_size, train_config.seed)

    def loss_fn(
        model: torch.nn.Module, batch: tuple[torch.Tensor, torch.Tensor], gen: torch.Generator
    ) -> torch.Tensor:
        y, x0 = batch
        return dsm_loss(model, x0, y, config, gen)

    return train(
        ScoreModel(config),
        loss_fn,
        batches,
        config,
        train_config,
        out,
        resume=resume,
        progress=progress,
    )
