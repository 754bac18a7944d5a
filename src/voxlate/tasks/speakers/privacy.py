"""VoicePrivacy-style evaluation of anonymization: attacker EER and ASR word error rate.

Following the VoicePrivacy Challenge protocol (Tomashenko et al., 2020; 2024 edition), an
attacker runs automatic speaker verification with cosine scoring of speaker embeddings:
enrollment = a speaker's *original* utterances (the "ignorant" attacker, who has not
anonymized them) or their *anonymized* ones ("lazy-informed" attacker), trials = anonymized
utterances. Privacy is the attacker's equal error rate (EER: the operating point where the
false-acceptance and false-rejection rates are equal; 50% = chance). Utility is the word
error rate of an English recognizer on anonymized speech against the reference text.

Two families of systems are evaluated (voxlate.tasks.speakers.privacy_run), each with one
voice stage per source speaker, so each speaker gets one consistent pseudo-voice:

- *source re-voicing* (``derived``, ``speakerdiff``): the voice stage converts the source
  utterance itself, ``stage.convert(utterance, utterance)`` (WORLD voice conversion of the
  original speech; a harder setting, since prosody and residual timbre of the source remain);
- *the product path* (``tts``, ``derived-tts``, ``speakerdiff-tts``): what ``voxlate translate
  --voice anonymize`` outputs. The words are recognized (English) or translated (Czech), Piper
  speaks them, and the voice stage re-voices that speech, ``stage.convert(tts, utterance)``;
  the source audio only informs the choice of pseudo-voice (VoicePrivacy's ASR+TTS family).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from voxlate.audio import Audio

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def spell_number(n: int) -> str:
    """English words of 0 <= n < 10**6 ("forty two"); other numbers as digits."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = "" if n % 100 == 0 else " " + spell_number(n % 100)
        return f"{_ONES[n // 100]} hundred{rest}"
    if n < 10**6:
        rest = "" if n % 1000 == 0 else " " + spell_number(n % 1000)
        return f"{spell_number(n // 1000)} thousand{rest}"
    return str(n)


def scoring_text(text: str) -> str:
    """Text as WER compares it: numerals spelled out ("10 of clubs" = "ten of clubs"),
    then `normalize_text` (lower case, no punctuation)."""
    from voxlate.text.normalize import normalize_text

    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)  # 1,000 -> 1000
    return normalize_text(re.sub(r"\d+", lambda m: spell_number(int(m.group())), text))


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
    tgt: list[float] = []
    non: list[float] = []
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
    translation: str = ""  # English translation of a non-English line ('' = none)


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
    from voxlate.metrics import wer

    spk = [u.speaker for u in utterances]
    anon = np.stack([embed(a) for a in anonymized])
    t, n = verification_scores(original_embeddings, spk, anon, spk)
    t2, n2 = verification_scores(anon, spk, anon, spk, exclude_same_index=True)
    refs = [u.text for u in utterances if u.text]
    w = None
    if transcribe is not None and refs:
        hyps = [transcribe(a) for a, u in zip(anonymized, utterances, strict=True) if u.text]
        w = wer([scoring_text(r) for r in refs], [scoring_text(h) for h in hyps])
    cos = float(np.mean(np.sum(anon * original_embeddings, axis=1)))
    return PrivacyRow(name, equal_error_rate(t, n), equal_error_rate(t2, n2), w, cos)
