"""VoicePrivacy-style evaluation of anonymization: attacker EER and ASR word error rate.

Following the VoicePrivacy Challenge protocol (Tomashenko et al., 2020; 2024 edition), an
attacker runs automatic speaker verification with cosine scoring of speaker embeddings:
enrollment = a speaker's *original* utterances (the "ignorant" attacker, who has not
anonymized them) or their *anonymized* ones ("lazy-informed" attacker), trials = anonymized
utterances. Privacy is the attacker's equal error rate (EER: the operating point where the
false-acceptance and false-rejection rates are equal; 50% = chance). Utility is the word
error rate of an English recognizer on anonymized speech against the reference text.

Anonymization here re-voices each source utterance itself through the pipeline's voice
stage, ``stage.convert(utterance, utterance)``, one stage per source speaker, so each
speaker gets one consistent pseudo-voice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from voxlate.audio import Audio


def equal_error_rate(target: np.ndarray, nontarget: np.ndarray) -> float:
    """EER (a fraction) of verification scores; higher score = more likely the same speaker.

    Sweeps the threshold over all scores and returns the mean of FAR and FRR where they
    cross (linear interpolation between the two nearest thresholds).
    """
    t = np.asarray(target, dtype=np.float64)
    n = np.asarray(nontarget, dtype=np.float64)
    if len(t) == 0 or len(n) == 0:
        raise ValueError("EER needs at least one target and one non-target score")
    thr = np.unique(np.concatenate([t, n, [-np.inf, np.inf]]))
    frr = np.array([(t < x).mean() for x in thr])  # rejected targets
    far = np.array([(n >= x).mean() for x in thr])  # accepted impostors
    i = int(np.argmin(np.abs(far - frr)))
    j = i + 1 if i + 1 < len(thr) and far[i] > frr[i] else max(i - 1, 0)
    d0, d1 = far[i] - frr[i], far[j] - frr[j]
    if d0 == d1:
        return float((far[i] + frr[i]) / 2)
    w = d0 / (d0 - d1)
    return float(((1 - w) * far[i] + w * far[j] + (1 - w) * frr[i] + w * frr[j]) / 2)


def verification_scores(
    enroll: np.ndarray,
    enroll_spk: Sequence[str],
    trials: np.ndarray,
    trial_spk: Sequence[str],
    exclude_same_index: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """(target, non-target) cosine scores of every trial against every speaker's model.

    A speaker's model is the normalised mean of their enrollment embeddings; with
    `exclude_same_index` (enrollment and trials are the same utterances) a trial is left
    out of its own speaker's model.
    """
    tgt, non = [], []
    spk = np.asarray(enroll_spk)
    for i, (e, s) in enumerate(zip(trials, trial_spk, strict=True)):
        for name in sorted(set(enroll_spk)):
            mask = spk == name
            if exclude_same_index:
                mask = mask & (np.arange(len(spk)) != i)
            if not mask.any():
                continue
            m = enroll[mask].mean(axis=0)
            score = float(e @ m / max(float(np.linalg.norm(m)), 1e-9))
            (tgt if name == s else non).append(score)
    return np.array(tgt), np.array(non)


@dataclass(frozen=True)
class Utterance:
    audio: Audio
    speaker: str
    text: str = ""  # English reference for WER ('' = not scored)


@dataclass(frozen=True)
class PrivacyRow:
    """One anonymization system's numbers."""

    system: str
    eer_ignorant: float  # enrollment original, trials anonymized
    eer_lazy_informed: float  # enrollment and trials anonymized (leave-one-out)
    wer: float | None  # on the English utterances; None without any
    mean_cos_to_source: float  # cosine of each anonymized utterance to its original


def evaluate_system(
    name: str,
    utterances: Sequence[Utterance],
    anonymized: Sequence[Audio],
    embed: Callable[[Audio], np.ndarray],
    transcribe: Callable[[Audio], str] | None,
    original_embeddings: np.ndarray,
) -> PrivacyRow:
    from voxlate.eval.metrics import wer
    from voxlate.text.normalize import normalize_text

    spk = [u.speaker for u in utterances]
    anon = np.stack([embed(a) for a in anonymized])
    t, n = verification_scores(original_embeddings, spk, anon, spk)
    t2, n2 = verification_scores(anon, spk, anon, spk, exclude_same_index=True)
    refs = [u.text for u in utterances if u.text]
    w = None
    if transcribe is not None and refs:
        hyps = [transcribe(a) for a, u in zip(anonymized, utterances, strict=True) if u.text]
        w = wer([normalize_text(r) for r in refs], [normalize_text(h) for h in hyps])
    cos = float(np.mean(np.sum(anon * original_embeddings, axis=1)))
    return PrivacyRow(name, equal_error_rate(t, n), equal_error_rate(t2, n2), w, cos)
