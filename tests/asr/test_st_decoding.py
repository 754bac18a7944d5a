"""Attention decoders: teacher forcing vs incremental steps, beam search, EOS, repetition block."""

from __future__ import annotations

import pytest
import torch

from voxlate.tasks.st.decoder import AttentionDecoder, DecoderConfig, DecoderState
from voxlate.tasks.st.decoding import DecodingOptions, beam_search, max_lengths
from voxlate.text.tokenizers import BOS, EOS, Tokenizer

KINDS = ("mha", "gru")


def _decoder(kind: str, vocab: int, d: int = 32, max_len: int = 60) -> AttentionDecoder:
    cfg = DecoderConfig(kind=kind, d_model=d, n_layers=2, n_heads=4, dropout=0.0, max_len=max_len)
    return AttentionDecoder(cfg, vocab, memory_dim=8)


@pytest.mark.parametrize("kind", KINDS)
def test_incremental_steps_match_teacher_forcing(kind):
    torch.manual_seed(0)
    dec = _decoder(kind, 11).eval()
    memory, pad = torch.randn(3, 7, 8), torch.zeros(3, 7, dtype=torch.bool)
    pad[1, 5:] = True
    tokens = torch.cat([torch.full((3, 1), BOS), torch.randint(3, 11, (3, 5))], 1)
    full = dec(tokens, memory, pad).log_softmax(-1)
    state = dec.start(memory, pad)
    for t in range(tokens.shape[1]):
        logp, state = dec.step(tokens[:, t], state)
        assert torch.allclose(logp, full[:, t], atol=1e-5), t
    # reordering the beams' prefixes reorders the next step's output
    perm = torch.tensor([0, 0, 2])
    _, s2 = dec.step(tokens[:, 0], dec.start(memory, pad).select(perm))
    assert s2.length == 1


def _overfit(kind: str, texts: list[str]) -> tuple[AttentionDecoder, Tokenizer, torch.Tensor]:
    """A tiny decoder trained to map one random memory per text to that text."""
    from voxlate.tasks.ctc.dataset import pad_targets

    torch.manual_seed(0)
    tok = Tokenizer.build(texts)
    dec = _decoder(kind, tok.vocab_size)
    memory = torch.randn(len(texts), 30, 8)  # 30 frames: up to 40 output tokens
    pad = torch.zeros(len(texts), 30, dtype=torch.bool)
    tg, tl = pad_targets([tok.encode(t) for t in texts])
    opt = torch.optim.Adam(dec.parameters(), lr=3e-3)
    for _ in range(250):
        loss = dec.loss(tg, tl, memory, pad)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return dec.eval(), tok, memory


