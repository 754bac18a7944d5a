"""Class-conditional diffusion over log-mel images of spoken digits.

A 2-D U-Net (voxlate.diffusion.nets.UNet2D) predicts the noise eps of a DDPM (Ho et al.,
2020) given the digit class; with probability `p_uncond` the class is replaced by the null
class during training (Ho & Salimans, 2022, Algorithm 1), so one network gives both
eps(x_t, t, c) and eps(x_t, t, null). Sampling uses classifier-free guidance,

    eps_guided = eps_u + s (eps_c - eps_u)   (s = 0 unconditional, s = 1 conditional),

with the ancestral DDPM sampler (Ho et al., 2020, Algorithm 2) or DDIM (Song et al., 2021,
eq. 12) in any number of steps.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from voxlate.checkpoint import load_checkpoint
from voxlate.diffusion.ddim import ddim_sample
from voxlate.diffusion.ddpm import DDPM, DDPMConfig, ddpm_sample
from voxlate.diffusion.guidance import ClassifierFreeGuidance, drop_condition
from voxlate.diffusion.nets import UNet2D, UNet2DConfig
from voxlate.diffusion.training import TrainConfig, train
from voxlate.distributed import rank_seed
from voxlate.errors import InputError
from voxlate.tasks.digits.dataset import DigitImages, endless_batches
from voxlate.tasks.digits.features import MelConfig

NUM_DIGITS = 10  # class ids 0-9; the null class for guidance is 10


def _default_unet() -> UNet2DConfig:
    return UNet2DConfig(
        in_channels=1,
        out_channels=1,
        base_channels=16,
        channel_mults=(1, 2, 4),
        num_res_blocks=1,
        num_classes=NUM_DIGITS,
    )


@dataclass(frozen=True)
class DigitDiffusionConfig:
    """Everything that rebuilds a digit diffusion model; stored in its checkpoint."""

    mel: MelConfig = field(default_factory=MelConfig)  # the image representation
    unet: UNet2DConfig = field(default_factory=_default_unet)  # the denoiser
    ddpm: DDPMConfig = field(default_factory=lambda: DDPMConfig(T=400, schedule="cosine"))
    p_uncond: float = 0.15  # condition dropout probability (Ho & Salimans, 2022)
    batch_size: int = 32  # training minibatch
    shift: int = 2  # time-shift augmentation, +-frames


def build_denoiser(config: DigitDiffusionConfig) -> UNet2D:
    return UNet2D(config.unet)


def make_loss(config: DigitDiffusionConfig):  # -> voxlate.diffusion.training.LossFn
    """L_simple (Ho et al., 2020, eq. 14) with the class dropped to null at rate p_uncond."""
    ddpm = DDPM.from_config(config.ddpm)

    def loss_fn(model: nn.Module, batch, gen: torch.Generator) -> torch.Tensor:
        x0, y = batch
        y = drop_condition(y, config.p_uncond, NUM_DIGITS, gen)
        return ddpm.loss(model, x0, gen, cond=y)

    return loss_fn


def train_digit_diffusion(
    data: DigitImages,
    out: str | os.PathLike,
    config: DigitDiffusionConfig | None = None,
    train_config: TrainConfig | None = None,
    resume: str | os.PathLike | None = None,
    progress: bool = True,
) -> Path:
    """Train on `data` with the toolkit's loop (EMA, checkpoints with their config)."""
    config = config or DigitDiffusionConfig()
    tc = train_config or TrainConfig(steps=3000, lr=2e-3, warmup_steps=100, ema_decay=0.995)
    if len(data) == 0:
        raise InputError("No training clips: the digit corpus is empty.")
    model = build_denoiser(config)
    batches = endless_batches(data, config.batch_size, rank_seed(tc.seed), config.shift)
    return train(model, make_loss(config), batches, config, tc, out, resume, progress)


@dataclass
class DigitDiffusion:
    """A trained model ready to sample (EMA weights, eval mode)."""

    config: DigitDiffusionConfig
    net: UNet2D
    ddpm: DDPM

    @classmethod
    def load(cls, path: str | os.PathLike) -> DigitDiffusion:
        ck = load_checkpoint(path, expect=DigitDiffusionConfig)
        net = build_denoiser(ck.config)
        net.load_state_dict(ck.inference_weights)
        return cls(ck.config, net.eval(), DDPM.from_config(ck.config.ddpm))

    @torch.no_grad()
    def sample(
        self,
        digits: torch.Tensor,
        steps: int | None = None,
        sampler: str = "ddim",
        guidance: float = 3.0,
        seed: int = 0,
        eta: float = 0.0,
    ) -> torch.Tensor:
        """Images (B, 1, n_mels, frames) for the requested `digits` (B,).

        sampler: 'ddim' (`steps` evaluations, eta 0 = deterministic) or 'ddpm' (ancestral,
        all T steps; `steps` is ignored). guidance: CFG scale s.
        """
        if sampler not in ("ddim", "ddpm"):
            raise InputError(f"Unknown sampler '{sampler}'; use ddim or ddpm.")
        mel = self.config.mel
        g = torch.Generator().manual_seed(seed)
        x_T = torch.randn(len(digits), 1, mel.n_mels, mel.frames, generator=g)
        denoiser = ClassifierFreeGuidance(self.net, digits.long(), NUM_DIGITS, guidance)
        if sampler == "ddpm":
            return ddpm_sample(denoiser, self.ddpm, x_T, generator=g, clip_x0=1.0)
        n = self.ddpm.T if steps is None else steps
        if not 1 <= n <= self.ddpm.T:
            raise InputError(f"--steps must be between 1 and {self.ddpm.T} for this model.")
        return ddim_sample(denoiser, self.ddpm, x_T, steps=n, eta=eta, generator=g, clip_x0=1.0)
