"""Samplers for score SDEs (Song et al., 2021): predictor-corrector and probability-flow ODE.

A *score function* is any callable ``score_fn(x, t) -> grad_x log p_t(x)`` with x of
shape (B, ...) and t of shape (B,) (continuous time); conditioning such as SGMSE+'s noisy
observation y travels inside the closure. Samplers hold no weights.

Time grid: t_0 = T > t_1 > ... > t_N = t_eps, uniform; dt_i = t_i - t_{i+1} > 0.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch

from voxlate.diffusion.sde import SDE, VPSDE, _b

ScoreFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Callback = Callable[[int, torch.Tensor], None]


def time_grid(
    sde: SDE, steps: int, t_eps: float, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """The N + 1 times T = t_0 > ... > t_N = t_eps (float64, shape (steps + 1,))."""
    return torch.linspace(sde.T, t_eps, steps + 1, dtype=torch.float64, device=device)


def reverse_diffusion_step(
    score_fn: ScoreFn,
    sde: SDE,
    x: torch.Tensor,
    t: torch.Tensor,
    dt: float,
    y: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One Euler-Maruyama / reverse-diffusion predictor step (Song et al., 2021, eq. 46-47).

    x_{i+1} = x_i - [f(x_i, t_i) - g(t_i)^2 s(x_i, t_i)] dt + g(t_i) sqrt(dt) z.
    With f_i = f dt and G_i = g sqrt(dt) this is the reverse-diffusion discretisation
    x_{i+1} = x_i - f_i + G_i^2 s + G_i z of eq. 46 (the two coincide for this grid).
    Returns (x_next, x_next_mean), the latter without the noise term.
    """
    f, g = sde.sde(x, t, y)
    gb = _b(g, x)
    mean = x - (f - gb**2 * score_fn(x, t)) * dt
    z = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return mean + gb * dt**0.5 * z, mean


def langevin_step(
    score_fn: ScoreFn,
    sde: SDE,
    x: torch.Tensor,
    t: torch.Tensor,
    snr: float,
    dt: float,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One annealed Langevin corrector step (Song et al., 2021, Algorithm 4 (VE) / 5 (VP)).

    epsilon = 2 alpha (r ||z|| / ||s||)^2, x <- x + epsilon s + sqrt(2 epsilon) z, with the
    signal-to-noise ratio r = `snr` and alpha = 1 - beta_i for VP, 1 otherwise. As in the
    reference code of Song et al. (and SGMSE+), ||z|| and ||s|| are per-sample norms averaged
    over the batch: per-sample ratios make wild steps for samples where ||s|| is near 0.
    Returns (x_next, x_next_mean).
    """
    s = score_fn(x, t)
    z = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    s_norm = s.flatten(1).norm(dim=1).mean().clamp_min(1e-12)
    z_norm = z.flatten(1).norm(dim=1).mean()
    alpha = sde.alpha(t, dt) if isinstance(sde, VPSDE) else torch.ones_like(t)
    eps = 2 * alpha * (snr * z_norm / s_norm) ** 2
    mean = x + _b(eps, x) * s
    return mean + _b((2 * eps).sqrt(), x) * z, mean


@torch.no_grad()
def pc_sample(
    score_fn: ScoreFn,
    sde: SDE,
    x_T: torch.Tensor,
    steps: int = 30,
    corrector_steps: int = 1,
    snr: float = 0.16,
    t_eps: float = 1e-3,
    y: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    callback: Callback | None = None,
    predictor: Literal["reverse_diffusion", "none"] = "reverse_diffusion",
) -> torch.Tensor:
    """Predictor-corrector sampling (Song et al., 2021, Algorithm 1; Algorithms 2-5 for VE/VP).

    At each t_i: `corrector_steps` annealed Langevin steps, then one reverse-diffusion
    predictor step. The last step returns the mean without noise ("denoise"). SGMSE+ uses
    steps = 30, corrector_steps = 1, snr = 0.5 with OUVE. `predictor='none'` gives
    corrector-only (annealed Langevin dynamics, Song & Ermon 2019).

    x_T: (B, ...) draw from the prior (`sde.prior_sample`). Returns x at t_eps.
    """
    x = x_T
    ts = time_grid(sde, steps, t_eps, x.device)
    mean = x
    for i in range(steps):
        t = ts[i].expand(x.shape[0]).to(x.dtype)
        dt = float(ts[i] - ts[i + 1])
        for _ in range(corrector_steps):
            x, mean = langevin_step(score_fn, sde, x, t, snr, dt, generator)
        if predictor == "reverse_diffusion":
            x, mean = reverse_diffusion_step(score_fn, sde, x, t, dt, y, generator)
        if callback is not None:
            callback(i, x)
    return mean


def _flow(
    score_fn: ScoreFn, sde: SDE, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None
) -> torch.Tensor:
    """dx/dt = f(x, t) - 1/2 g(t)^2 s(x, t): the probability-flow ODE (Song et al. 2021, eq. 13)."""
    f, g = sde.sde(x, t, y)
    return f - 0.5 * _b(g, x) ** 2 * score_fn(x, t)


@torch.no_grad()
def probability_flow_sample(
    score_fn: ScoreFn,
    sde: SDE,
    x_T: torch.Tensor,
    steps: int = 100,
    t_eps: float = 1e-3,
    y: torch.Tensor | None = None,
    method: Literal["euler", "heun"] = "heun",
    callback: Callback | None = None,
) -> torch.Tensor:
    """Integrate the probability-flow ODE (Song et al., 2021, eq. 13) from T to t_eps.

    Fixed-step Euler or Heun (2nd order, Karras et al. 2022, Algorithm 1) instead of the
    paper's adaptive RK45; deterministic given x_T. Heun costs 2 score evaluations a step.
    """
    x = x_T
    ts = time_grid(sde, steps, t_eps, x.device)
    for i in range(steps):
        t = ts[i].expand(x.shape[0]).to(x.dtype)
        t_next = ts[i + 1].expand(x.shape[0]).to(x.dtype)
        h = float(ts[i + 1] - ts[i])  # negative
        d1 = _flow(score_fn, sde, x, t, y)
        x_e = x + d1 * h
        if method == "heun":
            d2 = _flow(score_fn, sde, x_e, t_next, y)
            x = x + 0.5 * (d1 + d2) * h
        else:
            x = x_e
        if callback is not None:
            callback(i, x)
    return x
