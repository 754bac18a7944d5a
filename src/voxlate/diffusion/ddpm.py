"""Discrete diffusion (DDPM, Ho et al., 2020): forward noising, training loss, ancestral sampler.

Notation follows the paper: beta_t, alpha_t = 1 - beta_t, alpha_bar_t = prod_{s<=t} alpha_s,
x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps (eq. 4). Steps are 0-based here:
t = 0..T-1, where t = 0 is the least noisy step.

A *model* is any callable ``model(x_t, t, **extra) -> output`` with x_t of shape (B, ...)
and t an integer tensor of shape (B,). What `output` means is the `prediction`:

- ``"eps"``: the noise eps (Ho et al., 2020, eq. 14),
- ``"x0"``:  the clean sample x_0,
- ``"v"``:   v = sqrt(alpha_bar) eps - sqrt(1 - alpha_bar) x_0 (Salimans & Ho, 2022, eq. 7 ff.).

`DDPM` holds the schedule only (no weights); the caller owns the model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch

from voxlate.diffusion.schedules import alpha_bars, make_betas

Prediction = Literal["eps", "x0", "v"]
Model = Callable[..., torch.Tensor]


def _expand(a: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Reshape per-sample coefficients (B,) to broadcast against x (B, ...)."""
    return a.to(x.dtype).reshape(-1, *([1] * (x.ndim - 1)))


@dataclass(frozen=True)
class DDPMConfig:
    """What defines a discrete diffusion process; stored with a model's weights."""

    T: int = 1000  # number of diffusion steps
    schedule: str = "linear"  # 'linear', 'cosine' or 'sigmoid' (voxlate.diffusion.schedules)
    prediction: str = "eps"  # what the network predicts: 'eps', 'x0' or 'v'


class DDPM:
    """The forward process and the conversions between eps, x0 and v for one schedule."""

    def __init__(self, betas: torch.Tensor, prediction: Prediction = "eps") -> None:
        self.betas = betas.to(torch.float64)  # (T,)
        self.alphas = 1.0 - self.betas  # (T,)
        self.alpha_bars = alpha_bars(self.betas)  # (T,)
        self.T = len(betas)
        self.prediction: Prediction = prediction

    @classmethod
    def from_config(cls, config: DDPMConfig) -> DDPM:
        return cls(make_betas(config.schedule, config.T), config.prediction)  # type: ignore[arg-type]

    def _ab(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return _expand(self.alpha_bars.to(x.device)[t], x)

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """Draw x_t ~ q(x_t | x_0) = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I) (eq. 4).

        x0, eps: (B, ...); t: (B,) integer steps. Returns x_t, shape of x0.
        """
        ab = self._ab(t, x0)
        return ab.sqrt() * x0 + (1 - ab).sqrt() * eps

    def target(self, x0: torch.Tensor, eps: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The regression target of the network for its `prediction` type."""
        if self.prediction == "eps":
            return eps
        if self.prediction == "x0":
            return x0
        ab = self._ab(t, x0)
        return ab.sqrt() * eps - (1 - ab).sqrt() * x0

    def to_eps_x0(
        self, output: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Convert a network output to (eps_hat, x0_hat) using eq. 4 and the v definition."""
        ab = self._ab(t, x_t)
        a, s = ab.sqrt(), (1 - ab).sqrt()
        if self.prediction == "eps":
            return output, (x_t - s * output) / a
        if self.prediction == "x0":
            return (x_t - a * output) / s, output
        return s * x_t + a * output, a * x_t - s * output

    def loss(
        self,
        model: Model,
        x0: torch.Tensor,
        generator: torch.Generator | None = None,
        **extra: object,
    ) -> torch.Tensor:
        """The simple loss L_simple (Ho et al., 2020, eq. 14) for the chosen prediction type.

        t ~ Uniform{0..T-1}, eps ~ N(0, I); returns the mean squared error, a scalar.
        """
        b = x0.shape[0]
        t = torch.randint(0, self.T, (b,), device=x0.device, generator=generator)
        eps = torch.randn(x0.shape, device=x0.device, dtype=x0.dtype, generator=generator)
        x_t = self.q_sample(x0, t, eps)
        out = model(x_t, t, **extra)
        return torch.mean((out - self.target(x0, eps, t)) ** 2)


@torch.no_grad()
def ddpm_sample(
    model: Model,
    ddpm: DDPM,
    x_T: torch.Tensor,
    generator: torch.Generator | None = None,
    clip_x0: float | None = None,
    callback: Callable[[int, torch.Tensor], None] | None = None,
    **extra: object,
) -> torch.Tensor:
    """Ancestral sampling (Ho et al., 2020, Algorithm 2) with the posterior q(x_{t-1}|x_t, x_0).

    Each step uses the posterior mean mu~_t(x_t, x0_hat) (eq. 7) and variance
    beta~_t = (1 - alpha_bar_{t-1})/(1 - alpha_bar_t) beta_t; no noise is added at t = 0.

    x_T: (B, ...) start noise, usually N(0, I). Returns x_0 of the same shape.
    `clip_x0` clamps x0_hat to [-clip_x0, clip_x0] (image-style data); None leaves it.
    """
    x = x_T
    ab = ddpm.alpha_bars.to(x.device)
    betas = ddpm.betas.to(x.device)
    for i in reversed(range(ddpm.T)):
        t = torch.full((x.shape[0],), i, device=x.device, dtype=torch.long)
        _, x0 = ddpm.to_eps_x0(model(x, t, **extra), x, t)
        if clip_x0 is not None:
            x0 = x0.clamp(-clip_x0, clip_x0)
        ab_t = ab[i]
        ab_prev = ab[i - 1] if i > 0 else torch.ones((), dtype=ab.dtype, device=x.device)
        coef_x0 = ab_prev.sqrt() * betas[i] / (1 - ab_t)  # eq. 7, first term
        coef_xt = (1 - betas[i]).sqrt() * (1 - ab_prev) / (1 - ab_t)  # eq. 7, second term
        mean = coef_x0.to(x.dtype) * x0 + coef_xt.to(x.dtype) * x
        if i > 0:
            var = (1 - ab_prev) / (1 - ab_t) * betas[i]
            z = torch.randn(x.shape, device=x.device, dtype=x.dtype, generator=generator)
            x = mean + var.sqrt().to(x.dtype) * z
        else:
            x = mean
        if callback is not None:
            callback(i, x)
    return x
