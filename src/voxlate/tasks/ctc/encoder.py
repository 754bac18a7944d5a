"""The speech encoder shared by the CTC recognizer and the speech translator.

DeepSpeech 2 layout (Amodei et al., 2016): a 2-D convolutional front end that
subsamples time by 4, then bidirectional GRU layers, or "conformer-lite" blocks
(Gulati et al., 2020: half FFN, self-attention, convolution module, half FFN) with
fewer and smaller parts.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class EncoderConfig:
    n_mels: int = 80  # input mel bands
    conv_channels: int = 32  # channels of both 3x3 stride-2 convolutions
    kind: str = "gru"  # "gru" (BiGRU, DeepSpeech 2) or "conformer" (conformer-lite)
    d_model: int = 192  # GRU hidden size per direction, or conformer width
    n_layers: int = 3  # recurrent layers or conformer blocks
    n_heads: int = 4  # attention heads (conformer only)
    conv_kernel: int = 15  # depthwise kernel, frames (conformer only)
    dropout: float = 0.15

    @property
    def out_dim(self) -> int:
        """Width of each output frame."""
        return 2 * self.d_model if self.kind == "gru" else self.d_model


SUBSAMPLING = 4  # feature frames per encoder frame


def out_lengths(lengths: torch.Tensor) -> torch.Tensor:
    """Encoder frames for `lengths` feature frames (two stride-2, kernel-3, pad-1 convs)."""
    for _ in range(2):
        lengths = (lengths - 1) // 2 + 1
    return lengths


class ConformerLiteBlock(nn.Module):
    def __init__(self, d: int, heads: int, kernel: int, dropout: float) -> None:
        super().__init__()
        self.ff1 = nn.Sequential(
            nn.LayerNorm(d),
            nn.Linear(d, 2 * d),
            nn.SiLU(),
            nn.Dropout(dropout),
            nn.Linear(2 * d, d),
        )
        self.norm_att = nn.LayerNorm(d)
        self.att = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        self.norm_conv = nn.LayerNorm(d)
        self.pw1 = nn.Conv1d(d, 2 * d, 1)
        self.dw = nn.Conv1d(d, d, kernel, padding=kernel // 2, groups=d)
        self.bn = nn.BatchNorm1d(d)
        self.pw2 = nn.Conv1d(d, d, 1)
        self.ff2 = nn.Sequential(
            nn.LayerNorm(d),
            nn.Linear(d, 2 * d),
            nn.SiLU(),
            nn.Dropout(dropout),
            nn.Linear(2 * d, d),
        )
        self.norm_out = nn.LayerNorm(d)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        x = x + 0.5 * self.ff1(x)
        h = self.norm_att(x)
        x = x + self.drop(self.att(h, h, h, key_padding_mask=pad, need_weights=False)[0])
        h = self.norm_conv(x).masked_fill(pad[..., None], 0.0).transpose(1, 2)
        h = nn.functional.glu(self.pw1(h), dim=1)
        h = self.pw2(nn.functional.silu(self.bn(self.dw(h))))
        x = x + self.drop(h.transpose(1, 2))
        return self.norm_out(x + 0.5 * self.ff2(x))


class SpeechEncoder(nn.Module):
    """(batch, frames, n_mels) log-mels -> (batch, frames / 4, out_dim)."""

    def __init__(self, cfg: EncoderConfig) -> None:
        super().__init__()
        if cfg.kind not in ("gru", "conformer"):
            raise ValueError(f"encoder kind must be 'gru' or 'conformer', not {cfg.kind!r}")
        self.cfg = cfg
        c = cfg.conv_channels
        self.conv = nn.Sequential(
            nn.Conv2d(1, c, 3, stride=2, padding=1), nn.BatchNorm2d(c), nn.GELU(),
            nn.Conv2d(c, c, 3, stride=2, padding=1), nn.BatchNorm2d(c), nn.GELU(),
        )  # fmt: skip
        freq = (cfg.n_mels + 3) // 4
        width = cfg.d_model
        self.proj = nn.Linear(c * freq, width)
        self.drop = nn.Dropout(cfg.dropout)
        if cfg.kind == "gru":
            self.rnn = nn.GRU(
                width,
                cfg.d_model,
                cfg.n_layers,
                batch_first=True,
                bidirectional=True,
                dropout=cfg.dropout if cfg.n_layers > 1 else 0.0,
            )
        else:
            self.blocks = nn.ModuleList(
                ConformerLiteBlock(width, cfg.n_heads, cfg.conv_kernel, cfg.dropout)
                for _ in range(cfg.n_layers)
            )

    def forward(
        self, feats: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns encoder frames (B, T', out_dim) and their valid lengths (B,)."""
        x = self.conv(feats[:, None])  # (B, C, T', F')
        b, c, t, f = x.shape
        x = self.drop(self.proj(x.permute(0, 2, 1, 3).reshape(b, t, c * f)))
        out_len = out_lengths(lengths).clamp(max=t, min=1)
        if self.cfg.kind == "gru":
            packed = nn.utils.rnn.pack_padded_sequence(
                x, out_len.cpu(), batch_first=True, enforce_sorted=False
            )
            y, _ = self.rnn(packed)
            x, _ = nn.utils.rnn.pad_packed_sequence(y, batch_first=True, total_length=t)
        else:
            pad = torch.arange(t, device=x.device)[None] >= out_len[:, None]
            for blk in self.blocks:
                x = blk(x, pad)
        return self.drop(x), out_len
