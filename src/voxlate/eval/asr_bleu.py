"""ASR-BLEU: how well translated *speech* carries the translation, judged by a recognizer.

The output speech of the file pipeline is transcribed by Whisper base in the target
language (the judge) and scored with BLEU and chrF against human reference
translations; the pipeline's own text translation is scored the same way ("text
BLEU"), so the gap between the two is what synthesis loses. The judge is also a
recognizer the pipeline may use (``faster-whisper:base`` is the embedded ASR for
Spanish and other languages): a synthesizer tuned to please it could score better
than it sounds to people.

References: Fish Fillets NG dialog lines (Debian ``fillets-ng-data``): the game's English
text and its human Spanish translation. No recording exists in English or Spanish, so
the *input* speech is synthesised (English: Piper joe; Spanish: Kokoro ``jf_alpha``, a
voice no output default uses). Lines are picked every k-th from the game's order, with
two disjoint halves: ``dev`` (choices such as the default voice are made on it) and
``test`` (reported, no choice made on it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from voxlate.audio import SAMPLE_RATE, Audio, concatenate, load_audio, save_audio
from voxlate.data.fillets import FilletsLine, read_fillets_lines
from voxlate.engines import asr, tts
from voxlate.engines.asr.base import Recognizer
from voxlate.engines.tts.base import Synthesizer
from voxlate.parts import cache_dir
from voxlate.text.normalize import normalize_text

JUDGE = "faster-whisper:base"  # the recognizer that listens to the output speech
INPUT_VOICES = {"en": "piper", "es": "kokoro:jf_alpha"}  # who speaks the synthesized input
PAD_S = 0.5  # silence around each synthesized input line (s), so the VAD finds it
MIN_WORDS, MAX_WORDS = 4, 16  # English length of the lines used


@dataclass(frozen=True)
class RefLine:
    """One benchmark line: text in the source language and its reference translation."""

    id: str
    source: str
    reference: str


def reference_lines(source: str, target: str, n: int, split: str = "test") -> list[RefLine]:
    """`n` Fish Fillets lines for `source`->`target` (one of them English), from `split`.

    Lines of `MIN_WORDS`-`MAX_WORDS` English words are taken every k-th in the game's
    order; ``dev`` starts at the first, ``test`` half a step later, so they never overlap.
    """
    other = target if source == "en" else source
    if "en" not in (source, target) or other == "en":
        raise ValueError("the reference set pairs English with another language")
    lines = [
        x
        for x in read_fillets_lines(other)
        if MIN_WORDS <= len(x.english.split()) <= MAX_WORDS and x.english != x.translation
    ]
    step = max(2, len(lines) // n)
    offset = 0 if split == "dev" else step // 2
    picked = lines[offset::step][:n]

    def pair(x: FilletsLine) -> RefLine:
        return (
            RefLine(x.id, x.english, x.translation)
            if source == "en"
            else RefLine(x.id, x.translation, x.english)
        )

    return [pair(x) for x in picked]


def synthesize_line(synthesizer: Synthesizer, text: str, language: str) -> Audio:
    """`text` spoken by `synthesizer`, padded with `PAD_S` of silence at both ends."""
    chunks = list(synthesizer.synthesize(text, language))
    rate = chunks[0].sample_rate if chunks else SAMPLE_RATE
    pad = Audio(np.zeros(int(PAD_S * rate), np.float32), rate)
    return concatenate([pad, *chunks, pad], rate)


@dataclass(frozen=True)
class AsrBleuScore:
    """Scores of one system on one reference set (BLEU and chrF are 0-100)."""

    n: int  # lines
    text_bleu: float  # the pipeline's text translation vs the references
    asr_bleu: float  # the judge's transcript of the output speech vs the references
    asr_chrf: float
    hyps: tuple[str, ...]  # the judge's transcripts
    texts: tuple[str, ...]  # the pipeline's translations


def score(refs: Sequence[str], texts: Sequence[str], heard: Sequence[str]) -> AsrBleuScore:
    """BLEU/chrF on normalised text (lower case, no punctuation), as ASR-BLEU is usually
    reported, so that the judge's punctuation and casing do not count."""
    import sacrebleu

    r = [normalize_text(x) for x in refs]
    t = [normalize_text(x) for x in texts]
    h = [normalize_text(x) for x in heard]
    return AsrBleuScore(
        n=len(refs),
        text_bleu=float(sacrebleu.corpus_bleu(t, [r]).score),
        asr_bleu=float(sacrebleu.corpus_bleu(h, [r]).score),
        asr_chrf=float(sacrebleu.corpus_chrf(h, [r]).score),
        hyps=tuple(heard),
        texts=tuple(texts),
    )


def load_judge() -> Recognizer:
    return asr.REGISTRY.create(JUDGE)


def judge_speech(judge: Recognizer, speech: Audio | None, language: str) -> str:
    """What the judge hears in `speech` ("" for none)."""
    if speech is None or len(speech.samples) == 0:
        return ""
    return judge.transcribe(speech, language).text


def oracle_asr_bleu(
    synthesizer: Synthesizer,
    lines: Sequence[RefLine],
    target: str,
    judge: Recognizer,
    progress: Callable[[], None] | None = None,
) -> tuple[AsrBleuScore, float]:
    """ASR-BLEU of `synthesizer` reading the reference translations themselves (no ASR or
    MT errors: synthesis alone), and its real-time factor (synthesis s / speech s)."""
    heard, syn_s, speech_s = [], 0.0, 0.0
    for x in lines:
        t0 = time.perf_counter()
        chunks = list(synthesizer.synthesize(x.reference, target))
        syn_s += time.perf_counter() - t0
        speech = concatenate(chunks, chunks[0].sample_rate) if chunks else None
        speech_s += speech.duration if speech is not None else 0.0
        heard.append(judge_speech(judge, speech, target))
        if progress is not None:
            progress()
    refs = [x.reference for x in lines]
    return score(refs, refs, heard), syn_s / max(speech_s, 1e-9)


def input_speech(lines: Sequence[RefLine], source: str) -> list[Audio]:
    """The source side of `lines`, spoken by `INPUT_VOICES[source]`.

    Both input voices sample noise, so the same text never gives the same audio twice;
    each line is synthesised once and kept in ``<cache>/asr-bleu/<source>-<voice>/<id>.wav``, so
    every system compared is given exactly the same input.
    """
    folder = cache_dir() / "asr-bleu" / f"{source}-{INPUT_VOICES[source].replace(':', '-')}"
    folder.mkdir(parents=True, exist_ok=True)
    voice = None
    out = []
    for x in lines:
        path = folder / f"{x.id}.wav"
        if not path.is_file():
            voice = voice or tts.REGISTRY.create(INPUT_VOICES[source])
            save_audio(path, synthesize_line(voice, x.source, source))
        out.append(load_audio(path))
    return out
