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
from voxlate.pipeline.recognition_batch import RecognitionBatch
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
    late_tts: threading.Lock = field(default_factory=threading.Lock)  # `Engines.late`
    # live utterances waiting for the recognizer, recognized together (`RecognitionBatch`)
    asr_batch: RecognitionBatch = field(default_factory=RecognitionBatch)
    # the live streams using these engines now (ids): early speech runs only for a lone one
    streams: set[int] = field(default_factory=set)


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
    (`ShortContextRecognizer`, e.g. Whisper with a window cut to the utterance); such
    recognitions asked while the recognizer is busy run together (`RecognitionBatch`).
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
    if short and isinstance(rec, ShortContextRecognizer):
        batch = locks.asr_batch
        text = batch.transcribe_short(rec, locks.asr, clean, engines.source, deadline).text.strip()
    else:
        with hold(locks.asr, deadline):
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
FIRST_WORDS = 3  # a live first chunk: ~1 s of speech, so its synthesis is short
GROWTH = 2.0  # each later chunk may hold this many times the words of the one before
# Live, with several streams on the engines: a piece that cannot have the synthesizer
# within this many seconds of its due time (the first: the end of speech; later ones: when
# the speech before them has played), or a later piece already this far past its due time
# (the synthesizer slower than real time for the streams now), is spoken by `Engines.late`
# instead, as is the rest of its utterance. A lone stream never falls back: what it waits
# for is its own earlier speech, which the listener has to hear first anyway. 4 WebSocket
# clients (5 clips, idle 2-core machine): median / p95 first audio 2.02 / 4.61 s with 1.0,
# 1.67 / 4.36 s with 0.5 (session 9, before the later-piece rule and batched recognition).
LATE_S = 0.5
LATE_VOICE = "late:espeak-ng"  # the `voices` label of a chunk the fallback voice spoke


def clauses(
    text: str, min_words: int = 3, first_words: int = FIRST_WORDS, growth: float = GROWTH
) -> list[str]:
    """Split `text` into pieces to synthesize one after another, small ones first.

    Splits at , ; : where both sides keep at least `min_words` words. Then the pieces
    grow: the first holds about `first_words` words (~1 s of speech), and each next one at
    most about `growth` times the words of the one before, so it is synthesized while
    the one before plays. A piece over its limit (plus two words of slack) is cut near
    the limit, before a short (function) word where there is one, leaving at least
    `min_words` words after the cut. first_words=0: no cutting, clauses only.
    """
    parts: list[str] = []
    for piece in _CLAUSE.split(text.strip()):
        if parts and (len(piece.split()) < min_words or len(parts[-1].split()) < min_words):
            parts[-1] = f"{parts[-1]} {piece}"
        else:
            parts.append(piece)
    parts = [p for p in parts if p.strip()]
    if first_words <= 0:
        return parts
    out: list[str] = []
    limit = float(first_words)
    for part in parts:
        words = part.split()
        while len(words) > limit + 2 and len(words) - min_words >= 2:
            n = int(limit)
            near = [i for i in (n, n + 1, n - 1, n + 2) if 2 <= i <= len(words) - min_words]
            cut = next((i for i in near if len(words[i]) <= 3 and words[i].islower()), near[0])
            out.append(" ".join(words[:cut]))
            words = words[cut:]
            limit = growth * cut
        out.append(" ".join(words))
        limit = max(limit, growth * len(words))
    return out


@dataclass(frozen=True)
class Ready:
    """A first piece of a translation already synthesized and re-voiced (live: while the
    speaker was still talking), to be sent first when the final translation starts with
    the same words."""

    text: str
    audio: Audio
    voices: tuple[str, ...] = ()  # which voice spoke it (`speak`'s labels)
    voiced: bool = True  # in the speaker's voice (False: the stock one during warm-up)


def _word(w: str) -> str:
    return re.sub(r"\W", "", w.lower())


