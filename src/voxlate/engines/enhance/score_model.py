"""SGMSE+ and StoRM models at inference: config, score network and the PC sampler.

SGMSE+ (Richter et al., 2023): the network sees [x_t, y] (4 channels: real/imag of the
current state and of the noisy observation y) and the time t, and predicts z, the standard
normal noise in x_t = mu(x_0, y, t) + sigma(t) z. Its score is s = -z_hat / sigma(t), so the
loss E ||z_hat - z||^2 is denoising score matching weighted by sigma(t)^2 (SGMSE+ eq. 10;
Song et al., 2021, eq. 7).

StoRM (Lemercier et al., 2023, sec. III), when the config has a `predictor`: a predictive
network gives y_hat = D(y); the OUVE SDE drifts toward y_hat instead of y
(mu = e^{-gamma t} x_0 + (1 - e^{-gamma t}) y_hat), the score network sees [x_t, y, y_hat]
(6 channels, StoRM's "both" conditioning) and sampling starts at x_T ~ N(y_hat, sigma(T)^2 I).

`score_skip` (voxlate's StoRM default) writes the network's output as a residual:
z_hat = (x_t - y_sde) / sigma(t) + net(...), where y_sde is y (SGMSE+) or D(y) (StoRM). The
first term is the exact z when x_0 = y_sde, so the network learns only the (scaled) error of
the estimate, -e^{-gamma t} (x_0 - y_sde) / sigma(t), and an untrained network (zero output
layer) samples D(y) back. Same function class; a preconditioning like Karras et al.'s c_skip.

Training (the losses) is `voxlate.tasks.enhance`; the engine is `diffusion.py`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import nn

from voxlate.audio import SAMPLE_RATE
from voxlate.diffusion.nets import UNet2D, UNet2DConfig
from voxlate.diffusion.samplers import pc_sample
from voxlate.diffusion.sde import OUVESDE
from voxlate.engines.enhance.predictor import MaskPredictor, PredictorConfig
from voxlate.engines.enhance.stft import STFTConfig, spec_to_wav, wav_to_spec


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
    predictor: PredictorConfig | None = None  # StoRM's predictive model D; None = SGMSE+
    predictor_weight: float = 0.5  # StoRM loss weight a of ||D(y) - x_0||^2 (joint stage)
    score_skip: bool = False  # z_hat = (x_t - y_sde)/sigma(t) + net(...) (see module docstring)
    predictor_estoi_weight: float = 0.0  # StoRM: weight of `estoi_loss` in D's loss term
    sampler_steps: int | None = None  # default steps (None: 30 / 10); `enhance export --steps`

    @property
    def kind(self) -> str:
        """'storm' with a predictor, else 'sgmse'."""
        return "sgmse" if self.predictor is None else "storm"


def storm_config(
    base: EnhanceConfig | None = None,
    predictor: PredictorConfig | None = None,
    score_skip: bool = True,
) -> EnhanceConfig:
    """`base` (default EnhanceConfig()) turned into a StoRM model: a predictor and a score
    network with 6 input channels ([x_t, y, D(y)]), by default with `score_skip`."""
    base = base or EnhanceConfig()
    pred = predictor or PredictorConfig(bins=base.stft.bins)
    net = replace(base.net, in_channels=6)
    return replace(base, predictor=pred, net=net, score_skip=score_skip)


@dataclass(frozen=True)
class SamplerOptions:
    """Per-call sampling options (not part of the model).

    steps = 0 returns the predictor's estimate D(y) (StoRM models only).
    """

    steps: int = 30  # reverse-diffusion steps N (SGMSE+: 30)
    corrector_steps: int = 1  # annealed Langevin steps per predictor step (SGMSE+: 1)
    snr: float = 0.5  # corrector signal-to-noise ratio r (SGMSE+: 0.5)
    seed: int = 0  # seed of the sampler's noise


def default_sampler(config: EnhanceConfig) -> SamplerOptions:
    """SGMSE+: 30 PC steps with one corrector step. StoRM: 10 reverse-diffusion steps
    without corrector, started from the predictor's estimate (see docs/diffusion.md).
    `config.sampler_steps`, when set (e.g. chosen on validation data at export), replaces
    the number of steps; for StoRM 0 means the predictor's estimate D(y) alone."""
    if config.predictor is None:
        if config.sampler_steps is None:
            return SamplerOptions()
        return SamplerOptions(steps=config.sampler_steps)
    steps = 10 if config.sampler_steps is None else config.sampler_steps
    return SamplerOptions(steps=steps, corrector_steps=0)


