"""End-to-end speech translation: one speech encoder, several decoders.

The shared `SpeechEncoder` (the CTC recognizer's) feeds

- a CTC head over source-language characters (the transcript, as in Kim et al., 2017,
  "Joint CTC-attention based end-to-end speech recognition using multi-task learning"),
- an attention decoder for the source transcript, and
- an attention decoder for the target-language translation
  (multi-task ST as in Weiss et al., 2017, "Sequence-to-sequence models can directly
  translate foreign speech").

Two decoder kinds: ``gru`` (a GRU with single-head Luong attention, Luong et al., 2015)
and ``mha`` (a Transformer decoder with multi-head self- and cross-attention,
Vaswani et al., 2017). `TextTranslator` reuses the decoder on a text encoder; it is
the text half of the cascade baseline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from voxlate.tasks.ctc.encoder import EncoderConfig, SpeechEncoder
from voxlate.text.tokenizers import BLANK, BOS, EOS

CHECKPOINT_KIND = "voxlate-st"
TEXT_CHECKPOINT_KIND = "voxlate-text-mt"


@dataclass(frozen=True)
class DecoderConfig:
    kind: str = "mha"  # "mha" (Transformer decoder) or "gru" (GRU + Luong attention)
    d_model: int = 192  # embedding and state width
    n_layers: int = 2  # Transformer layers or GRU layers
    n_heads: int = 4  # attention heads ("mha" only)
    dropout: float = 0.15
    max_len: int = 400  # longest output, tokens


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


def _positions(n: int, d: int) -> torch.Tensor:
    pos = torch.arange(n)[:, None]
    div = torch.exp(torch.arange(0, d, 2) * (-math.log(10_000.0) / d))
    pe = torch.zeros(n, d)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)
    return pe


class AttentionDecoder(nn.Module):
    """Autoregressive decoder over encoder memory (B, T, memory_dim)."""

    def __init__(self, cfg: DecoderConfig, vocab: int, memory_dim: int) -> None:
        super().__init__()
        if cfg.kind not in ("mha", "gru"):
            raise ValueError(f"decoder kind must be 'mha' or 'gru', not {cfg.kind!r}")
        self.cfg, self.vocab = cfg, vocab
        d = cfg.d_model
        self.embed = nn.Embedding(vocab, d)
        self.mem_proj = nn.Linear(memory_dim, d)
        self.drop = nn.Dropout(cfg.dropout)
        if cfg.kind == "mha":
            layer = nn.TransformerDecoderLayer(
                d, cfg.n_heads, 4 * d, cfg.dropout, batch_first=True, norm_first=True
            )
            self.layers = nn.TransformerDecoder(layer, cfg.n_layers)
            self.norm = nn.LayerNorm(d)
            self.out = nn.Linear(d, vocab)
        else:
            self.rnn = nn.GRU(
                d,
                d,
                cfg.n_layers,
                batch_first=True,
                dropout=cfg.dropout if cfg.n_layers > 1 else 0.0,
            )
            self.out = nn.Linear(2 * d, vocab)

    def forward(
        self,
        tokens: torch.Tensor,
        memory: torch.Tensor,
        mem_pad: torch.Tensor,
        state: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits (B, S, vocab) for input `tokens` (B, S) starting with BOS; `mem_pad` (B, T) True
        at padding. For "gru" the returned state continues decoding step by step."""
        mem = self.mem_proj(memory)
        x = self.embed(tokens)
        if self.cfg.kind == "mha":
            s = tokens.shape[1]
            x = self.drop(x * math.sqrt(self.cfg.d_model) + _positions(s, self.cfg.d_model).to(x))
            causal = torch.triu(torch.ones(s, s, dtype=torch.bool, device=x.device), 1)
            h = self.layers(x, mem, tgt_mask=causal, memory_key_padding_mask=mem_pad)
            return self.out(self.norm(h)), None
        h, state = self.rnn(self.drop(x), state)
        score = torch.bmm(h, mem.transpose(1, 2)) / math.sqrt(self.cfg.d_model)  # (B, S, T)
        att = score.masked_fill(mem_pad[:, None, :], -1e9).softmax(-1)
        ctx = torch.bmm(att, mem)
        return self.out(self.drop(torch.cat([h, ctx], -1))), state

    def loss(
        self,
        targets: torch.Tensor,
        target_lengths: torch.Tensor,
        memory: torch.Tensor,
        mem_pad: torch.Tensor,
    ) -> torch.Tensor:
        """Cross-entropy per token with teacher forcing; `targets` (B, S) without BOS/EOS, 0-padded."""
        b = targets.shape[0]
        bos = torch.full((b, 1), BOS, dtype=torch.long)
        inp = torch.cat([bos, targets], 1)
        gold = torch.cat([targets, torch.zeros(b, 1, dtype=torch.long)], 1)
        gold[torch.arange(b), target_lengths] = EOS
        logits, _ = self(inp, memory, mem_pad)
        return nn.functional.cross_entropy(
            logits.transpose(1, 2), gold, ignore_index=BLANK, label_smoothing=0.1
        )

    @torch.no_grad()
    def greedy(
        self, memory: torch.Tensor, mem_pad: torch.Tensor, max_len: int | None = None
    ) -> list[list[int]]:
        """Greedy decoding of each batch item; stops at EOS or `max_len` tokens (default: 1.3 x
        the longest memory plus 10, at most `DecoderConfig.max_len`)."""
        b = memory.shape[0]
        # outputs longer than 1.3 x the memory (25 encoder frames/s; ~15 characters/s of speech)
        # are runaway loops of an undertrained model
        limit = max_len or min(self.cfg.max_len, int(1.3 * int((~mem_pad).sum(1).max())) + 10)
        seqs = torch.full((b, 1), BOS, dtype=torch.long)
        done = torch.zeros(b, dtype=torch.bool)
        state = None
        for _ in range(limit):
            if self.cfg.kind == "mha":
                logits, _ = self(seqs, memory, mem_pad)
            else:
                logits, state = self(seqs[:, -1:], memory, mem_pad, state)
            nxt = logits[:, -1].argmax(-1)
            nxt = torch.where(done, torch.full_like(nxt, EOS), nxt)
            seqs = torch.cat([seqs, nxt[:, None]], 1)
            done |= nxt == EOS
            if bool(done.all()):
                break
        out = []
        for row in seqs[:, 1:].tolist():
            out.append(row[: row.index(EOS)] if EOS in row else row)
        return out


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
