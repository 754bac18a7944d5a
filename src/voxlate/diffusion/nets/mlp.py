"""An MLP denoiser for low-dimensional vectors (toy data, embeddings)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from voxlate.diffusion.nets.embeddings import ConditionEmbedding


@dataclass(frozen=True)
class MLPConfig:
    """Architecture of an MLP denoiser; saved with its weights."""

    dim: int = 2  # size of the data vector
    hidden: int = 128  # width of the hidden layers
    layers: int = 3  # number of hidden layers
    time_dim: int = 32  # size of the sinusoidal time embedding (the MLP sees 4x this)
    time_scale: float = 1.0  # t multiplier before the sinusoid (1000 for continuous t)
    num_classes: int = 0  # > 0: class conditioning with a null class for CFG
    cond_dim: int = 0  # > 0: vector conditioning of this size


class MLP(nn.Module):
    """x (B, dim), t (B,), optional cond -> (B, dim)."""

    def __init__(self, config: MLPConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = ConditionEmbedding(
            config.time_dim, config.time_scale, config.num_classes, config.cond_dim
        )
        layers: list[nn.Module] = []
        c = config.dim + self.embed.out_dim
        for _ in range(config.layers):
            layers += [nn.Linear(c, config.hidden), nn.SiLU()]
            c = config.hidden
        layers.append(nn.Linear(c, config.dim))
        self.net = nn.Sequential(*layers)

    def forward(
        self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None = None
    ) -> torch.Tensor:
        t = t.expand(x.shape[0]) if t.ndim == 0 else t
        return self.net(torch.cat([x, self.embed(t, cond)], dim=1))
