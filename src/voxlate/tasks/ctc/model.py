"""The CTC recognizer: speech encoder + linear layer over tokens + blank.

Training minimises the CTC loss (Graves et al., 2006). A checkpoint is in the
`voxlate.checkpoint` format: the `CTCConfig`, the weights, and in `extra` the tokenizer
and the learning curve (`history`); `load_ctc` rebuilds the model from it alone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from voxlate.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from voxlate.tasks.ctc.encoder import EncoderConfig, SpeechEncoder
from voxlate.text.tokenizers import BLANK, Tokenizer


@dataclass(frozen=True)
class CTCConfig:
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    vocab_size: int = 64  # tokenizer ids, blank included
    language: str = ""  # ISO 639-1 of the training speech


class CTCModel(nn.Module):
    def __init__(self, cfg: CTCConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = SpeechEncoder(cfg.encoder)
        self.head = nn.Linear(cfg.encoder.out_dim, cfg.vocab_size)
        self.ctc = nn.CTCLoss(blank=BLANK, zero_infinity=True)

    def forward(
        self, feats: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probabilities (B, T', vocab) and their lengths (B,)."""
        h, out_len = self.encoder(feats, lengths)
        return self.head(h).log_softmax(-1), out_len

    def loss(
        self,
        feats: torch.Tensor,
        lengths: torch.Tensor,
        targets: torch.Tensor,
        target_lengths: torch.Tensor,
    ) -> torch.Tensor:
        """Mean CTC loss per target token; targets (B, S) padded with 0."""
        logp, out_len = self(feats, lengths)
        return self.ctc(logp.transpose(0, 1), targets, out_len, target_lengths)


def save_ctc(
    path: str | os.PathLike,
    model: CTCModel,
    tokenizer: Tokenizer,
    history: list[dict] | None = None,
    weights: dict[str, torch.Tensor] | None = None,
    train_config: Any = None,
    minutes: float | None = None,
) -> None:
    """Write a self-contained checkpoint atomically (`voxlate.checkpoint` format).

    weights: the weights to store (default: the model's own).
    """
    extra: dict[str, Any] = {"tokenizer": tokenizer.to_dict(), "history": history or []}
    if minutes is not None:
        extra["train_minutes"] = minutes
    save_checkpoint(
        path,
        config=model.cfg,
        model=weights if weights is not None else model.state_dict(),
        train_config=train_config,
        extra=extra,
    )


def load_ctc(path: str | os.PathLike) -> tuple[CTCModel, Tokenizer, Checkpoint]:
    """Rebuild a CTC model in eval mode from its checkpoint; returns (model, tokenizer, checkpoint)."""
    ck = load_checkpoint(path, expect=CTCConfig)
    model = CTCModel(ck.config)
    model.load_state_dict(ck.model)
    model.eval()
    return model, Tokenizer.from_dict(ck.extra["tokenizer"]), ck
