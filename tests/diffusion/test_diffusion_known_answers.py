"""Every sampler, driven by the exact score of Gaussian data, reproduces the data's moments."""

from __future__ import annotations

import pytest
import torch
from diffusion_gaussian import MU, S0, N, check_moments, exact_ddpm_model, exact_score, marginal

from voxlate.diffusion.ddim import ddim_sample, ddim_timesteps
from voxlate.diffusion.ddpm import DDPM, DDPMConfig, ddpm_sample
from voxlate.diffusion.samplers import pc_sample, probability_flow_sample
from voxlate.diffusion.sde import OUVESDE, SDE, VESDE, VPSDE

TOL = 0.06  # mean within 6% of a std, variance within 6% (sampling error at N=8000: ~1.1% / 1.6%)
DATA_VAR = S0**2


def _noise(seed: int) -> torch.Tensor:
    return torch.randn(N, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize(
    ("schedule", "prediction"),
    [("linear", "eps"), ("linear", "x0"), ("linear", "v"), ("cosine", "eps")],
)
def test_ddpm_ancestral(schedule: str, prediction: str) -> None:
    ddpm = DDPM.from_config(DDPMConfig(T=1000, schedule=schedule, prediction=prediction))
    g = torch.Generator().manual_seed(1)
    x = ddpm_sample(exact_ddpm_model(ddpm, prediction), ddpm, _noise(0), generator=g)
    check_moments(x, MU, DATA_VAR, TOL)


def _ddim_exact_variance(ddpm: DDPM, steps: int, eta: float) -> torch.Tensor:
    """The variance DDIM's update (eq. 12) gives Gaussian data, by exact recursion.

    With the exact model, x - sqrt(ab) mu is mapped linearly each step:
    x' - a' mu = (a' A + c' B)(x - a mu) + sigma z, A = a s0^2 / v, B = s / v,
    v = a^2 s0^2 + s^2, c' = sqrt(1 - a'^2 - sigma^2); so Var' = (a' A + c' B)^2 Var + sigma^2.
    """
    ab = ddpm.alpha_bars
    ts = ddim_timesteps(ddpm.T, steps)
    var = torch.ones(2, dtype=torch.float64)  # x_T ~ N(0, 1)
    for k, i in enumerate(ts):
        ab_prev = ab[ts[k + 1]] if k + 1 < len(ts) else torch.tensor(1.0, dtype=torch.float64)
        a, s = ab[i].sqrt(), (1 - ab[i]).sqrt()
        v = a**2 * S0**2 + s**2
        sigma = eta * ((1 - ab_prev) / (1 - ab[i])).sqrt() * (1 - ab[i] / ab_prev).sqrt()
        if k + 1 == len(ts):
            sigma = sigma * 0
        c = (1 - ab_prev - sigma**2).clamp_min(0).sqrt()
        var = (ab_prev.sqrt() * a * S0**2 / v + c * s / v) ** 2 * var + sigma**2
    return var


@pytest.mark.parametrize(("steps", "eta"), [(25, 0.0), (50, 0.0), (50, 1.0)])
def test_ddim_matches_exact_discrete_answer(steps: int, eta: float) -> None:
    """Few-step DDIM shrinks the variance by a known amount; the sampler reproduces it."""
    ddpm = DDPM.from_config(DDPMConfig(T=1000))
    g = torch.Generator().manual_seed(2)
    x = ddim_sample(exact_ddpm_model(ddpm), ddpm, _noise(0), steps=steps, eta=eta, generator=g)
    check_moments(x, MU, _ddim_exact_variance(ddpm, steps, eta), TOL)


@pytest.mark.parametrize("eta", [0.0])
def test_ddim_converges_to_data(eta: float) -> None:
    ddpm = DDPM.from_config(DDPMConfig(T=1000))
    g = torch.Generator().manual_seed(2)
    x = ddim_sample(exact_ddpm_model(ddpm), ddpm, _noise(0), steps=250, eta=eta, generator=g)
    check_moments(x, MU, DATA_VAR, TOL)


def test_ddim_25_steps_vs_full_ddpm() -> None:
    """The issue's target (DDIM-25 within a few percent of DDPM-1000), measured on Gaussian data.

    On this worst case for a first-order sampler (a narrow Gaussian, linear schedule) the
    25-step variance is ~15-20% low for the s0 = 0.5 dimension; see docs/diffusion.md.
    The mean is unbiased; the cosine schedule does better.
    """
    for schedule, var_tol in (("linear", 0.25), ("cosine", 0.12)):
        ddpm = DDPM.from_config(DDPMConfig(T=1000, schedule=schedule))
        model = exact_ddpm_model(ddpm)
        full = ddpm_sample(model, ddpm, _noise(0), generator=torch.Generator().manual_seed(3))
        fast = ddim_sample(model, ddpm, _noise(0), steps=25, eta=0.0)
        ratio = fast.var(0) / full.var(0)
        print(f"{schedule}: DDIM-25 / DDPM-1000 variance ratio {ratio.tolist()}")
        assert torch.all((ratio - 1).abs() < var_tol)
        assert torch.all((fast.mean(0) - full.mean(0)).abs() < TOL * S0)


def test_ddim_eta0_is_deterministic() -> None:
    ddpm = DDPM.from_config(DDPMConfig(T=100))
    model = exact_ddpm_model(ddpm)
    xT = _noise(5)[:256]
    a = ddim_sample(model, ddpm, xT, steps=20, generator=torch.Generator().manual_seed(0))
    b = ddim_sample(model, ddpm, xT, steps=20, generator=torch.Generator().manual_seed(99))
    assert torch.equal(a, b)
    c = ddim_sample(model, ddpm, xT, steps=20, eta=1.0, generator=torch.Generator().manual_seed(0))
    assert not torch.equal(a, c)


SDES: dict[str, tuple[SDE, torch.Tensor | None, float]] = {
    "ve": (VESDE(sigma_min=0.01, sigma_max=20.0), None, 1e-3),
    "vp": (VPSDE(), None, 1e-3),
    "ouve": (OUVESDE(), torch.tensor([0.3, 0.8], dtype=torch.float64), 0.03),
}


def _start(sde: SDE, y: torch.Tensor | None) -> torch.Tensor:
    """x_T drawn from the exact marginal at T, so only the sampler's error is measured."""
    mean, var = marginal(sde, sde.T, y)
    return mean + var.sqrt() * _noise(7)


@pytest.mark.parametrize("name", list(SDES))
def test_pc_sampler(name: str) -> None:
    sde, y, t_eps = SDES[name]
    g = torch.Generator().manual_seed(4)
    x = pc_sample(
        exact_score(sde, y),
        sde,
        _start(sde, y),
        steps=200,
        corrector_steps=1,
        snr=0.16,
        t_eps=t_eps,
        y=y,
        generator=g,
    )
    check_moments(x, *marginal(sde, t_eps, y), TOL)


@pytest.mark.parametrize("name", list(SDES))
def test_euler_maruyama_only(name: str) -> None:
    sde, y, t_eps = SDES[name]
    g = torch.Generator().manual_seed(5)
    x = pc_sample(
        exact_score(sde, y),
        sde,
        _start(sde, y),
        steps=200,
        corrector_steps=0,
        t_eps=t_eps,
        y=y,
        generator=g,
    )
    check_moments(x, *marginal(sde, t_eps, y), TOL)


@pytest.mark.parametrize("name", list(SDES))
def test_probability_flow_ode(name: str) -> None:
    sde, y, t_eps = SDES[name]
    x = probability_flow_sample(
        exact_score(sde, y), sde, _start(sde, y), steps=100, t_eps=t_eps, y=y
    )
    check_moments(x, *marginal(sde, t_eps, y), TOL)


def test_pc_30_steps_ouve() -> None:
    """SGMSE+'s step count (30 steps, 1 corrector step) lands on the target with snr 0.16.

    (SGMSE+'s snr = 0.5 inflates the variance of exact-score Langevin on a Gaussian by
    1 / (1 - r^2) = 4/3; see docs/diffusion.md.)
    """
    sde, y, t_eps = SDES["ouve"]
    x = pc_sample(
        exact_score(sde, y),
        sde,
        _start(sde, y),
        steps=30,
        corrector_steps=1,
        snr=0.16,
        t_eps=t_eps,
        y=y,
        generator=torch.Generator().manual_seed(6),
    )
    check_moments(x, *marginal(sde, t_eps, y), 0.08)


def test_ouve_marginal_matches_simulation() -> None:
    """Simulating the forward OUVE SDE agrees with its closed-form mean and std."""
    sde = OUVESDE()
    y = torch.tensor([0.3, 0.8], dtype=torch.float64)
    x = MU + S0 * _noise(8)
    steps = 400
    g = torch.Generator().manual_seed(9)
    for i in range(steps):
        t = torch.full((N,), i / steps, dtype=torch.float64)
        f, gg = sde.sde(x, t, y.expand_as(x))
        x = (
            x
            + f / steps
            + gg.reshape(-1, 1)
            * (1 / steps) ** 0.5
            * torch.randn(x.shape, dtype=x.dtype, generator=g)
        )
    check_moments(x, *marginal(sde, 1.0, y), TOL)
