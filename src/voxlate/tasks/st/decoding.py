"""Beam search for the attention decoders: length-normalised, with a repeated-n-gram block, an
output length limit tied to the input length and optional joint CTC/attention scoring.

The search holds no weights; it drives any decoder with the `start` / `step` interface of
`AttentionDecoder` (`DecoderState.select` reorders the beams' prefixes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch

from voxlate.tasks.st.ctc_prefix import NEG_INF, CTCPrefixScorer
from voxlate.tasks.st.decoder import DecoderConfig, DecoderState
from voxlate.text.tokenizers import BLANK, BOS, EOS


@dataclass(frozen=True)
class DecodingOptions:
    """Per-call options of `beam_search`; lp is the GNMT length penalty `length_penalty`."""

    beam_size: int = 4  # hypotheses kept per input; 1 = greedy
    length_penalty: float = 1.0  # alpha of lp(Y) = ((5 + |Y|) / 6) ** alpha; 0: no normalisation
    no_repeat_ngram: int = 3  # no word n-gram of this size occurs twice in an output; 0: off
    max_len_ratio: float = 1.0  # at most ratio x input length (memory frames) + offset tokens
    max_len_offset: int = 10
    max_len: int | None = None  # hard cap on tokens; None: the decoder's `DecoderConfig.max_len`
    ctc_weight: float = 0.0  # lambda of joint CTC/attention scoring, when a CTC head is given


class StepDecoder(Protocol):
    """What `beam_search` needs of a decoder."""

    cfg: DecoderConfig

    def start(self, memory: torch.Tensor, mem_pad: torch.Tensor) -> DecoderState: ...

    def step(
        self, tokens: torch.Tensor, state: DecoderState
    ) -> tuple[torch.Tensor, DecoderState]: ...


def length_penalty(length: int, alpha: float) -> float:
    """GNMT length penalty lp(Y) = ((5 + |Y|) / 6) ** alpha (Wu et al., 2016, eq. 14)."""
    return ((5 + length) / 6) ** alpha


class _RepeatBlock:
    """Tracks the words of one hypothesis and says when ending the current word would repeat a
    word n-gram (fairseq's `no_repeat_ngram_size`, on words rather than tokens)."""

    def __init__(self, n: int, sep: int | None) -> None:
        self.n, self.sep = n, sep
        self.words: list[tuple[int, ...]] = []
        self.current: list[int] = []
        self.seen: set[tuple[tuple[int, ...], ...]] = set()

    def copy(self) -> _RepeatBlock:
        c = _RepeatBlock(self.n, self.sep)
        c.words, c.current, c.seen = list(self.words), list(self.current), set(self.seen)
        return c

    def _gram(self, word: tuple[int, ...]) -> tuple[tuple[int, ...], ...] | None:
        if len(self.words) < self.n - 1:
            return None
        return (*self.words[len(self.words) - self.n + 1 :], word)

    def boundary_banned(self) -> bool:
        """Whether a word boundary (separator or end) now would repeat an n-gram."""
        if self.n <= 0 or not self.current:
            return False
        return self._gram(tuple(self.current)) in self.seen

    def push(self, token: int) -> None:
        """Append `token`; with no separator, every token is a word."""
        if self.sep is not None and token != self.sep:
            self.current.append(token)
            return
        word = tuple(self.current) if self.sep is not None else (token,)
        self.current = []
        if word:
            gram = self._gram(word)
            if gram is not None:
                self.seen.add(gram)
            self.words.append(word)

    def token_banned(self) -> list[int]:
        """Without a separator: the tokens that would complete a seen n-gram."""
        if self.n <= 0 or self.sep is not None or len(self.words) < self.n - 1:
            return []
        head = tuple(self.words[len(self.words) - self.n + 1 :]) if self.n > 1 else ()
        return [g[-1][0] for g in self.seen if g[:-1] == head]


def max_lengths(mem_pad: torch.Tensor, options: DecodingOptions, cap: int) -> list[int]:
    """Most output tokens per input: ratio x valid memory frames + offset, at most `cap`."""
    frames = (~mem_pad).sum(1).tolist()
    limit = min(cap, options.max_len or cap)
    return [min(limit, int(options.max_len_ratio * f) + options.max_len_offset) for f in frames]


def _constrain(
    inc: torch.Tensor, blocks: list[_RepeatBlock], word_sep: int | None, end: list[bool], k: int
) -> None:
    """In place: no BLANK/BOS, no repeated n-grams, and only EOS for inputs at their limit."""
    inc[:, BLANK] = inc[:, BOS] = NEG_INF
    for r, blk in enumerate(blocks):
        if blk.boundary_banned():
            inc[r, EOS] = NEG_INF
            if word_sep is not None:
                inc[r, word_sep] = NEG_INF
        for tok in blk.token_banned():
            inc[r, tok] = NEG_INF
    for i, force in enumerate(end):
        if force:
            rows = inc[i * k : (i + 1) * k]
            eos = rows[:, EOS].clone()
            rows.fill_(NEG_INF)
            rows[:, EOS] = torch.where(torch.isinf(eos), torch.zeros_like(eos), eos)


@torch.no_grad()
def beam_search(
    decoder: StepDecoder,
    memory: torch.Tensor,
    mem_pad: torch.Tensor,
    options: DecodingOptions | None = None,
    word_sep: int | None = None,
    ctc: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> list[list[int]]:
    """Best token sequence (without BOS/EOS) for each of the B inputs.

    memory (B, T, D) and mem_pad (B, T) (True at padding) as for `AttentionDecoder`;
    `word_sep` is the id of the space, which makes the repetition block act on words (without
    it, on tokens). `ctc`: log-probabilities (B, T', V) and lengths (B,) of a CTC head over the
    decoder's vocabulary; with `options.ctc_weight` = lambda > 0 a hypothesis scores
    (1 - lambda) log p_att + lambda log p_ctc (joint decoding, Watanabe et al., 2017, eq. 44).

    Each step expands the K live beams of an input to their 2K best continuations; those ending
    in EOS among the K best are finished (score / lp(length)), the best K others go on. An
    input is done when no live beam can beat its best finished hypothesis any more, or at its
    length limit, where EOS is forced (dropping a last word that would repeat an n-gram). The
    answer is the finished hypothesis with the best normalised score.
    """
    opts = options or DecodingOptions()
    b, k = memory.shape[0], max(1, opts.beam_size)
    limits = max_lengths(mem_pad, opts, decoder.cfg.max_len)
    state = decoder.start(memory.repeat_interleave(k, 0), mem_pad.repeat_interleave(k, 0))
    lam = opts.ctc_weight if ctc is not None else 0.0
    scorer = (
        CTCPrefixScorer(ctc[0].repeat_interleave(k, 0), ctc[1].repeat_interleave(k, 0))
        if ctc is not None and lam > 0
        else None
    )
    cstate = scorer.initial() if scorer is not None else None
    scores = torch.full((b, k), NEG_INF)
    scores[:, 0] = 0.0
    seqs: list[list[int]] = [[] for _ in range(b * k)]
    blocks = [_RepeatBlock(opts.no_repeat_ngram, word_sep) for _ in range(b * k)]
    finished: list[list[tuple[float, list[int]]]] = [[] for _ in range(b)]
    done = [False] * b
    last = torch.full((b * k,), BOS, dtype=torch.long)
    t = 0
    while not all(done):
        inc, state = decoder.step(last, state)
        if scorer is not None and cstate is not None:
            psi, r = scorer.extend(cstate)
            inc = (1 - lam) * inc + lam * (psi - cstate.psi[:, None])
        _constrain(inc, blocks, word_sep, [t >= n for n in limits], k)
        cand = (scores.reshape(-1, 1) + inc).reshape(b, -1)  # (B, K * V)
        top_v, top_i = cand.topk(min(2 * k, cand.shape[1]), -1)
        vocab = inc.shape[1]
        parents, tokens = list(range(b * k)), [EOS] * (b * k)
        new_scores = torch.full((b, k), NEG_INF)
        for i in range(b):
            if done[i]:
                continue
            n_live = 0
            for rank, (v, j) in enumerate(zip(top_v[i].tolist(), top_i[i].tolist(), strict=True)):
                if v == NEG_INF or n_live == k:
                    break
                beam, tok = divmod(j, vocab)
                row = i * k + beam
                if tok == EOS:  # an end counts only among the K best continuations (as fairseq)
                    if rank < k:
                        seq = seqs[row]
                        if t >= limits[i] and blocks[row].boundary_banned():
                            seq = seq[: len(seq) - len(blocks[row].current)]  # drop the repeat
                        lp = length_penalty(len(seq) + 1, opts.length_penalty)
                        finished[i].append((v / lp, seq))
                    continue
                parents[i * k + n_live], tokens[i * k + n_live] = row, tok
                new_scores[i, n_live] = v
                n_live += 1
            # done when no live beam can still beat the best finished one: scores only fall, so
            # a live beam ends at best with its score now / lp(its longest length)
            best = max((f[0] for f in finished[i]), default=NEG_INF)
            bound = float(new_scores[i].max()) / length_penalty(limits[i] + 1, opts.length_penalty)
            if best >= bound or n_live == 0 or t >= limits[i]:
                done[i] = True
                new_scores[i] = NEG_INF
        index, last = torch.tensor(parents), torch.tensor(tokens)
        seqs = [seqs[p] + [tok] for p, tok in zip(parents, tokens, strict=True)]
        blocks = [blocks[p].copy() for p in parents]
        for blk, tok in zip(blocks, tokens, strict=True):
            blk.push(tok)
        state = state.select(index)
        if scorer is not None:
            cstate = scorer.select(psi, r, index, last)
        scores = new_scores
        t += 1
    return [max(f, key=lambda x: x[0])[1] if f else [] for f in finished]
