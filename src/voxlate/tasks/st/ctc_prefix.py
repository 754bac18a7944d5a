"""CTC prefix scores for joint CTC/attention beam search.

Algorithm 2 of Watanabe et al. (2017), "Hybrid CTC/attention architecture for end-to-end
speech recognition": for a prefix g and every token c at once, the log-probability psi(g c)
that the CTC output starts with g c, from the forward variables r^n_t(g) (paths ending in a
non-blank) and r^b_t(g) (ending in blank); psi(g <eos>) is the probability of g as the whole
output. All in log space, batched over hypotheses, each with its own number of frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from voxlate.text.tokenizers import BLANK, BOS, EOS

NEG_INF = float("-inf")


@dataclass(frozen=True)
class CTCPrefixState:
    """Forward variables of each hypothesis' prefix g: r (N, T, 2) = (r^n_t(g), r^b_t(g)), frozen
    after the last valid frame; psi (N,) = log p(prefix g); last (N,) its last token (BOS: empty)."""

    r: torch.Tensor
    psi: torch.Tensor
    last: torch.Tensor


class CTCPrefixScorer:
    """Scores prefix extensions under CTC log-probabilities `logp` (N, T, V) with `lengths` (N,)."""

    def __init__(self, logp: torch.Tensor, lengths: torch.Tensor) -> None:
        n, t, _ = logp.shape
        self.valid = torch.arange(t)[None, :] < lengths[:, None]  # (N, T)
        self.logp = logp
        self.last_frame = (lengths - 1).clamp(min=0)

    def initial(self) -> CTCPrefixState:
        """State of the empty prefix: r^n = -inf, r^b_t = log prod_{tau <= t} p_tau(blank)."""
        blank = self.logp[:, :, BLANK].masked_fill(~self.valid, 0.0)
        rb = blank.cumsum(1)
        rn = torch.full_like(rb, NEG_INF)
        n = rb.shape[0]
        return CTCPrefixState(torch.stack([rn, rb], -1), rb.new_zeros(n), torch.full((n,), BOS))

    def extend(self, state: CTCPrefixState) -> tuple[torch.Tensor, torch.Tensor]:
        """psi (N, V): log p(prefix g c) for every token c (EOS: log p(g) as the whole output;
        BLANK and BOS: -inf), and the forward variables r (N, T, V, 2) of every g c."""
        logp, valid = self.logp, self.valid
        n, t_max, v = logp.shape
        rows = torch.arange(n)
        rn_g, rb_g = state.r[..., 0], state.r[..., 1]
        phi = torch.logaddexp(rn_g, rb_g)[:, :, None].expand(n, t_max, v).clone()
        real = state.last != BOS
        # repeating the last token needs a blank in between
        phi[rows[real], :, state.last[real]] = rb_g[real]
        empty = (~real)[:, None]
        rn = torch.full((n, t_max, v), NEG_INF)
        rb = torch.full((n, t_max, v), NEG_INF)
        rn[:, 0] = torch.where(empty, logp[:, 0], torch.full_like(logp[:, 0], NEG_INF))
        psi = rn[:, 0].clone()
        for t in range(1, t_max):
            ok = valid[:, t, None]
            rn_t = torch.logaddexp(rn[:, t - 1], phi[:, t - 1]) + logp[:, t]
            rb_t = torch.logaddexp(rb[:, t - 1], rn[:, t - 1]) + logp[:, t, BLANK, None]
            rn[:, t] = torch.where(ok, rn_t, rn[:, t - 1])
            rb[:, t] = torch.where(ok, rb_t, rb[:, t - 1])
            psi = torch.where(ok, torch.logaddexp(psi, phi[:, t - 1] + logp[:, t]), psi)
        psi[:, EOS] = torch.logaddexp(rn_g[rows, self.last_frame], rb_g[rows, self.last_frame])
        psi[:, BLANK] = psi[:, BOS] = NEG_INF
        return psi, torch.stack([rn, rb], -1)

    @staticmethod
    def select(
        psi: torch.Tensor, r: torch.Tensor, parents: torch.Tensor, tokens: torch.Tensor
    ) -> CTCPrefixState:
        """State of the prefixes (parent's prefix + token) chosen by the beam search."""
        return CTCPrefixState(r[parents, :, tokens], psi[parents, tokens], tokens)
