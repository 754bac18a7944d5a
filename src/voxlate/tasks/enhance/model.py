"""SGMSE+ and StoRM training losses (the models are `voxlate.engines.enhance.score_model`).

SGMSE+ (Richter et al., 2023): the network predicts z, the standard normal noise in
x_t = mu(x_0, y, t) + sigma(t) z; the loss E ||z_hat - z||^2 is denoising score matching
weighted by sigma(t)^2 (SGMSE+ eq. 10; Song et al., 2021, eq. 7). StoRM (Lemercier et al.,
2023, eq. 12): a ||D(y) - x_0||^2 + (1 - a) ||z_hat - z||^2, with a = `predictor_weight`.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from voxlate.engines.enhance.score_model import EnhanceConfig
from voxlate.engines.enhance.stft import STFTConfig, wav_to_spec
from voxlate.tasks.enhance.losses import estoi_loss

# Which parameters a training run updates (StoRM): both jointly (eq. 12), only the
# predictor D (a = 1), or only the score network with D frozen ("regen-freeze-denoiser").
Stage = Literal["joint", "predictor", "score"]


def dsm_loss(
    model: nn.Module,
    x0: torch.Tensor,
    y: torch.Tensor,
    config: EnhanceConfig,
    generator: torch.Generator,
    cond: torch.Tensor | None = None,
) -> torch.Tensor:
    """Denoising score matching (weighted by sigma^2): E ||z_hat(x_t, cond, t) - z||^2.

    x0, y: (B, 2, F, T) clean spectrogram and the point the SDE drifts to (the noisy y for
    SGMSE+, D(y) for StoRM); cond: the network's conditioning (default y); t ~ U(t_eps, T).
    """
    sde = config.sde
    b = x0.shape[0]
    t = torch.rand(b, device=x0.device, generator=generator) * (sde.T - config.t_eps) + config.t_eps
    z = torch.randn(x0.shape, device=x0.device, generator=generator)
    x_t = sde.perturb(x0, t, z, y)
    return torch.mean((model(x_t, t, y if cond is None else cond) - z) ** 2)


def storm_loss(
    model: nn.Module,
    x0: torch.Tensor,
    y: torch.Tensor,
    config: EnhanceConfig,
    generator: torch.Generator,
    stage: Stage = "joint",
) -> torch.Tensor:
    """StoRM's loss (Lemercier et al., 2023, eq. 12): a ||D(y) - x_0||^2 + (1 - a) L_DSM.

    With `config.predictor_estoi_weight` w > 0, D's term is ||D(y) - x_0||^2 +
    w * estoi_loss(D(y), x_0) (an intelligibility term; voxlate's, not StoRM's).

    x0, y: (B, 2, F, T) clean and noisy spectrograms; `model` is a ScoreModel with a
    predictor. stage 'predictor' returns the first term only; 'score' the second only,
    with D(y) computed without gradient (D frozen). Under DDP only 'score' is possible: D
    is called outside the wrapper's forward, so its gradients would not be averaged.
    """
    ddp = isinstance(model, nn.parallel.DistributedDataParallel)
    inner = model.module if ddp else model
    assert inner.predictor is not None, "storm_loss needs a model with a predictor"
    assert stage == "score" or not ddp, "under DDP, train StoRM's predictor in one process"
    with torch.set_grad_enabled(stage != "score" and torch.is_grad_enabled()):
        y_hat = inner.predictor(y)
    pred = torch.mean((y_hat - x0) ** 2)
    if config.predictor_estoi_weight > 0 and stage != "score":
        pred = pred + config.predictor_estoi_weight * estoi_loss(y_hat, x0, config.stft)
    if stage == "predictor":
        return pred
    dsm = dsm_loss(model, x0, y_hat, config, generator, cond=torch.cat([y, y_hat], dim=1))
    if stage == "score":
        return dsm
    a = config.predictor_weight
    return a * pred + (1 - a) * dsm


def batch_to_specs(
    noisy: torch.Tensor, clean: torch.Tensor, stft: STFTConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, n) waveforms -> (y, x0) spectrograms, both scaled by the noisy peak (SGMSE+ norm)."""
    scale = noisy.abs().amax(dim=1, keepdim=True).clamp_min(1e-6)
    return wav_to_spec(noisy / scale, stft), wav_to_spec(clean / scale, stft)
