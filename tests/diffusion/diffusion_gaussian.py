"""Gaussian data N(mu, diag(s0^2)) and its exact noise predictor and score for every process."""

from __future__ import annotations

import torch

from voxlate.diffusion.ddpm import DDPM
from voxlate.diffusion.sde import SDE, _b

MU = torch.tensor([1.0, -0.5], dtype=torch.float64)  # data mean
S0 = torch.tensor([0.5, 1.5], dtype=torch.float64)  # data std per dimension
N = 8_000  # samples per test (variance sampling error ~1.6%)


def exact_ddpm_model(ddpm: DDPM, prediction: str = "eps"):
    """model(x_t, t) returning E[eps | x_t] (or E[x0 | x_t], or v) for the Gaussian data."""

    def model(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        ab = ddpm.alpha_bars[t].reshape(-1, 1)
        a, s = ab.sqrt(), (1 - ab).sqrt()
        var = a**2 * S0**2 + s**2
        eps = s * (x - a * MU) / var
        x0 = MU + a * S0**2 / var * (x - a * MU)
        return {"eps": eps, "x0": x0, "v": a * eps - s * x0}[prediction]

    return model


def marginal(
    sde: SDE, t: float, y: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact mean and variance (per dimension) of p_t for the Gaussian data."""
    tt = torch.tensor([t], dtype=torch.float64)
    m_unit, _ = sde.marginal_prob(torch.ones(1, 2, dtype=torch.float64), tt, y)
    m0, std = sde.marginal_prob(torch.zeros(1, 2, dtype=torch.float64), tt, y)
    scale = m_unit - m0  # mean coefficient of x0
    return (scale * MU + m0)[0], (scale**2 * S0**2 + std.reshape(-1, 1) ** 2)[0]


def exact_score(sde: SDE, y: torch.Tensor | None = None):
    """score_fn(x, t) = -(x - mean_t) / var_t for the Gaussian data."""

    def score(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        ones = torch.ones_like(x)
        yy = None if y is None else y.expand_as(x)
        m_unit, _ = sde.marginal_prob(ones, t, yy)
        m0, std = sde.marginal_prob(torch.zeros_like(x), t, yy)
        scale = m_unit - m0
        var = scale**2 * S0**2 + _b(std, x) ** 2
        return -(x - (scale * MU + m0)) / var

    return score


def check_moments(x: torch.Tensor, mean: torch.Tensor, var: torch.Tensor, tol: float) -> None:
    """Sample mean within tol * std and variance within tol (relative) of the targets."""
    got_m, got_v = x.mean(0), x.var(0)
    assert torch.all((got_m - mean).abs() <= tol * var.sqrt()), (got_m, mean)
    assert torch.all((got_v / var - 1).abs() <= tol), (got_v, var)
