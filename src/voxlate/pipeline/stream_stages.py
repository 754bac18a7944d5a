"""The blocking work of each stage, shared by the file and the live pipelines.

`pipeline/file.py` calls these functions in a loop over a recording's utterances;
`pipeline/stream.py` runs them in worker threads. Engines are shared between
sessions (the server loads them once per language pair), and engine calls are not
thread-safe in general, so each call holds that engine's lock from `EngineLocks`
(the one lock scheme). The functions here know nothing about asyncio.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, cast, get_args

from voxlate.audio import Audio, concatenate
from voxlate.dsp import rms_db
from voxlate.engines.asr.base import ShortContextRecognizer
from voxlate.engines.mt.base import Translation, translate_document
from voxlate.engines.voice.base import VoiceStage
from voxlate.errors import InputError
from voxlate.pipeline.engines import Engines
from voxlate.pipeline.stream_sched import DeadlineLock, hold
from voxlate.pipeline.voicing import synthesize_in_voice

#: When to run the enhancer on an utterance: always, never, or only when its level is
#: less than `ENHANCE_BELOW_SNR_DB` above the noise floor ('auto').
EnhanceMode = Literal["always", "auto", "never"]
ENHANCE_MODES: tuple[str, ...] = get_args(EnhanceMode)
ENHANCE_BELOW_SNR_DB = 15.0  # speech-to-noise ratio (dB) under which 'auto' enhances


def check_enhance_mode(mode: str) -> EnhanceMode:
    """`mode` as an `EnhanceMode`; raises InputError when it is not one."""
    if mode not in ENHANCE_MODES:
        raise InputError(f"Unknown enhance mode '{mode}'; use always, auto or never.")
    return cast(EnhanceMode, mode)


def needs_enhancement(
    clip: Audio,
    noise_db: float | None,
    mode: EnhanceMode,
    below_snr_db: float = ENHANCE_BELOW_SNR_DB,
) -> bool:
    """Whether to enhance `clip` (the one auto-enhance rule of both pipelines).

    noise_db: the input's noise floor (dB FS) measured on non-speech frames; None
        when none was measured yet (then 'auto' enhances, to be safe).
    """
    if mode != "auto":
        return mode == "always"
    if noise_db is None:
        return True
    return rms_db(clip.samples) - noise_db < below_snr_db


@dataclass
class EngineLocks:
    """One lock per shared engine; sessions sharing `Engines` must share these too.

    The recognizer's and the synthesizer's locks are `DeadlineLock`s: live sessions that
    share them are served earliest end of speech first (`recognize`'s and `speak`'s
    `deadline`; the synthesizer's chunk by chunk).
    """

    enhance: threading.Lock = field(default_factory=threading.Lock)
    asr: threading.Lock | DeadlineLock = field(default_factory=DeadlineLock)
    mt: threading.Lock = field(default_factory=threading.Lock)
    tts: threading.Lock | DeadlineLock = field(default_factory=DeadlineLock)
    voice: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class Recognized:
    """The result of enhancement and recognition of one utterance."""

    text: str
    clean: Audio  # the audio recognised (enhanced, or the input when enhancement was skipped)
    enhanced: bool  # whether the enhancer ran
    timings: dict[str, float]  # wall seconds: 'enhance', 'asr'


def recognize(
    engines: Engines,
    locks: EngineLocks,
    audio: Audio,
    enhance: bool,
    short: bool = False,
    deadline: float | None = None,
) -> Recognized:
    """Enhance (when asked) and recognise one utterance, holding each engine's lock.

    short: use the recognizer's fast path for short utterances where it has one
    (`ShortContextRecognizer`, e.g. Whisper with a window cut to the utterance).
    deadline: the utterance's end of speech (perf_counter s), its place in the queue for
    a recognizer shared by live sessions (`DeadlineLock`); None: now.
    """
    t0 = time.perf_counter()
    clean = audio
    if enhance:
        with locks.enhance:
            clean = engines.enhancer.enhance(audio)
    t1 = time.perf_counter()
    rec = engines.recognizer
    with hold(locks.asr, deadline):
        if short and isinstance(rec, ShortContextRecognizer):
            text = rec.transcribe_short(clean, engines.source).text.strip()
        else:
            text = rec.transcribe(clean, engines.source).text.strip()
    t2 = time.perf_counter()
    return Recognized(
        text, clean, enhance, {"enhance": t1 - t0 if enhance else 0.0, "asr": t2 - t1}
    )


def transcribe_partial(engines: Engines, locks: EngineLocks, audio: Audio) -> str:
    """Recognise the speech so far without enhancement (for partial transcripts)."""
    return recognize(engines, locks, audio, enhance=False, short=True).text


def translate(engines: Engines, locks: EngineLocks, text: str) -> tuple[str, float]:
    """Translate one utterance's text; returns (translation, wall seconds)."""
    t0 = time.perf_counter()
    if not text:
        return "", 0.0
    with locks.mt:
        out = engines.translator.translate(text, engines.source, engines.target).strip()
    return out, time.perf_counter() - t0


def translate_all(
    engines: Engines, locks: EngineLocks, texts: list[str]
) -> tuple[list[Translation], float]:
    """Translate several utterances' texts in one call where the translator can
    (`translate_document`: batches, or per-sentence engine names for a guarded LLM);
    returns (one `Translation` per text, '' for an empty text; wall seconds)."""
    t0 = time.perf_counter()
    with locks.mt:
        out = translate_document(
            engines.translator, texts, engines.source, engines.target, engines.names["mt"]
        )
    return out, time.perf_counter() - t0


_CLAUSE = re.compile(r"(?<=[,;:])\s+")


def clauses(text: str, min_words: int = 3, first_max_words: int = 5) -> list[str]:
    """Split `text` into pieces to synthesize one after another.

    Splits at , ; : where both sides keep at least `min_words` words; a first piece
    of more than `first_max_words` + 4 words is cut once more near `first_max_words`,
    before a short (function) word where there is one. Speaking a short first piece on
    its own lets its audio start before the rest is synthesized and re-voiced.
    """
    parts: list[str] = []
    for piece in _CLAUSE.split(text.strip()):
        if parts and (len(piece.split()) < min_words or len(parts[-1].split()) < min_words):
            parts[-1] = f"{parts[-1]} {piece}"
        else:
            parts.append(piece)
    parts = [p for p in parts if p.strip()]
    if parts and first_max_words > 0:
        words = parts[0].split()
        if len(words) > first_max_words + 4:
            near = range(max(min_words, first_max_words - 1), first_max_words + 3)
            cut = next(
                (i for i in near if len(words[i]) <= 3 and words[i].islower()), first_max_words
            )
            parts[0:1] = [" ".join(words[:cut]), " ".join(words[cut:])]
    return parts


def speak(
    engines: Engines,
    locks: EngineLocks,
    voice: VoiceStage | None,
    text: str,
    source: Audio,
    split_clauses: bool,
    timings: dict[str, float],
    whole: bool = False,
    speaker: str | None = None,
    deadline: float | None = None,
    voices: list[str] | None = None,
) -> Iterator[Audio]:
    """Synthesize `text` and convert it to the speaker's voice, yielding chunks as they are ready.

    `voice` is the voice stage, or None for the synthesizer's own voice. Wall
    seconds are added to ``timings['tts']`` and ``timings['voice']`` as the
    generator runs.
    whole: synthesize everything first and convert it as one clip (yields at most
        one chunk; the file pipeline, which needs no early audio).
    speaker: the source speaker's label when the voice stage was told the speakers up
        front (`SpeakerVoice.assign`, the file pipeline's diarization); None: the stage
        tracks speakers itself.
    deadline: when the first chunk is due (perf_counter s; live: the end of speech), the
        order in which sessions sharing the synthesizer's `DeadlineLock` get it; a later
        chunk is due when the speech before it has played. None: first come, first served.
    voices: where to append, per converted chunk, which voice spoke it (the stage's
        `last_voice`, e.g. ``style+converter``; ``adapter`` for stages without one).
    """
    args = (engines, locks, voice, text, source, split_clauses, timings, speaker, deadline)
    if whole:
        chunks = list(_synthesized(*args))
        if not chunks:
            return
        speech = concatenate(chunks, chunks[0].sample_rate)
        yield _voiced(locks, voice, speech, source, timings, speaker, voices)
        return
    for chunk in _synthesized(*args):
        yield _voiced(locks, voice, chunk, source, timings, speaker, voices)


def _voiced(
    locks: EngineLocks,
    voice: VoiceStage | None,
    speech: Audio,
    source: Audio,
    timings: dict[str, float],
    speaker: str | None = None,
    voices: list[str] | None = None,
) -> Audio:
    """`speech` converted by the voice stage (unchanged without one); seconds into timings,
    the voice that spoke it into `voices`."""
    if voice is None:
        return speech
    t0 = time.perf_counter()
    with locks.voice:
        if speaker is None:
            speech = voice.convert(speech, source)
        else:
            speech = voice.convert(speech, source, speaker=speaker)  # type: ignore[call-arg]
        if voices is not None:
            voices.append(str(getattr(voice, "last_voice", "adapter")))
    timings["voice"] = timings.get("voice", 0.0) + time.perf_counter() - t0
    return speech


def _synthesized(
    engines: Engines,
    locks: EngineLocks,
    voice: VoiceStage | None,
    text: str,
    source: Audio,
    split_clauses: bool,
    timings: dict[str, float],
    speaker: str | None = None,
    deadline: float | None = None,
) -> Iterator[Audio]:
    """`text` synthesized chunk by chunk, in the style `voice` picks for `source` where it
    picks one (`synthesize_in_voice`), not yet converted; empty chunks are skipped.
    Each chunk waits for the synthesizer's lock by its deadline (see `speak`)."""
    pieces = clauses(text) if split_clauses else [text]
    due = deadline
    started: float | None = None  # when the first chunk was ready (its audio starts then)
    spoken = 0.0  # seconds of speech yielded so far
    for piece in pieces:
        it = synthesize_in_voice(engines.synthesizer, voice, piece, engines.target, source, speaker)
        while True:
            t0 = time.perf_counter()
            with hold(locks.tts, due):
                chunk = next(it, None)
            t1 = time.perf_counter()
            timings["tts"] = timings.get("tts", 0.0) + t1 - t0
            if chunk is None:
                break
            if len(chunk.samples):
                if deadline is not None:
                    started = t1 if started is None else started
                    spoken += chunk.duration
                    due = started + spoken  # the next chunk plays after this one
                yield chunk