# Repeated words, no repeated word 3-gram; the two share their first word, so the decoder must
# read the memory, and each must stop at its own length.
TEXTS = ["the cat saw the dog", "the dog ran", "a cat and a dog and a bird"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("beam", [1, 4])
def test_tiny_model_overfits_and_decodes_exactly(kind, beam):
    dec, tok, memory = _overfit(kind, TEXTS)
    pad = torch.zeros(memory.shape[:2], dtype=torch.bool)
    out = beam_search(dec, memory, pad, DecodingOptions(beam_size=beam), tok.encode(" ")[0])
    assert [tok.decode(o) for o in out] == TEXTS


class _Scripted:
    """A stub decoder whose next-token distribution depends only on the step number."""

    def __init__(self, script: list[dict[int, float]], vocab: int = 8, max_len: int = 50) -> None:
        self.cfg = DecoderConfig(max_len=max_len)
        self.script, self.vocab, self.calls = script, vocab, 0

    def start(self, memory: torch.Tensor, mem_pad: torch.Tensor) -> DecoderState:
        n = memory.shape[0]
        return DecoderState(memory, (), ~mem_pad[:, None, None], (torch.zeros(1, n, 1),), 0)

    def step(self, tokens: torch.Tensor, state: DecoderState) -> tuple[torch.Tensor, DecoderState]:
        self.calls += 1
        probs = self.script[min(state.length, len(self.script) - 1)]
        logits = torch.full((tokens.shape[0], self.vocab), -20.0)
        for tok, p in probs.items():
            logits[:, tok] = torch.tensor(p).log()
        nxt = DecoderState(state.memory, (), state.mem_mask, state.cache, state.length + 1)
        return logits.log_softmax(-1), nxt


def test_decoding_stops_at_eos():
    # wants "3 4" then EOS, then (if it went on) would babble token 5 forever
    dec = _Scripted([{3: 0.9}, {4: 0.9}, {EOS: 0.9}, {5: 0.99}])
    memory, pad = torch.zeros(2, 40, 4), torch.zeros(2, 40, dtype=torch.bool)
    for beam in (1, 3):
        dec.calls = 0
        assert beam_search(dec, memory, pad, DecodingOptions(beam_size=beam)) == [[3, 4]] * 2
        assert dec.calls <= 6  # stopped soon after EOS, not at the length limit


def test_length_limit_follows_the_input_length():
    dec = _Scripted([{5: 0.99}])  # never ends by itself
    memory = torch.zeros(2, 30, 4)
    pad = torch.zeros(2, 30, dtype=torch.bool)
    pad[1, 10:] = True
    opts = DecodingOptions(beam_size=2, no_repeat_ngram=0, max_len_ratio=0.5, max_len_offset=2)
    assert max_lengths(pad, opts, 50) == [17, 7]
    out = beam_search(dec, memory, pad, opts)
    assert [len(o) for o in out] == [17, 7]


def test_repeated_word_ngrams_are_blocked():
    # a looping decoder: "3 3 4" (word "33", then a space) forever, EOS unlikely
    sep = 4
    dec = _Scripted([{3: 0.6, sep: 0.3, EOS: 0.01}, {3: 0.6, sep: 0.3}, {sep: 0.9, 3: 0.05}])
    dec.script = dec.script * 30
    memory, pad = torch.zeros(1, 40, 4), torch.zeros(1, 40, dtype=torch.bool)
    out = beam_search(dec, memory, pad, DecodingOptions(beam_size=2, no_repeat_ngram=2), sep)[0]
    words = [w for w in " ".join(map(str, out)).split(str(sep))]
    words = [tuple(w.split()) for w in words if w.strip()]
    bigrams = list(zip(words, words[1:], strict=False))
    assert len(bigrams) == len(set(bigrams))
    # and on tokens when there is no separator
    out = beam_search(dec, memory, pad, DecodingOptions(beam_size=1, no_repeat_ngram=3))[0]
    grams = [tuple(out[i : i + 3]) for i in range(len(out) - 2)]
    assert len(grams) == len(set(grams))


def test_ctc_prefix_scores_match_brute_force():
    import itertools

    from voxlate.tasks.st.ctc_prefix import CTCPrefixScorer

    torch.manual_seed(0)
    t_max, vocab = 4, 5  # ids 3 and 4 are real tokens
    logp = torch.randn(2, t_max, vocab).log_softmax(-1)
    lengths = torch.tensor([4, 3])

    def brute(i: int, prefix: tuple[int, ...], whole: bool) -> float:
        total = 0.0
        for path in itertools.product(range(vocab), repeat=int(lengths[i])):
            out = [c for j, c in enumerate(path) if c != 0 and (j == 0 or c != path[j - 1])]
            hit = tuple(out) == prefix if whole else tuple(out[: len(prefix)]) == prefix
            if hit:
                total += float(sum(logp[i, j, c] for j, c in enumerate(path)).exp())
        return total

    scorer = CTCPrefixScorer(logp, lengths)
    state, rows = scorer.initial(), torch.arange(2)
    tokens = [3, 3, 4]  # prefixes (3,), (3, 3), (3, 3, 4); a repeat needs a blank between
    for n in range(1, len(tokens) + 1):
        psi, r = scorer.extend(state)
        for i in range(2):
            want = brute(i, tuple(tokens[:n]), False)
            assert psi[i, tokens[n - 1]].exp() == pytest.approx(want, rel=1e-4, abs=1e-9)
            want = brute(i, tuple(tokens[: n - 1]), True)  # EOS: the prefix so far, whole
            assert psi[i, EOS].exp() == pytest.approx(want, rel=1e-4, abs=1e-9)
        state = scorer.select(psi, r, rows, torch.full((2,), tokens[n - 1]))


def test_joint_ctc_decoding_follows_a_confident_ctc_head():
    # the attention decoder knows nothing (uniform), the CTC head says "3 4"
    dec = _Scripted([{c: 0.2 for c in range(3, 8)} | {EOS: 0.2}])
    logp = torch.full((1, 6, 8), -9.0)
    for t, c in enumerate([3, 0, 4, 4, 0, 0]):
        logp[0, t, c] = 0.0
    logp = logp.log_softmax(-1)
    memory, pad = torch.zeros(1, 6, 4), torch.zeros(1, 6, dtype=torch.bool)
    opts = DecodingOptions(beam_size=3, ctc_weight=0.5)
    assert beam_search(dec, memory, pad, opts, ctc=(logp, torch.tensor([6]))) == [[3, 4]]
