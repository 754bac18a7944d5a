"""SGMSE+ model: config, score network, denoising score-matching loss and the PC sampler.

The network sees [x_t, y] (4 channels: real/imag of the current state and of the noisy
observation y) and the time t, and predicts z, the standard normal noise in
x_t = mu(x_0, y, t) + sigma(t) z. Its score is s = -z_hat / sigma(t), so the loss
E ||z_hat - z||^2 is denoising score matching weighted by sigma(t)^2 (Richter et al., 2023,
eq. 10; Song et al., 2021, eq. 7).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from voxlate.diffusion.nets import UNet2D, UNet2DConfig
from voxlate.diffusion.samplers import pc_sample
from voxlate.diffusion.sde import OUVESDE
from voxlate.tasks.enhance.features import SAMPLE_RATE, STFTConfig, spec_to_wav, wav_to_spec


@dataclass(frozen=True)
class EnhanceConfig:
    """Everything needed to rebuild an enhancement model; saved in its checkpoint."""

    stft: STFTConfig = field(default_factory=STFTConfig)  # spectral representation
    sde: OUVESDE = field(default_factory=OUVESDE)  # the OUVE SDE (gamma, sigma_min, sigma_max)
    net: UNet2DConfig = field(
        default_factory=lambda: UNet2DConfig(
            in_channels=4, out_channels=2, base_channels=32, channel_mults=(1, 2, 2, 2),
            num_res_blocks=1, time_scale=1000.0,
        )
    )  # fmt: skip
    t_eps: float = 0.03  # smallest diffusion time used in training and sampling (SGMSE+)
    sample_rate: int = SAMPLE_RATE  # Hz
    chunk_frames: int = 128  # training excerpt length in STFT frames


@dataclass(frozen=True)
class SamplerOptions:
    """Per-call sampling options (not part of the model)."""

    steps: int = 30  # reverse-diffusion steps N (SGMSE+: 30)
    corrector_steps: int = 1  # annealed Langevin steps per predictor step (SGMSE+: 1)
    snr: float = 0.5  # corrector signal-to-noise ratio r (SGMSE+: 0.5)
    seed: int = 0  # seed of the sampler's noise


class ScoreModel(nn.Module):
    """z_hat = net([x_t, y], t): (B, 2, F, T) x2 and t (B,) -> (B, 2, F, T)."""

    def __init__(self, config: EnhanceConfig) -> None:
        super().__init__()
        self.config = config
        self.net = UNet2D(config.net)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([x_t, y], dim=1), t)

    def score(self, x_t: torch.Tensor, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """grad log p_t(x_t | y) = -z_hat / sigma(t)."""
        std = self.config.sde.std(t).to(x_t.dtype).reshape(-1, 1, 1, 1)
        return -self(x_t, t, y) / std


def dsm_loss(
    model: nn.Module,
    x0: torch.Tensor,
    y: torch.Tensor,
    config: EnhanceConfig,
    generator: torch.Generator,
) -> torch.Tensor:
    """Denoising score matching (weighted by sigma^2): E ||z_hat(x_t, y, t) - z||^2.

    x0, y: (B, 2, F, T) clean and noisy compressed spectrograms; t ~ U(t_eps, T).
    """
    sde = config.sde
    b = x0.shape[0]
    t = torch.rand(b, device=x0.device, generator=generator) * (sde.T - config.t_eps) + config.t_eps
    z = torch.randn(x0.shape, device=x0.device, generator=generator)
    x_t = sde.perturb(x0, t, z, y)
    return torch.mean((model(x_t, t, y) - z) ** 2)


def batch_to_specs(
    noisy: torch.Tensor, clean: torch.Tensor, stft: STFTConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, n) waveforms -> (y, x0) spectrograms, both scaled by the noisy peak (SGMSE+ norm)."""
    scale = noisy.abs().amax(dim=1, keepdim=True).clamp_min(1e-6)
    return wav_to_spec(noisy / scale, stft), wav_to_spec(clean / scale, stft)


@dataclass(frozen=True)
class EnhanceResult:
    """A waveform and how long the sampler took."""

    samples: np.ndarray  # (n,) float32 at the model's sample rate
    seconds: float  # wall time of feature extraction + sampling + resynthesis (s)


@torch.no_grad()
def enhance_waveform(
    model: ScoreModel,
    noisy: np.ndarray,
    options: SamplerOptions = SamplerOptions(),
    callback: Callable[[int, torch.Tensor], None] | None = None,
) -> EnhanceResult:
    """Enhance a (n,) float waveform at the model's sample rate with the PC sampler.

    callback(i, x_i) runs after each of the `options.steps` steps (e.g. a progress bar).
    """
    cfg = model.config
    start = time.perf_counter()
    device = next(model.parameters()).device
    wav = torch.from_numpy(np.ascontiguousarray(noisy, dtype=np.float32)).to(device)[None]
    scale = wav.abs().max().clamp_min(1e-6)
    y = wav_to_spec(wav / scale, cfg.stft)
    gen = torch.Generator(device=device).manual_seed(options.seed)
    x_T = cfg.sde.prior_sample(y.shape, y=y, generator=gen)
    x0 = pc_sample(
        lambda x, t: model.score(x, t, y), cfg.sde, x_T, steps=options.steps,
        corrector_steps=options.corrector_steps, snr=options.snr, t_eps=cfg.t_eps, y=y, generator=gen, callback=callback,
    )  # fmt: skip
    out = spec_to_wav(x0, cfg.stft, wav.shape[1])[0] * scale
    return EnhanceResult(out.cpu().numpy().astype(np.float32), time.perf_counter() - start)
