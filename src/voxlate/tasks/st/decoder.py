"""Autoregressive attention decoders over encoder memory, with incremental (cached) steps.

Two kinds (`DecoderConfig.kind`):

- ``mha``: a pre-norm Transformer decoder (Vaswani et al., 2017, "Attention is all you
  need"): causal multi-head self-attention, multi-head cross-attention to the memory,
  feed-forward; sinusoidal positions.
- ``gru``: a GRU with single-head Luong attention over the memory (Luong et al., 2015,
  "Effective approaches to attention-based neural machine translation").

`AttentionDecoder.forward` scores a whole teacher-forced sequence (training);
`start` / `step` / `DecoderState.select` decode one token at a time, keeping the
self-attention keys and values (mha) or the hidden state (gru) and the projected memory, so
each step costs O(1) in the prefix length instead of re-running the prefix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from voxlate.text.tokenizers import BLANK, BOS, EOS


@dataclass(frozen=True)
class DecoderConfig:
    kind: str = "mha"  # "mha" (Transformer decoder) or "gru" (GRU + Luong attention)
    d_model: int = 192  # embedding and state width
    n_layers: int = 2  # Transformer layers or GRU layers
    n_heads: int = 4  # attention heads ("mha" only)
    dropout: float = 0.15
    max_len: int = 400  # longest output, tokens
    label_smoothing: float = 0.1  # of the training cross-entropy (Szegedy et al., 2016)


def positions(n: int, d: int, start: int = 0) -> torch.Tensor:
    """Sinusoidal position encodings (n, d) of positions start .. start + n - 1."""
    pos = torch.arange(start, start + n)[:, None]
    div = torch.exp(torch.arange(0, d, 2) * (-math.log(10_000.0) / d))
    pe = torch.zeros(n, d)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)
    return pe


class MultiHeadAttention(nn.Module):
    """Scaled dot-product attention with `n_heads` heads; keys/values can be projected once."""

    def __init__(self, d: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        if d % n_heads:
            raise ValueError(f"d_model {d} is not a multiple of n_heads {n_heads}")
        self.h, self.dropout = n_heads, dropout
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))

    def heads(self, x: torch.Tensor) -> torch.Tensor:
        """(B, S, d) -> (B, h, S, d / h)."""
        b, s, d = x.shape
        return x.view(b, s, self.h, d // self.h).transpose(1, 2)

    def keys_values(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Projected keys and values (B, h, S, d / h) of `x` (B, S, d)."""
        return self.heads(self.k(x)), self.heads(self.v(x))

    def attend(
        self,
        query: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Output (B, S, d) for `query` (B, S, d); `mask` broadcasts to (B, h, S, T), True = attend."""
        q = self.heads(self.q(query))
        p = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        b, _, s, _ = y.shape
        return self.o(y.transpose(1, 2).reshape(b, s, -1))


class DecoderLayer(nn.Module):
    """Pre-norm Transformer decoder layer: x + SelfAttn(LN x), + CrossAttn(LN x, memory), + FFN."""

    def __init__(self, d: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        self.self_attn = MultiHeadAttention(d, n_heads, dropout)
        self.cross_attn = MultiHeadAttention(d, n_heads, dropout)
        self.ff = nn.Sequential(
            nn.Linear(d, 4 * d), nn.GELU(), nn.Dropout(dropout), nn.Linear(4 * d, d)
        )
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.drop = nn.Dropout(dropout)

    def forward(
        self,
        x: torch.Tensor,
        self_kv: tuple[torch.Tensor, torch.Tensor],
        self_mask: torch.Tensor | None,
        mem_kv: tuple[torch.Tensor, torch.Tensor],
        mem_mask: torch.Tensor,
    ) -> torch.Tensor:
        """`x` (B, S, d) -> (B, S, d); `self_kv` are the keys/values of the (normed) prefix."""
        x = x + self.drop(self.self_attn.attend(self.norm1(x), *self_kv, self_mask))
        x = x + self.drop(self.cross_attn.attend(self.norm2(x), *mem_kv, mem_mask))
        return x + self.drop(self.ff(self.norm3(x)))


@dataclass(frozen=True)
class DecoderState:
    """What incremental decoding carries between steps; tensors have the hypotheses (N) first,
    except the GRU hidden state (n_layers, N, d).

    memory: projected encoder memory (N, T, d) (gru; empty for mha); mem_kv: per layer, the
    cross-attention keys and values of the memory (mha); mem_mask: (N, 1, 1, T) True at valid
    frames; cache: the self-attention keys and values of the prefix, two per layer (mha), or
    the GRU hidden state; length: tokens fed so far.
    """

    memory: torch.Tensor
    mem_kv: tuple[tuple[torch.Tensor, torch.Tensor], ...]
    mem_mask: torch.Tensor
    cache: tuple[torch.Tensor, ...]
    length: int

    def select(self, index: torch.Tensor) -> DecoderState:
        """The state with the prefix of hypothesis `index[i]` in row i, e.g. the parents of the
        surviving beams. Each `index[i]` must be a row decoding the same memory as row i (the
        memory is not reordered)."""
        dim = 0 if self.mem_kv else 1
        cache = tuple(c.index_select(dim, index) for c in self.cache)
        return DecoderState(self.memory, self.mem_kv, self.mem_mask, cache, self.length)


class AttentionDecoder(nn.Module):
    """Autoregressive decoder over encoder memory (B, T, memory_dim)."""

    def __init__(self, cfg: DecoderConfig, vocab: int, memory_dim: int) -> None:
        super().__init__()
        if cfg.kind not in ("mha", "gru"):
            raise ValueError(f"decoder kind must be 'mha' or 'gru', not {cfg.kind!r}")
        self.cfg, self.vocab = cfg, vocab
        d = cfg.d_model
        self.embed = nn.Embedding(vocab, d)
        # unit-variance inputs after the sqrt(d) scale, so the positions are not drowned out
        nn.init.normal_(self.embed.weight, std=d**-0.5)
        self.mem_proj = nn.Linear(memory_dim, d)
        self.drop = nn.Dropout(cfg.dropout)
        if cfg.kind == "mha":
            self.layers = nn.ModuleList(
                DecoderLayer(d, cfg.n_heads, cfg.dropout) for _ in range(cfg.n_layers)
            )
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

    def _inputs(self, tokens: torch.Tensor, start: int) -> torch.Tensor:
        x = self.embed(tokens)
        if self.cfg.kind == "gru":
            return self.drop(x)
        d = self.cfg.d_model
        return self.drop(x * math.sqrt(d) + positions(tokens.shape[1], d, start).to(x))

    def _gru_out(self, h: torch.Tensor, mem: torch.Tensor, mem_mask: torch.Tensor) -> torch.Tensor:
        score = torch.bmm(h, mem.transpose(1, 2)) / math.sqrt(self.cfg.d_model)  # (B, S, T)
        att = score.masked_fill(~mem_mask[:, 0], -1e9).softmax(-1)
        return self.out(self.drop(torch.cat([h, torch.bmm(att, mem)], -1)))

    def forward(
        self, tokens: torch.Tensor, memory: torch.Tensor, mem_pad: torch.Tensor
    ) -> torch.Tensor:
        """Logits (B, S, vocab) for input `tokens` (B, S) starting with BOS (teacher forcing);
        `memory` (B, T, memory_dim), `mem_pad` (B, T) True at padding."""
        mem = self.mem_proj(memory)
        mem_mask = ~mem_pad[:, None, None, :]
        x = self._inputs(tokens, 0)
        if self.cfg.kind == "gru":
            h, _ = self.rnn(x)
            return self._gru_out(h, mem, mem_mask)
        s = tokens.shape[1]
        causal = torch.ones(s, s, dtype=torch.bool, device=x.device).tril()
        for layer in self.layers:
            kv = layer.self_attn.keys_values(layer.norm1(x))
            x = layer(x, kv, causal, layer.cross_attn.keys_values(mem), mem_mask)
        return self.out(self.norm(x))

    def loss(
        self,
        targets: torch.Tensor,
        target_lengths: torch.Tensor,
        memory: torch.Tensor,
        mem_pad: torch.Tensor,
    ) -> torch.Tensor:
        """Cross-entropy per token with teacher forcing; `targets` (B, S) without BOS/EOS, 0-padded.

        Input  BOS y1 .. yn  (padding after), gold  y1 .. yn EOS  (padding ignored)."""
        b = targets.shape[0]
        bos = torch.full((b, 1), BOS, dtype=torch.long, device=targets.device)
        inp = torch.cat([bos, targets], 1)
        gold = torch.cat([targets, torch.zeros_like(bos)], 1)
        gold[torch.arange(b), target_lengths] = EOS
        logits = self(inp, memory, mem_pad)
        return F.cross_entropy(
            logits.transpose(1, 2),
            gold,
            ignore_index=BLANK,
            label_smoothing=self.cfg.label_smoothing,
        )

    def start(self, memory: torch.Tensor, mem_pad: torch.Tensor) -> DecoderState:
        """Initial state for decoding `memory` (N, T, memory_dim) with padding mask (N, T)."""
        mem = self.mem_proj(memory)
        mask = ~mem_pad[:, None, None, :]
        n, d = mem.shape[0], self.cfg.d_model
        if self.cfg.kind == "gru":
            h0 = mem.new_zeros(self.cfg.n_layers, n, d)
            return DecoderState(mem, (), mask, (h0,), 0)
        empty = mem.new_zeros(n, self.cfg.n_heads, 0, d // self.cfg.n_heads)
        kv = tuple(layer.cross_attn.keys_values(mem) for layer in self.layers)
        cache = tuple(empty for _ in range(2 * len(self.layers)))
        return DecoderState(mem[:, :0], kv, mask, cache, 0)  # mha needs only mem_kv

    def step(self, tokens: torch.Tensor, state: DecoderState) -> tuple[torch.Tensor, DecoderState]:
        """Log-probabilities (N, vocab) of the next token after `tokens` (N,), the last token of
        each hypothesis, and the state that follows."""
        x = self._inputs(tokens[:, None], state.length)
        if self.cfg.kind == "gru":
            h, hn = self.rnn(x, state.cache[0])
            logits = self._gru_out(h, state.memory, state.mem_mask)[:, 0]
            cache: tuple[torch.Tensor, ...] = (hn,)
        else:
            new = []
            for i, layer in enumerate(self.layers):
                k, v = layer.self_attn.keys_values(layer.norm1(x))
                k = torch.cat([state.cache[2 * i], k], 2)
                v = torch.cat([state.cache[2 * i + 1], v], 2)
                new += [k, v]
                x = layer(x, (k, v), None, state.mem_kv[i], state.mem_mask)
            logits = self.out(self.norm(x))[:, 0]
            cache = tuple(new)
        nxt = DecoderState(state.memory, state.mem_kv, state.mem_mask, cache, state.length + 1)
        return logits.log_softmax(-1), nxt
