"""End-to-end speech translation: one speech encoder, several decoders.

The shared `SpeechEncoder` (the CTC recognizer's) feeds

- a CTC head over source-language characters (the transcript, as in Kim et al., 2017,
  "Joint CTC-attention based end-to-end speech recognition using multi-task learning"),
- an attention decoder for the source transcript, and
- an attention decoder for the target-language translation
  (multi-task ST as in Weiss et al., 2017, "Sequence-to-sequence models can directly
  translate foreign speech").

The decoders (`voxlate.tasks.st.decoder`) are ``gru`` (GRU + Luong attention) or ``mha``
(Transformer); `voxlate.tasks.st.decoding.beam_search` decodes them. `TextTranslator` reuses
the decoder on a text encoder; it is the text half of the cascade baseline.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from voxlate.tasks.ctc.encoder import EncoderConfig, SpeechEncoder
from voxlate.tasks.st.decoder import AttentionDecoder, DecoderConfig
from voxlate.text.tokenizers import BLANK


@dataclass(frozen=True)
class STConfig:
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    decoder: DecoderConfig = field(default_factory=DecoderConfig)
    source_vocab: int = 64  # source tokenizer ids
    target_vocab: int = 64  # target tokenizer ids
    source_decoder: bool = True  # also train an attention decoder for the transcript
    ctc_weight: float = 0.3  # weight of the source CTC loss
    source_weight: float = 0.3  # weight of the source attention-decoder loss
    source_language: str = ""  # ISO 639-1
    target_language: str = ""


class STModel(nn.Module):
    def __init__(self, cfg: STConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = SpeechEncoder(cfg.encoder)
        dim = cfg.encoder.out_dim
        self.ctc_head = nn.Linear(dim, cfg.source_vocab)
        self.target = AttentionDecoder(cfg.decoder, cfg.target_vocab, dim)
        self.source = (
            AttentionDecoder(cfg.decoder, cfg.source_vocab, dim) if cfg.source_decoder else None
        )

    def encode(
        self, feats: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Encoder memory (B, T, D), its lengths (B,) and padding mask (B, T)."""
        mem, mem_len = self.encoder(feats, lengths)
        pad = torch.arange(mem.shape[1])[None] >= mem_len[:, None]
        return mem, mem_len, pad

    def losses(
        self,
        feats: torch.Tensor,
        lengths: torch.Tensor,
        src: tuple[torch.Tensor, torch.Tensor],
        tgt: tuple[torch.Tensor, torch.Tensor],
    ) -> dict[str, torch.Tensor]:
        """Per-head losses and their weighted sum under "total"."""
        mem, mem_len, pad = self.encode(feats, lengths)
        logp = self.ctc_head(mem).log_softmax(-1)
        out = {
            "ctc": nn.functional.ctc_loss(
                logp.transpose(0, 1), src[0], mem_len, src[1], blank=BLANK, zero_infinity=True
            ),
            "target": self.target.loss(tgt[0], tgt[1], mem, pad),
        }
        w_src = self.cfg.source_weight if self.source is not None else 0.0
        total = self.cfg.ctc_weight * out["ctc"] + out["target"]
        if self.source is not None:
            out["source"] = self.source.loss(src[0], src[1], mem, pad)
            total = total + w_src * out["source"]
        out["total"] = total
        return out


class TextTranslator(nn.Module):
    """Text-to-text translator (character embeddings + BiGRU encoder + `AttentionDecoder`)."""

    def __init__(self, cfg: DecoderConfig, source_vocab: int, target_vocab: int) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.embed = nn.Embedding(source_vocab, d)
        self.rnn = nn.GRU(d, d // 2, 2, batch_first=True, bidirectional=True, dropout=cfg.dropout)
        self.decoder = AttentionDecoder(cfg, target_vocab, d)

    def encode(
        self, tokens: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Memory (B, S, d) and padding mask (B, S) of 0-padded source ids."""
        x = self.embed(tokens)
        lengths = lengths.clamp(min=1)
        packed = nn.utils.rnn.pack_padded_sequence(
            x, lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        h, _ = self.rnn(packed)
        mem, _ = nn.utils.rnn.pad_packed_sequence(h, batch_first=True, total_length=tokens.shape[1])
        return mem, torch.arange(tokens.shape[1])[None] >= lengths[:, None]
