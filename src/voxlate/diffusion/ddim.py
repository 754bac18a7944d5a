"""DDIM sampling (Song, Meng & Ermon, 2021, "Denoising Diffusion Implicit Models").

Generalized update (eq. 12), for a sub-sequence of steps tau_1 < ... < tau_S:

    x_{prev} = sqrt(alpha_bar_prev) x0_hat
             + sqrt(1 - alpha_bar_prev - sigma^2) eps_hat
             + sigma z,
    sigma    = eta sqrt((1 - alpha_bar_prev)/(1 - alpha_bar_t)) sqrt(1 - alpha_bar_t/alpha_bar_prev)
               (eq. 16).

eta = 0 is the deterministic DDIM sampler; eta = 1 matches DDPM's ancestral variance.
Holds no weights: `model` is any callable ``model(x_t, t, **extra)`` (see voxlate.diffusion.ddpm).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from voxlate.diffusion.ddpm import DDPM, Model


def ddim_timesteps(T: int, steps: int) -> list[int]:
    """`steps` integer steps, descending: i * T / steps for i = steps-1 .. 0 ("uniform" skip).

    As in Song et al.'s code (and diffusers' "leading" spacing) the first step is
    T - T/steps, not T - 1: with schedules whose alpha_bar_{T-1} is ~0 (cosine), an
    eps-model's x0_hat = (x - sqrt(1 - alpha_bar) eps)/sqrt(alpha_bar) is unusable there.
    """
    if not 1 <= steps <= T:
        raise ValueError(f"steps must be in [1, {T}]; got {steps}")
    ts = torch.linspace(0, T, steps + 1)[:-1].floor().long().tolist()
    return sorted(set(ts), reverse=True)


@torch.no_grad()
def ddim_sample(
    model: Model,
    ddpm: DDPM,
    x_T: torch.Tensor,
    steps: int = 50,
    eta: float = 0.0,
    generator: torch.Generator | None = None,
    clip_x0: float | None = None,
    callback: Callable[[int, torch.Tensor], None] | None = None,
    **extra: object,
) -> torch.Tensor:
    """Sample with DDIM (Song et al., 2021, eq. 12) in `steps` network evaluations.

    x_T: (B, ...) start noise. Returns x_0 of the same shape. With eta = 0 the result is a
    deterministic function of x_T.
    """
    x = x_T
    ab = ddpm.alpha_bars.to(x.device)
    ts = ddim_timesteps(ddpm.T, steps)
    for k, i in enumerate(ts):
        t = torch.full((x.shape[0],), i, device=x.device, dtype=torch.long)
        eps, x0 = ddpm.to_eps_x0(model(x, t, **extra), x, t)
        if clip_x0 is not None:
            x0 = x0.clamp(-clip_x0, clip_x0)
            eps = (x - ab[i].sqrt().to(x.dtype) * x0) / (1 - ab[i]).sqrt().to(x.dtype)
        ab_t = ab[i]
        ab_prev = (
            ab[ts[k + 1]] if k + 1 < len(ts) else torch.ones((), dtype=ab.dtype, device=x.device)
        )
        sigma = eta * ((1 - ab_prev) / (1 - ab_t)).sqrt() * (1 - ab_t / ab_prev).sqrt()  # eq. 16
        dir_xt = (1 - ab_prev - sigma**2).clamp_min(0).sqrt()
        x = ab_prev.sqrt().to(x.dtype) * x0 + dir_xt.to(x.dtype) * eps
        if eta > 0 and k + 1 < len(ts):
            z = torch.randn(x.shape, device=x.device, dtype=x.dtype, generator=generator)
            x = x + sigma.to(x.dtype) * z
        if callback is not None:
            callback(i, x)
    return x
