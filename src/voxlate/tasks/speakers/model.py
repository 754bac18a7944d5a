"""SpeakerDiff: a DDPM over speaker-embedding vectors, for new (pseudo) speakers.

Following SpeakerDiff (diffusion over speaker embeddings to generate pseudo-speakers for
anonymization), a denoiser eps_theta(x_t, t) is trained on embedding vectors x_0 in R^D
with the simple loss of Ho et al. (2020, eq. 14),

    L = E_{t, x_0, eps} || eps - eps_theta(sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps, t) ||^2,

written here for the eps target; the network may instead predict x_0 or
v = sqrt(alpha_bar_t) eps - sqrt(1 - alpha_bar_t) x_0 (Salimans & Ho, 2022). v is the
default: on ~700 real embeddings the eps model leaves samples off the data (mean nearest-
neighbour cosine 0.63), the x0 model copies training points (0.98), v sits between (0.79,
below the 0.86 of held-out real embeddings). All use the sigmoid noise schedule (Jabri
et al., 2022; `voxlate.diffusion.schedules`). The denoiser is an MLP or a 1-D U-Net over the vector (both from `voxlate.diffusion.nets`).
Embeddings are standardised per dimension (mean and std stored in the config) before
diffusion; samples are mapped back and L2-normalised, as the encoder's outputs are.
Sampling: DDPM ancestral (Ho et al., 2020, Algorithm 2) or DDIM (Song et al., 2021).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from voxlate.checkpoint import load_checkpoint, save_checkpoint
from voxlate.diffusion.ddim import ddim_sample
from voxlate.diffusion.ddpm import DDPM, DDPMConfig, ddpm_sample
from voxlate.diffusion.nets import MLP, MLPConfig, UNet1D, UNet1DConfig
from voxlate.diffusion.training import TrainConfig, train
from voxlate.errors import InputError


@dataclass(frozen=True)
class SpeakerDiffConfig:
    """Everything that rebuilds a SpeakerDiff model; stored in its checkpoint."""

    dim: int = 256  # embedding size
    denoiser: str = "mlp"  # 'mlp' or 'unet1d'
    mlp: MLPConfig = field(default_factory=lambda: MLPConfig(dim=256, hidden=512, layers=4))
    unet: UNet1DConfig = field(
        default_factory=lambda: UNet1DConfig(base_channels=16, channel_mults=(1, 2, 2))
    )
    ddpm: DDPMConfig = field(  # v prediction: see docs/generation.md (eps underfits, x0 copies)
        default_factory=lambda: DDPMConfig(T=1000, schedule="sigmoid", prediction="v")
    )
    mean: tuple[float, ...] = ()  # per-dimension mean of the training embeddings
    std: tuple[float, ...] = ()  # per-dimension std of the training embeddings
    encoder: str = "resemblyzer"  # the speaker encoder the embeddings came from
    batch_size: int = 128  # training minibatch


def build_denoiser(config: SpeakerDiffConfig) -> nn.Module:
    if config.denoiser == "mlp":
        return MLP(replace(config.mlp, dim=config.dim))
    if config.denoiser == "unet1d":
        return UNet1D(config.unet)
    raise InputError(f"Unknown denoiser '{config.denoiser}'; use mlp or unet1d.")


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
    ck = load_checkpoint(path)
    if not isinstance(ck.config, SpeakerDiffConfig):
        raise InputError(f"{path} is not a SpeakerDiff model.")
    weights = {k: v.float().contiguous() for k, v in ck.inference_weights.items()}
    return save_checkpoint(
        out, config=ck.config, model=weights, step=ck.step, train_config=ck.train_config
    )


@dataclass
class SpeakerDiff:
    """A trained SpeakerDiff model (EMA weights) that samples unit speaker embeddings."""

    config: SpeakerDiffConfig
    net: nn.Module
    ddpm: DDPM

    @classmethod
    def load(cls, path: str | os.PathLike) -> SpeakerDiff:
        ck = load_checkpoint(path)
        if not isinstance(ck.config, SpeakerDiffConfig):
            raise InputError(f"{path} is not a SpeakerDiff model.")
        net = build_denoiser(ck.config)
        net.load_state_dict(ck.inference_weights)
        return cls(ck.config, net.eval(), DDPM.from_config(ck.config.ddpm))

    @torch.no_grad()
    def sample(
        self, n: int, steps: int | None = 100, sampler: str = "ddim", seed: int | None = 0
    ) -> np.ndarray:
        """`n` L2-normalised embeddings (n, dim), float32.

        sampler 'ddim' uses `steps` evaluations (eta = 1: stochastic, DDPM-like variance);
        'ddpm' all T. seed None draws fresh randomness.
        """
        g = torch.Generator()
        g.manual_seed(seed) if seed is not None else g.seed()
        x_T = torch.randn(n, self.config.dim, generator=g)
        if sampler == "ddpm":
            z = ddpm_sample(self.net, self.ddpm, x_T, generator=g)
        elif sampler == "ddim":
            k = self.ddpm.T if steps is None else max(1, min(steps, self.ddpm.T))
            z = ddim_sample(self.net, self.ddpm, x_T, steps=k, eta=1.0, generator=g)
        else:
            raise InputError(f"Unknown sampler '{sampler}'; use ddim or ddpm.")
        e = z.numpy() * np.asarray(self.config.std, np.float32) + np.asarray(
            self.config.mean, np.float32
        )
        return (e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-9)).astype(np.float32)
