"""The CTC recognizer: speech encoder + linear layer over tokens + blank.

Training minimises the CTC loss (Graves et al., 2006). A checkpoint is a dict
``{"kind": "voxlate-ctc", "config": asdict(CTCConfig), "tokenizer": ..., "state": ...,
"history": [...]}`` and `load_ctc` rebuilds the model from it alone.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from voxlate.errors import InputError
from voxlate.tasks.ctc.encoder import EncoderConfig, SpeechEncoder
from voxlate.text.tokenizers import BLANK, Tokenizer

CHECKPOINT_KIND = "voxlate-ctc"


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


def config_from_dict(d: dict) -> CTCConfig:
    d = dict(d)
    d["encoder"] = EncoderConfig(**d["encoder"])
    return CTCConfig(**d)


def save_ctc(
    path: str | os.PathLike,
    model: CTCModel,
    tokenizer: Tokenizer,
    history: list[dict] | None = None,
) -> None:
    """Write a self-contained checkpoint atomically."""
    from voxlate.audio import atomic_path

    ckpt = {
        "kind": CHECKPOINT_KIND,
        "config": asdict(model.cfg),
        "tokenizer": tokenizer.to_dict(),
        "state": model.state_dict(),
        "history": history or [],
    }
    with atomic_path(path) as tmp:
        torch.save(ckpt, tmp)


def read_checkpoint(path: str | os.PathLike, kind: str) -> dict:
    """Load a voxlate checkpoint dict, checking it is of `kind`; InputError otherwise."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"Checkpoint not found: {p}")
    try:
        ckpt = torch.load(p, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001 - any unpickling failure is a bad file
        raise InputError(f"Cannot read checkpoint {p}: {e}") from None
    if not isinstance(ckpt, dict) or ckpt.get("kind") != kind:
        raise InputError(f"{p} is not a {kind} checkpoint.")
    return ckpt


def load_ctc(path: str | os.PathLike) -> tuple[CTCModel, Tokenizer, dict]:
    """Rebuild a CTC model in eval mode from its checkpoint; returns (model, tokenizer, ckpt)."""
    ckpt = read_checkpoint(path, CHECKPOINT_KIND)
    model = CTCModel(config_from_dict(ckpt["config"]))
    model.load_state_dict(ckpt["state"])
    model.eval()
    return model, Tokenizer.from_dict(ckpt["tokenizer"]), ckpt
