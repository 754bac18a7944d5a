"""Recognition and translation metrics: WER, CER (jiwer), BLEU and chrF (sacrebleu).

All functions take parallel lists of reference and hypothesis strings and return
corpus-level figures: WER and CER as fractions (0.12 = 12 %), BLEU on sacrebleu's
0-100 scale. Score normalised text (`voxlate.text.normalize_text`) for ASR.
"""

from __future__ import annotations

from collections.abc import Sequence


def _check(refs: Sequence[str], hyps: Sequence[str]) -> tuple[list[str], list[str]]:
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references but {len(hyps)} hypotheses")
    pairs = [(r, h) for r, h in zip(refs, hyps, strict=True) if r.strip()]
    if not pairs:
        raise ValueError("no non-empty reference")
    return [r for r, _ in pairs], [h for _, h in pairs]


def wer(refs: Sequence[str], hyps: Sequence[str]) -> float:
    """Word error rate over the corpus, a fraction (may exceed 1); empty references skipped."""
    import jiwer

    r, h = _check(refs, hyps)
    return float(jiwer.wer(r, h))


def cer(refs: Sequence[str], hyps: Sequence[str]) -> float:
    """Character error rate over the corpus (spaces count), a fraction; empty references skipped."""
    import jiwer

    r, h = _check(refs, hyps)
    return float(jiwer.cer(r, h))


def bleu(refs: Sequence[str], hyps: Sequence[str]) -> float:
    """Corpus BLEU (sacrebleu defaults: 13a tokenisation, case sensitive), 0-100."""
    import sacrebleu

    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references but {len(hyps)} hypotheses")
    return float(sacrebleu.corpus_bleu(list(hyps), [list(refs)]).score)


def chrf(refs: Sequence[str], hyps: Sequence[str]) -> float:
    """Corpus chrF (Popović, 2015; sacrebleu defaults: character 6-grams, beta 2), 0-100."""
    import sacrebleu

    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references but {len(hyps)} hypotheses")
    return float(sacrebleu.corpus_chrf(list(hyps), [list(refs)]).score)
