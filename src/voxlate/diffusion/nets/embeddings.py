"""Time and condition embeddings shared by the networks."""

from __future__ import annotations

import math

import torch
from torch import nn


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """Sinusoidal embedding of t (B,) -> (B, dim) (Vaswani et al., 2017; Ho et al., 2020)."""
    half = dim // 2
    freqs = torch.exp(
        -math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half
    )
    args = t.float().reshape(-1, 1) * freqs.reshape(1, -1)
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=1)
    return nn.functional.pad(emb, (0, dim % 2))


class ConditionEmbedding(nn.Module):
    """Time plus optional class id / vector condition -> one embedding (B, dim).

    time_scale multiplies t before the sinusoid: 1 for integer DDPM steps, ~1000 for
    continuous t in [0, 1]. num_classes > 0 adds a class table with one extra row, the
    null class `num_classes`, for classifier-free guidance. cond_dim > 0 adds a linear map
    of a vector condition (B, cond_dim).
    """

    def __init__(
        self, dim: int, time_scale: float = 1.0, num_classes: int = 0, cond_dim: int = 0
    ) -> None:
        super().__init__()
        self.dim = dim
        self.time_scale = time_scale
        self.time_mlp = nn.Sequential(
            nn.Linear(dim, 4 * dim), nn.SiLU(), nn.Linear(4 * dim, 4 * dim)
        )
        self.class_emb = nn.Embedding(num_classes + 1, 4 * dim) if num_classes > 0 else None
        self.cond_mlp = nn.Linear(cond_dim, 4 * dim) if cond_dim > 0 else None
        self.out_dim = 4 * dim

    def forward(self, t: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        emb = self.time_mlp(timestep_embedding(t * self.time_scale, self.dim))
        if cond is not None:
            if self.class_emb is not None:
                emb = emb + self.class_emb(cond.long())
            elif self.cond_mlp is not None:
                emb = emb + self.cond_mlp(cond.to(emb.dtype))
            else:
                raise ValueError("this network was built without conditioning; pass cond=None")
        return emb