def after_prefix(text: str, prefix: str) -> str | None:
    """The rest of `text` after its first words when they are `prefix`'s words (case and
    punctuation aside), else None."""
    words, head = text.split(), prefix.split()
    if not head or len(words) < len(head):
        return None
    if [_word(w) for w in words[: len(head)]] != [_word(w) for w in head]:
        return None
    return " ".join(words[len(head) :])


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
    ready: Ready | None = None,
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
    voices: where to append, per chunk, which voice spoke it (the stage's `last_voice`,
        e.g. ``style+converter``; ``adapter`` for stages without one; `LATE_VOICE` for a
        chunk `Engines.late` spoke because the synthesizer was not free in time).

    Live (a `deadline`, `Engines.late` set, several streams in `locks.streams`): a piece
    that cannot have the shared synthesizer within `LATE_S` of its due time, or a later one
    already `LATE_S` past it, is spoken by `Engines.late` (eSpeak NG),
    and so is the rest of the utterance: with more sessions than the cores can voice in
    Kokoro, the listener hears the fallback voice on time rather than Kokoro seconds late.

    ready: a first piece made ahead (`Ready`); when `text` starts with its words it is
        yielded first as it is, and the rest follows in pieces that go on growing from it.
    """
    first_words = FIRST_WORDS
    if ready is not None and not whole and (rest := after_prefix(text, ready.text)) is not None:
        if voices is not None:
            voices.extend(ready.voices)
        t = time.perf_counter()
        yield ready.audio
        if not rest:
            return
        text, first_words = rest, int(GROWTH * len(ready.text.split()))
        if deadline is not None:
            deadline = t + ready.audio.duration  # the rest is due when the piece has played
    args = (engines, locks, voice, text, source, split_clauses, timings, speaker, deadline)
    if whole:
        chunks = [chunk for chunk, _ in _synthesized(*args)]
        if not chunks:
            return
        speech = concatenate(chunks, chunks[0].sample_rate)
        yield _voiced(locks, voice, speech, source, timings, speaker, voices)
        return
    for chunk, late in _synthesized(*args, first_words=first_words):
        if late:  # the fallback voice, on time instead of late: not re-voiced
            if voices is not None:
                voices.append(LATE_VOICE)
            yield chunk
        else:
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
    first_words: int = FIRST_WORDS,
) -> Iterator[tuple[Audio, bool]]:
    """`text` synthesized chunk by chunk, in the style `voice` picks for `source` where it
    picks one (`synthesize_in_voice`), not yet converted; empty chunks are skipped. Yields
    (chunk, late): late chunks are `Engines.late`'s (see `speak`).
    Each chunk waits for the synthesizer's lock by its deadline (see `speak`)."""
    pieces = clauses(text, first_words=first_words) if split_clauses else [text]
    due = deadline
    started: float | None = None  # when the first chunk was ready (its audio starts then)
    spoken = 0.0  # seconds of speech yielded so far
    shared = len(locks.streams) > 1  # other live streams use the synthesizer too
    fallback = getattr(engines, "late", None) if deadline is not None and shared else None
    late = False
    for piece in pieces:
        if fallback is not None and spoken > 0 and due is not None:
            # Behind its own playback (the speech before it has played out and more): the
            # synthesizer is too slow for the streams now, and waiting for it would delay
            # this stream's later utterances too; the rest is spoken by the fallback voice.
            late = late or time.perf_counter() > due + LATE_S
        it = (
            fallback.synthesize(piece, engines.target)
            if late and fallback is not None
            else synthesize_in_voice(
                engines.synthesizer, voice, piece, engines.target, source, speaker
            )
        )
        first = True
        while True:
            t0 = time.perf_counter()
            if late:
                with locks.late_tts:
                    chunk = next(it, None)
            else:
                give_up = due + LATE_S if first and fallback and due is not None else None
                chunk, got = _next_in_time(it, locks.tts, due, give_up)
                if not got and fallback is not None:
                    late = True
                    it = fallback.synthesize(piece, engines.target)
                    with locks.late_tts:
                        chunk = next(it, None)
            first = False
            t1 = time.perf_counter()
            timings["tts"] = timings.get("tts", 0.0) + t1 - t0
            if chunk is None:
                break
            if len(chunk.samples):
                if deadline is not None:
                    started = t1 if started is None else started
                    spoken += chunk.duration
                    due = started + spoken  # the next chunk plays after this one
                yield chunk, late


def _next_in_time(
    chunks: Iterator[Audio],
    lock: threading.Lock | DeadlineLock,
    due: float | None,
    give_up: float | None,
) -> tuple[Audio | None, bool]:
    """The next of `chunks`, made holding `lock` (queued by `due`); (None, False) when the
    lock was not had by `give_up` (perf_counter s; None: wait as long as it takes)."""
    if give_up is None or not isinstance(lock, DeadlineLock):
        with hold(lock, due):
            return next(chunks, None), True
    if not lock.acquire(deadline=due, timeout=max(0.0, give_up - time.perf_counter())):
        return None, False
    try:
        return next(chunks, None), True
    finally:
        lock.release()
