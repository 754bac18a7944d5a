"""A 2-D U-Net for images and spectrograms (Ronneberger et al., 2015; Ho et al., 2020, App. B).

Residual blocks with GroupNorm and SiLU, the time/condition embedding added in each block,
stride-2 downsampling, nearest-neighbour upsampling, optional self-attention at the lowest
resolution. Any input height/width works: inputs are padded to a multiple of
2^(levels - 1) and cropped back.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from voxlate.diffusion.nets.embeddings import ConditionEmbedding


@dataclass(frozen=True)
class UNet2DConfig:
    """Architecture of a UNet2D; saved with its weights."""

    in_channels: int = 2  # input channels (e.g. real + imaginary of a spectrogram)
    out_channels: int = 2  # output channels
    base_channels: int = 32  # channels at the first level
    channel_mults: tuple[int, ...] = (1, 2, 2, 2)  # channel multiplier per level
    num_res_blocks: int = 1  # residual blocks per level (down path; up path has one more)
    attention: bool = False  # self-attention at the lowest resolution
    time_scale: float = 1.0  # t multiplier before the sinusoid (1000 for continuous t in [0, 1])
    num_classes: int = 0  # > 0: class conditioning with a null class for CFG
    cond_dim: int = 0  # > 0: vector conditioning of this size
    dropout: float = 0.0  # dropout in residual blocks


def _groups(c: int) -> int:
    for g in (32, 16, 8, 4, 2, 1):
        if c % g == 0:
            return g
    return 1


class ResBlock(nn.Module):
    def __init__(
        self, c_in: int, c_out: int, emb_dim: int, dropout: float, conv: type[nn.Module]
    ) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(_groups(c_in), c_in)
        self.conv1 = conv(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb_dim, c_out)
        self.norm2 = nn.GroupNorm(_groups(c_out), c_out)
        self.drop = nn.Dropout(dropout)
        self.conv2 = conv(c_out, c_out, 3, padding=1)
        self.skip = conv(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(nn.functional.silu(self.norm1(x)))
        e = self.emb(emb)
        h = h + e.reshape(*e.shape, *([1] * (x.ndim - 2)))
        h = self.conv2(self.drop(nn.functional.silu(self.norm2(h))))
        return h + self.skip(x)


class SelfAttention(nn.Module):
    def __init__(self, c: int, heads: int = 4) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(_groups(c), c)
        self.attn = nn.MultiheadAttention(c, heads if c % heads == 0 else 1, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c = x.shape[:2]
        h = self.norm(x).reshape(b, c, -1).transpose(1, 2)
        h, _ = self.attn(h, h, h, need_weights=False)
        return x + h.transpose(1, 2).reshape(x.shape)


class UNetND(nn.Module):
    """The U-Net body shared by the 1-D and 2-D versions."""

    def __init__(self, config: UNet2DConfig, dims: int) -> None:
        super().__init__()
        self.config = config
        conv = nn.Conv2d if dims == 2 else nn.Conv1d
        self.dims = dims
        c0 = config.base_channels
        self.embed = ConditionEmbedding(c0, config.time_scale, config.num_classes, config.cond_dim)
        e = self.embed.out_dim
        self.inp = conv(config.in_channels, c0, 3, padding=1)
        chans = [c0 * m for m in config.channel_mults]
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        skips = [c0]
        c = c0
        for i, ch in enumerate(chans):
            blocks = nn.ModuleList()
            for _ in range(config.num_res_blocks):
                blocks.append(ResBlock(c, ch, e, config.dropout, conv))
                c = ch
                skips.append(c)
            self.down.append(blocks)
            if i < len(chans) - 1:
                self.downsample.append(conv(c, c, 3, stride=2, padding=1))
                skips.append(c)
        self.mid1 = ResBlock(c, c, e, config.dropout, conv)
        self.mid_attn = SelfAttention(c) if config.attention else nn.Identity()
        self.mid2 = ResBlock(c, c, e, config.dropout, conv)
        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for i, ch in reversed(list(enumerate(chans))):
            blocks = nn.ModuleList()
            for _ in range(config.num_res_blocks + 1):
                blocks.append(ResBlock(c + skips.pop(), ch, e, config.dropout, conv))
                c = ch
            self.up.append(blocks)
            if i > 0:
                self.upsample.append(conv(c, c, 3, padding=1))
        self.out_norm = nn.GroupNorm(_groups(c), c)
        self.out = conv(c, config.out_channels, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(
        self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None = None
    ) -> torch.Tensor:
        """x: (B, C_in, *spatial); t: (B,) (or a scalar); cond: (B,) ids or (B, cond_dim)."""
        levels = len(self.config.channel_mults)
        mult = 2 ** (levels - 1)
        size = x.shape[2:]
        pad: list[int] = []
        for n in reversed(size):
            pad += [0, (-n) % mult]
        h = nn.functional.pad(x, pad) if any(pad) else x
        t = t.expand(x.shape[0]) if t.ndim == 0 else t
        emb = self.embed(t, cond)
        h = self.inp(h)
        hs = [h]
        for i, blocks in enumerate(self.down):
            for blk in blocks:
                h = blk(h, emb)
                hs.append(h)
            if i < len(self.downsample):
                h = self.downsample[i](h)
                hs.append(h)
        h = self.mid2(self.mid_attn(self.mid1(h, emb)), emb)
        for i, blocks in enumerate(self.up):
            for blk in blocks:
                h = blk(torch.cat([h, hs.pop()], dim=1), emb)
            if i < len(self.upsample):
                h = self.upsample[i](nn.functional.interpolate(h, scale_factor=2.0, mode="nearest"))
        h = self.out(nn.functional.silu(self.out_norm(h)))
        return h[(slice(None), slice(None), *(slice(0, n) for n in size))]


class UNet2D(UNetND):
    """2-D U-Net: x (B, C_in, H, W), t (B,), optional cond -> (B, C_out, H, W)."""

    def __init__(self, config: UNet2DConfig) -> None:
        super().__init__(config, dims=2)
