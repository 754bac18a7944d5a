"""A 1-D U-Net for vectors (e.g. speaker embeddings) or 1-D signals.

A vector x (B, D) is treated as a 1-channel sequence (B, 1, D); inputs of shape
(B, C, L) pass through as they are. Same blocks as the 2-D U-Net with Conv1d.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from voxlate.diffusion.nets.unet2d import UNet2DConfig, UNetND


@dataclass(frozen=True)
class UNet1DConfig(UNet2DConfig):
    """Architecture of a UNet1D (fields as UNet2DConfig; 1 channel in/out by default)."""

    in_channels: int = 1  # input channels (1 for a plain vector)
    out_channels: int = 1  # output channels
    base_channels: int = 32  # channels at the first level
    channel_mults: tuple[int, ...] = (1, 2, 2)  # channel multiplier per level


class UNet1D(UNetND):
    """x (B, D) or (B, C, L), t (B,), optional cond -> same shape as x."""

    def __init__(self, config: UNet1DConfig) -> None:
        super().__init__(config, dims=1)

    def forward(
        self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None = None
    ) -> torch.Tensor:
        if x.ndim == 2:
            return super().forward(x[:, None], t, cond)[:, 0]
        return super().forward(x, t, cond)
