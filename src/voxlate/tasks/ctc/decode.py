"""CTC decoding: greedy (best path) and prefix beam search without a language model.

Prefix beam search follows Hannun et al. (2014), "First-pass large vocabulary
continuous speech recognition using bi-directional recurrent DNNs", Algorithm 1,
in the log domain: each prefix keeps p_b (ending in blank) and p_nb (ending in a
symbol).
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import torch

from voxlate.text.tokenizers import BLANK

NEG_INF = -math.inf


def greedy_decode(logp: torch.Tensor, lengths: torch.Tensor) -> list[list[int]]:
    """Best path per item: argmax, merge repeats, drop blanks. logp (B, T, V)."""
    best = logp.argmax(-1).cpu().numpy()
    out = []
    for b, n in enumerate(lengths.tolist()):
        seq, prev = [], BLANK
        for t in best[b, :n]:
            if t != prev and t != BLANK:
                seq.append(int(t))
            prev = t
        out.append(seq)
    return out


def _logadd(a: float, b: float) -> float:
    if a == NEG_INF:
        return b
    if b == NEG_INF:
        return a
    m = max(a, b)
    return m + math.log1p(math.exp(-abs(a - b)))


def beam_decode_one(logp: np.ndarray, beam: int = 8, prune: float = -12.0) -> list[int]:
    """Prefix beam search over one (T, V) log-probability matrix; returns the best ids.

    prune: symbols with log-probability below this at a frame are not extended.
    """
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, NEG_INF)}
    for t in range(logp.shape[0]):
        row = logp[t]
        cand = np.nonzero(row > prune)[0]
        nxt: dict[tuple[int, ...], list[float]] = defaultdict(lambda: [NEG_INF, NEG_INF])
        for prefix, (pb, pnb) in beams.items():
            total = _logadd(pb, pnb)
            for s in cand:
                p = float(row[s])
                if s == BLANK:
                    e = nxt[prefix]
                    e[0] = _logadd(e[0], total + p)
                    continue
                last = prefix[-1] if prefix else None
                ext = prefix + (int(s),)
                e = nxt[ext]
                if s == last:
                    e[1] = _logadd(e[1], pb + p)  # repeat needs a blank in between
                    same = nxt[prefix]
                    same[1] = _logadd(same[1], pnb + p)  # collapse onto the same prefix
                else:
                    e[1] = _logadd(e[1], total + p)
        ranked = sorted(nxt.items(), key=lambda kv: _logadd(*kv[1]), reverse=True)[:beam]
        beams = {k: (v[0], v[1]) for k, v in ranked}
    return list(max(beams.items(), key=lambda kv: _logadd(*kv[1]))[0])


def beam_decode(logp: torch.Tensor, lengths: torch.Tensor, beam: int = 8) -> list[list[int]]:
    """Prefix beam search per batch item. logp (B, T, V) log-probabilities."""
    arr = logp.detach().cpu().numpy()
    return [beam_decode_one(arr[b, :n], beam) for b, n in enumerate(lengths.tolist())]
