"""Guidance: classifier-free (Ho & Salimans, 2021) and classifier (Dhariwal & Nichol, 2021).

Both are *wrappers*: they turn a model (and a classifier) into another eps-predicting
callable ``f(x_t, t) -> eps`` that any sampler in this package accepts.

Scale convention (classifier-free). voxlate uses

    eps_guided = eps_u + s (eps_c - eps_u)

so s = 0 is the unconditional model, s = 1 the conditional model, s > 1 extrapolates
past it. Ho & Salimans (2021, eq. 6) write eps~ = (1 + w) eps_c - w eps_u; their w is
s - 1 here (w = 0 <=> s = 1).

Classifier guidance (Dhariwal & Nichol, 2021, Algorithm 2 / eq. 14 ff.):

    eps_hat = eps_theta(x_t) - s sqrt(1 - alpha_bar_t) grad_{x_t} log p_phi(y | x_t, t)

with a noise-aware classifier p_phi trained on x_t. With s = 1 and the exact classifier
this is the exact conditional eps, since grad log p(x_t|y) = grad log p(x_t) + grad log p(y|x_t).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from voxlate.diffusion.ddpm import DDPM, Model, _expand


def drop_condition(
    cond: torch.Tensor, p: float, null: torch.Tensor | int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Replace each sample's condition by `null` with probability `p` (CFG training).

    cond: (B,) class ids or (B, D) vectors; null: the null class id or a (D,) vector.
    """
    keep = torch.rand(cond.shape[0], device=cond.device, generator=generator) >= p
    null_t = torch.as_tensor(null, device=cond.device, dtype=cond.dtype).expand_as(cond)
    return torch.where(keep.reshape(-1, *([1] * (cond.ndim - 1))), cond, null_t)


class ClassifierFreeGuidance:
    """eps_u + s (eps_c - eps_u) from one model called with `cond` and with `null`.

    model: ``model(x_t, t, cond=...) -> eps``; cond: (B,) or (B, D); null: same kind, one
    sample's worth. Both branches run as one batch of 2B.
    """

    def __init__(
        self, model: Model, cond: torch.Tensor, null: torch.Tensor | int, scale: float
    ) -> None:
        self.model = model
        self.cond = cond
        self.null = torch.as_tensor(null, device=cond.device, dtype=cond.dtype).expand_as(cond)
        self.scale = scale

    def __call__(self, x_t: torch.Tensor, t: torch.Tensor, **extra: object) -> torch.Tensor:
        if self.scale == 1.0:
            return self.model(x_t, t, cond=self.cond, **extra)
        if self.scale == 0.0:
            return self.model(x_t, t, cond=self.null, **extra)
        out = self.model(
            torch.cat([x_t, x_t]),
            torch.cat([t, t]),
            cond=torch.cat([self.cond, self.null]),
            **extra,
        )
        eps_c, eps_u = out.chunk(2)
        return eps_u + self.scale * (eps_c - eps_u)


class ClassifierGuidance:
    """eps_theta - s sqrt(1 - alpha_bar_t) grad log p_phi(y | x_t) (Dhariwal & Nichol, 2021).

    model: eps-predicting ``model(x_t, t, **extra)``; classifier: ``classifier(x_t, t) ->
    logits (B, K)``, noise-aware; y: (B,) target classes; ddpm: gives alpha_bar_t.
    """

    def __init__(
        self,
        model: Model,
        classifier: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        y: torch.Tensor,
        ddpm: DDPM,
        scale: float,
    ) -> None:
        self.model = model
        self.classifier = classifier
        self.y = y
        self.ddpm = ddpm
        self.scale = scale

    def grad_log_prob(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """grad_{x_t} log p_phi(y | x_t, t), shape of x_t."""
        with torch.enable_grad():
            x = x_t.detach().requires_grad_(True)
            logp = torch.log_softmax(self.classifier(x, t), dim=-1)
            sel = logp.gather(1, self.y.reshape(-1, 1)).sum()
            return torch.autograd.grad(sel, x)[0]

    def __call__(self, x_t: torch.Tensor, t: torch.Tensor, **extra: object) -> torch.Tensor:
        eps = self.model(x_t, t, **extra)
        ab = _expand(self.ddpm.alpha_bars.to(x_t.device)[t], x_t)
        return eps - self.scale * (1 - ab).sqrt() * self.grad_log_prob(x_t, t)
