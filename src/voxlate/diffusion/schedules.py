"""Noise schedules for discrete diffusion, as pure functions.

A schedule gives, for steps t = 0..T-1, the variances beta_t of the forward process
q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t I) (Ho et al., 2020, eq. 2) and
their cumulative signal level alpha_bar_t = prod_{s<=t} (1 - beta_s) (eq. 4).

- linear:  beta_t linear from beta_start to beta_end (Ho et al., 2020, section 4).
- cosine:  alpha_bar(u) = f(u)/f(0), f(u) = cos^2(pi/2 (u + s)/(1 + s)), u = t/T
           (Nichol & Dhariwal, 2021, eq. 17).
- sigmoid: alpha_bar(u) = (v_end - sigmoid((u (end - start) + start)/tau)) / (v_end - v_start)
           (Jabri et al., 2022; Chen, 2023, "On the importance of noise scheduling"),
           the schedule used by SpeakerDiff-style speaker-embedding diffusion.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

MAX_BETA = 0.999  # clip of beta_t for alpha_bar-defined schedules (Nichol & Dhariwal, 2021)


def linear_betas(T: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> torch.Tensor:
    """beta_t, shape (T,), float64, linear from `beta_start` (t=0) to `beta_end` (t=T-1)."""
    return torch.linspace(beta_start, beta_end, T, dtype=torch.float64)


def cosine_alpha_bar(u: torch.Tensor, s: float = 0.008) -> torch.Tensor:
    """Continuous cosine alpha_bar(u) for u in [0, 1]; alpha_bar(0) = 1, alpha_bar(1) = 0."""
    f = torch.cos((u + s) / (1 + s) * math.pi / 2) ** 2
    f0 = math.cos(s / (1 + s) * math.pi / 2) ** 2
    return (f / f0).clamp(0.0, 1.0)


def sigmoid_alpha_bar(
    u: torch.Tensor, start: float = -3.0, end: float = 3.0, tau: float = 1.0
) -> torch.Tensor:
    """Continuous sigmoid alpha_bar(u) for u in [0, 1]; alpha_bar(0) = 1, alpha_bar(1) = 0."""
    v_start = torch.sigmoid(torch.tensor(start / tau, dtype=torch.float64))
    v_end = torch.sigmoid(torch.tensor(end / tau, dtype=torch.float64))
    v = torch.sigmoid((u * (end - start) + start) / tau)
    return ((v_end - v) / (v_end - v_start)).clamp(0.0, 1.0)


def betas_from_alpha_bar(
    alpha_bar: Callable[[torch.Tensor], torch.Tensor], T: int, max_beta: float = MAX_BETA
) -> torch.Tensor:
    """Discretize a continuous alpha_bar(u) into beta_t = 1 - alpha_bar((t+1)/T)/alpha_bar(t/T).

    Returns shape (T,), float64, clipped to `max_beta` (Nichol & Dhariwal, 2021, section 3.2).
    """
    u = torch.arange(T + 1, dtype=torch.float64) / T
    a = alpha_bar(u)
    betas = 1.0 - a[1:] / a[:-1].clamp_min(1e-12)
    return betas.clamp(0.0, max_beta)


def cosine_betas(T: int, s: float = 0.008) -> torch.Tensor:
    """beta_t of the cosine schedule, shape (T,)."""
    return betas_from_alpha_bar(lambda u: cosine_alpha_bar(u, s), T)


def sigmoid_betas(T: int, start: float = -3.0, end: float = 3.0, tau: float = 1.0) -> torch.Tensor:
    """beta_t of the sigmoid schedule, shape (T,)."""
    return betas_from_alpha_bar(lambda u: sigmoid_alpha_bar(u, start, end, tau), T)


def alpha_bars(betas: torch.Tensor) -> torch.Tensor:
    """alpha_bar_t = prod_{s<=t} (1 - beta_s), shape (T,) (Ho et al., 2020, eq. 4)."""
    return torch.cumprod(1.0 - betas, dim=0)


SCHEDULES: dict[str, Callable[[int], torch.Tensor]] = {
    "linear": linear_betas,
    "cosine": cosine_betas,
    "sigmoid": sigmoid_betas,
}


def make_betas(name: str, T: int) -> torch.Tensor:
    """beta_t of the schedule called `name` ('linear', 'cosine' or 'sigmoid'), shape (T,)."""
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}; choose one of {sorted(SCHEDULES)}")
    return SCHEDULES[name](T)