class ScoreModel(nn.Module):
    """z_hat = net([x_t, cond], t): x_t (B, 2, F, T), cond (B, 2 or 4, F, T), t (B,).

    cond is y for SGMSE+ and [y, D(y)] for StoRM (`condition`); `predictor` is StoRM's D.
    """

    def __init__(self, config: EnhanceConfig) -> None:
        super().__init__()
        self.config = config
        self.net = UNet2D(config.net)
        self.predictor = MaskPredictor(config.predictor) if config.predictor else None

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        z_hat = self.net(torch.cat([x_t, cond], dim=1), t)
        if self.config.score_skip:  # y_sde is the last two channels of cond
            std = self.config.sde.std(t).to(x_t.dtype).reshape(-1, 1, 1, 1)
            z_hat = z_hat + (x_t - cond[:, -2:]) / std
        return z_hat

    def condition(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(cond, y_sde): the score network's conditioning and the point the SDE's mean
        drifts to. SGMSE+: (y, y); StoRM: ([y, D(y)], D(y))."""
        if self.predictor is None:
            return y, y
        y_hat = self.predictor(y)
        return torch.cat([y, y_hat], dim=1), y_hat

    def score(self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """grad log p_t(x_t | y) = -z_hat / sigma(t)."""
        std = self.config.sde.std(t).to(x_t.dtype).reshape(-1, 1, 1, 1)
        return -self(x_t, t, cond) / std


@dataclass(frozen=True)
class EnhanceResult:
    """A waveform and how long the sampler took."""

    samples: np.ndarray  # (n,) float32 at the model's sample rate
    seconds: float  # wall time of feature extraction + sampling + resynthesis (s)


@torch.no_grad()
def enhance_waveform(
    model: ScoreModel,
    noisy: np.ndarray,
    options: SamplerOptions | None = None,
    callback: Callable[[int, torch.Tensor], None] | None = None,
) -> EnhanceResult:
    """Enhance a (n,) float waveform at the model's sample rate with the PC sampler.

    options: default `default_sampler(model.config)`. For StoRM, D(y) is computed once
    and the reverse SDE starts at x_T ~ N(D(y), sigma(T)^2 I); steps = 0 returns D(y).
    callback(i, x_i) runs after each of the `options.steps` steps (e.g. a progress bar).
    """
    cfg = model.config
    options = options or default_sampler(cfg)
    if options.steps < 0 or (options.steps == 0 and model.predictor is None):
        raise ValueError("steps must be >= 1 (0 is allowed only for StoRM models)")
    start = time.perf_counter()
    device = next(model.parameters()).device
    wav = torch.from_numpy(np.ascontiguousarray(noisy, dtype=np.float32)).to(device)[None]
    scale = wav.abs().max().clamp_min(1e-6)
    y = wav_to_spec(wav / scale, cfg.stft)
    cond, y_sde = model.condition(y)
    if options.steps == 0:
        x0 = y_sde
    else:
        gen = torch.Generator(device=device).manual_seed(options.seed)
        x_T = cfg.sde.prior_sample(y.shape, y=y_sde, generator=gen)
        x0 = pc_sample(
            lambda x, t: model.score(x, t, cond), cfg.sde, x_T, steps=options.steps,
            corrector_steps=options.corrector_steps, snr=options.snr, t_eps=cfg.t_eps, y=y_sde,
            generator=gen, callback=callback,
        )  # fmt: skip
    out = spec_to_wav(x0, cfg.stft, wav.shape[1])[0] * scale
    return EnhanceResult(out.cpu().numpy().astype(np.float32), time.perf_counter() - start)
