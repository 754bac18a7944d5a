"""Score SDEs (Song et al., 2021, "Score-Based Generative Modeling through SDEs").

Forward SDE dx = f(x, t) dt + g(t) dw on t in [0, T] (eq. 5); its reverse
dx = [f(x, t) - g(t)^2 grad_x log p_t(x)] dt + g(t) dw_bar (eq. 6) and the probability-flow
ODE dx = [f(x, t) - 1/2 g(t)^2 grad_x log p_t(x)] dt (eq. 13). Each SDE here is linear in
x, so its perturbation kernel p_0t(x_t | x_0) is Gaussian with a closed-form mean and std.

- VE (eq. 30, 'SMLD'): sigma(t) = sigma_min (sigma_max/sigma_min)^t, f = 0,
  g = sigma(t) sqrt(2 log(sigma_max/sigma_min)); var(t) = sigma(t)^2 - sigma_min^2.
- VP (eq. 32, 'DDPM'): beta(t) = beta_min + t (beta_max - beta_min), f = -1/2 beta(t) x,
  g = sqrt(beta(t)); mean = e^{-1/2 int beta} x_0, var = 1 - e^{-int beta} (eq. 33).
- OUVE (Welker et al., 2022; Richter et al., 2023, SGMSE+, eq. 6-9): dx = gamma (y - x) dt + g dw
  with the VE g(t); the mean drifts from the clean x_0 toward the noisy y:
  mean = e^{-gamma t} x_0 + (1 - e^{-gamma t}) y,
  var  = sigma_min^2 ((sigma_max/sigma_min)^{2t} - e^{-2 gamma t}) log(sigma_max/sigma_min)
         / (gamma + log(sigma_max/sigma_min)).

All methods take t as a tensor of shape (B,) and x of shape (B, ...); `y` is the
conditioning (the noisy observation) and only OUVE uses it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


def _b(a: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return a.to(x.dtype).reshape(-1, *([1] * (x.ndim - 1)))


class SDE:
    """A linear SDE with Gaussian perturbation kernel. Holds no weights."""

    T: float = 1.0  # end time
    # True where the Langevin step size is scaled by alpha_i (VP; Song et al. 2021, Algorithm 5)
    variance_preserving: bool = False

    def sde(
        self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Drift f(x, t) (shape of x) and diffusion g(t) (shape (B,))."""
        raise NotImplementedError

    def marginal_prob(
        self, x0: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean (shape of x0) and std (shape (B,)) of p_0t(x_t | x_0)."""
        raise NotImplementedError

    def prior_sample(
        self,
        shape: tuple[int, ...],
        y: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> torch.Tensor:
        """Draw x_T from the prior p_T (approximately the marginal at t = T)."""
        raise NotImplementedError

    def perturb(
        self, x0: torch.Tensor, t: torch.Tensor, z: torch.Tensor, y: torch.Tensor | None = None
    ) -> torch.Tensor:
        """x_t = mean(x0, t) + std(t) z, z ~ N(0, I)."""
        mean, std = self.marginal_prob(x0, t, y)
        return mean + _b(std, x0) * z


@dataclass(frozen=True)
class VESDE(SDE):
    """Variance exploding SDE (Song et al., 2021, eq. 30)."""

    sigma_min: float = 0.01  # sigma at t = 0
    sigma_max: float = (
        50.0  # sigma at t = T = 1; should exceed the data's largest pairwise distance
    )

    def sigma(self, t: torch.Tensor) -> torch.Tensor:
        return self.sigma_min * (self.sigma_max / self.sigma_min) ** t

    def sde(self, x, t, y=None):
        g = self.sigma(t) * math.sqrt(2 * math.log(self.sigma_max / self.sigma_min))
        return torch.zeros_like(x), g

    def marginal_prob(self, x0, t, y=None):
        return x0, (self.sigma(t) ** 2 - self.sigma_min**2).clamp_min(0).sqrt()

    def prior_sample(self, shape, y=None, generator=None, device="cpu", dtype=torch.float32):
        return torch.randn(shape, generator=generator, device=device, dtype=dtype) * self.sigma_max


@dataclass(frozen=True)
class VPSDE(SDE):
    """Variance preserving SDE (Song et al., 2021, eq. 32); the continuous limit of DDPM."""

    beta_min: float = 0.1  # beta(0)
    beta_max: float = 20.0  # beta(1)
    variance_preserving: bool = True

    def beta(self, t: torch.Tensor) -> torch.Tensor:
        return self.beta_min + t * (self.beta_max - self.beta_min)

    def log_mean_coeff(self, t: torch.Tensor) -> torch.Tensor:
        """-1/2 int_0^t beta(s) ds."""
        return -0.25 * t**2 * (self.beta_max - self.beta_min) - 0.5 * t * self.beta_min

    def sde(self, x, t, y=None):
        beta = self.beta(t)
        return -0.5 * _b(beta, x) * x, beta.sqrt()

    def marginal_prob(self, x0, t, y=None):
        lm = self.log_mean_coeff(t)
        return _b(lm.exp(), x0) * x0, (1 - (2 * lm).exp()).clamp_min(0).sqrt()

    def prior_sample(self, shape, y=None, generator=None, device="cpu", dtype=torch.float32):
        return torch.randn(shape, generator=generator, device=device, dtype=dtype)

    def alpha(self, t: torch.Tensor, dt: float) -> torch.Tensor:
        """alpha_i = 1 - beta_i of the discretized chain at t (for the Langevin step size)."""
        return 1 - self.beta(t) * dt


@dataclass(frozen=True)
class OUVESDE(SDE):
    """Ornstein-Uhlenbeck variance exploding SDE of SGMSE+ (Richter et al., 2023, eq. 6-9).

    Defaults are SGMSE+'s: gamma = 1.5, sigma_min = 0.05, sigma_max = 0.5.
    """

    gamma: float = 1.5  # stiffness pulling the mean from x_0 toward y
    sigma_min: float = 0.05  # noise scale at t = 0
    sigma_max: float = 0.5  # noise scale at t = T
    T: float = 1.0  # end time

    def _log_ratio(self) -> float:
        return math.log(self.sigma_max / self.sigma_min)

    def sde(self, x, t, y=None):
        assert y is not None, "OUVE needs the observation y"
        g = (
            self.sigma_min
            * (self.sigma_max / self.sigma_min) ** t
            * math.sqrt(2 * self._log_ratio())
        )
        return self.gamma * (y - x), g

    def mean(self, x0: torch.Tensor, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        e = _b(torch.exp(-self.gamma * t), x0)
        return e * x0 + (1 - e) * y

    def std(self, t: torch.Tensor) -> torch.Tensor:
        lr = self._log_ratio()
        g = self.gamma
        var = (
            self.sigma_min**2
            * ((self.sigma_max / self.sigma_min) ** (2 * t) - torch.exp(-2 * g * t))
            * lr
            / (g + lr)
        )
        return var.clamp_min(0).sqrt()

    def marginal_prob(self, x0, t, y=None):
        assert y is not None, "OUVE needs the observation y"
        return self.mean(x0, t, y), self.std(t)

    def prior_sample(self, shape, y=None, generator=None, device="cpu", dtype=torch.float32):
        """x_T ~ N(y, std(T)^2 I), SGMSE+'s prior (the mean at T is approximately y)."""
        assert y is not None, "OUVE needs the observation y"
        std = self.std(torch.tensor([self.T], dtype=torch.float64)).item()
        z = torch.randn(y.shape, generator=generator, device=y.device, dtype=y.dtype)
        return y + std * z
