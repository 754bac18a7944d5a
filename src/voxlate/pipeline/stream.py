"""The live pipeline: audio frames in, typed events and translated audio frames out.

One asyncio task per stage, joined by queues::

    push() -> [segment: VAD + Endpointer] -> [recognize: enhance + ASR] -> [translate: MT]
           -> [speak: TTS + voice, chunk by chunk] -> events()

Blocking inference runs in worker threads (`asyncio.to_thread`), so utterance k+1
is recognised while utterance k is synthesised, and every stage handles
utterances in order, so output stays in order. Two things cut the latency from the
end of speech to the first translated audio:

- speculation: at the first silent frame after speech, recognition and translation
  of the speech so far start at once, and, if the pause is still going on when they
  are done, synthesis and voice conversion of the first chunk too; when the
  end-of-speech silence then closes the utterance at that same point, their result
  is used, so the silence wait overlaps the work (if speech resumes, it is discarded);
- early speech: while the speaker is still talking (after `early_after_s` of speech,
  whenever the recognizer and synthesizer are idle), the speech so far is recognised and
  translated, and the translation's first piece (~3 words) is synthesized and re-voiced
  ahead (`stream_stages.Ready`); when the final translation starts with the same words,
  that audio goes out at once and only the rest is synthesized;
- the synthesizer's first chunk (~3 words, `stream_stages.clauses`) is converted and sent
  before the rest is synthesized.

Enhancement runs only where it is needed (``enhance='auto'``): when the stream's
noise floor, measured on non-speech frames, is close to the speech level.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import soxr

from voxlate.audio import SAMPLE_RATE, Audio
from voxlate.engines.vad import VAD
from voxlate.pipeline import stream_stages as st
from voxlate.pipeline.engines import Engines
from voxlate.pipeline.segmenter import SegmenterConfig
from voxlate.pipeline.stream_cutter import Cutter, Job, Speculation
from voxlate.pipeline.stream_events import (
    AudioOut,
    ErrorEvent,
    Event,
    Latency,
    Transcript,
    Translation,
)
from voxlate.pipeline.stream_sched import DeadlineLock
from voxlate.pipeline.stream_stages import EngineLocks

# Live endpointing: a shorter end-of-speech silence and shorter utterances than for files.
LIVE_SEGMENTER = SegmenterConfig(
    end_silence_s=0.3, min_speech_s=0.25, max_utterance_s=8.0, pad_s=0.1
)


@dataclass(frozen=True)
class StreamConfig:
    segmenter: SegmenterConfig = LIVE_SEGMENTER  # endpointing (silence, min/max length, padding)
    speculate: bool = True  # start recognising at the first silent frame after speech
    speculate_speech: bool = True  # speculation also synthesizes and re-voices the first chunk
    short_asr: bool = True  # recognizer's fast path for short utterances (Whisper: short window)
    enhance: st.EnhanceMode = "auto"  # always | auto (only when the SNR is low) | never
    enhance_below_snr_db: float = st.ENHANCE_BELOW_SNR_DB  # 'auto' enhances below this SNR (dB)
    partial_every_s: float = 0.0  # partial transcripts while speaking every so many s (0: none)
    split_clauses: bool = True  # synthesize the first clause on its own for earlier audio
    voice_warmup: bool = True  # speak in the stock voice until the speaker's voice is fitted
    early_speech: bool = True  # synthesize the first piece while the speaker is still talking
    early_after_s: float = 2.0  # speech (s) heard before the first early try
    early_every_s: float = 1.0  # speech (s) between early tries, until one is made
    max_buffer_s: float = 30.0  # most unprocessed input held before frames are refused (s)


_END = None  # queue sentinel
# An early piece is made only from a partial translation of at least this many words, so
# that its first words are well before the end of the audio heard so far (the last words
# of a partial transcript are the ones that change).
EARLY_MIN_WORDS = 7


class StreamTranslator:
    """One live stream (one speaker): push audio, read events.

    `engines` may be shared with other streams if they also share `locks`; `vad`
    and `voice` hold per-stream state, so each stream needs its own (the defaults
    take those of `engines`, which is right for a single stream).

    >>> s = StreamTranslator(Engines.load(EngineSpecs(), "en", "es"))
    >>> async for event in s.run(frames):  # frames: an async iterable of Audio
    ...     print(event)
    """

    def __init__(
        self,
        engines: Engines,
        config: StreamConfig | None = None,
        locks: EngineLocks | None = None,
        vad: VAD | None = None,
        voice: Any = "default",
    ) -> None:
        self.engines = engines
        self.config = config or StreamConfig()
        st.check_enhance_mode(self.config.enhance)
        self.locks = locks or EngineLocks()
        self.vad = vad or engines.vad
        self.voice = engines.voice if voice == "default" else voice
        self._in: asyncio.Queue = asyncio.Queue()
        self._events: asyncio.Queue = asyncio.Queue()
        self._tasks: list[asyncio.Task] = []
        self._side: set[asyncio.Task] = set()  # speculations and partial transcripts
        self._early: dict[int, asyncio.Task] = {}  # utterance -> its early piece (`Ready`)
        self._buffered = 0  # samples pushed but not yet segmented
        self._resampler: Any = None
        self._rate = SAMPLE_RATE
        self._cut: Cutter | None = None  # the segment stage's state (read by speculations)
        # The speaker's voice is ready to use (fitted, or no warm-up wanted); `_speak` sets it.
        self._voice_ready = self.voice is None or not self.config.voice_warmup
        self.received_s = 0.0  # input seconds accepted so far

    # ---- public API -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the stage tasks (inside a running event loop); `run` and `push` call it."""
        if self._tasks:
            return
        if self.voice is not None and hasattr(self.voice, "reset"):
            self.voice.reset()
        self.vad.reset()
        self.locks.streams.add(id(self))
        q_rec: asyncio.Queue = asyncio.Queue()
        q_mt: asyncio.Queue = asyncio.Queue()
        q_tts: asyncio.Queue = asyncio.Queue()
        self._tasks = [
            asyncio.create_task(self._guard(self._segment(q_rec))),
            asyncio.create_task(self._guard(self._recognize(q_rec, q_mt))),
            asyncio.create_task(self._guard(self._translate(q_mt, q_tts))),
            asyncio.create_task(self._guard(self._speak(q_tts))),
        ]

    async def push(self, audio: Audio) -> None:
        """Feed a chunk of mono audio at any (fixed) sample rate; returns at once.

        Raises OverflowError when more than `max_buffer_s` of input waits unprocessed.
        """
        self.start()
        if self._buffered > self.config.max_buffer_s * SAMPLE_RATE:
            raise OverflowError("the live pipeline is too far behind the input")
        x = audio.samples
        if audio.sample_rate != SAMPLE_RATE:
            if self._resampler is None or self._rate != audio.sample_rate:
                self._rate = audio.sample_rate
                self._resampler = soxr.ResampleStream(
                    audio.sample_rate, SAMPLE_RATE, 1, dtype="float32"
                )
            x = self._resampler.resample_chunk(x)
        self._buffered += len(x)
        self.received_s += len(x) / SAMPLE_RATE
        await self._in.put((np.asarray(x, dtype=np.float32), time.perf_counter()))

    async def close(self) -> None:
        """End the input: the open utterance is closed and finished, then events() ends."""
        self.start()
        await self._in.put(_END)

    async def events(self) -> AsyncIterator[Event]:
        """Events in order until the stream is closed and all its utterances are done."""
        while True:
            ev = await self._events.get()
            if ev is _END:
                return
            yield ev

    async def run(self, frames: AsyncIterable[Audio]) -> AsyncIterator[Event]:
        """Feed `frames` and yield the events; the stream is closed after the last frame."""
        self.start()

        async def feed() -> None:
            async for f in frames:
                await self.push(f)
            await self.close()

        feeder = asyncio.create_task(feed())
        try:
            async for ev in self.events():
                yield ev
            await feeder
        finally:
            if not feeder.done():
                feeder.cancel()
            await self.aclose()

    async def aclose(self) -> None:
        """Cancel every task of this stream (idempotent)."""
        self.locks.streams.discard(id(self))
        tasks = [*self._tasks, *self._side]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks)  # raises only if the caller itself is cancelled
        for t in tasks:  # retrieve every outcome, so asyncio logs no "never retrieved"
            if not t.cancelled():
                t.exception()
        self._side.clear()

    # ---- stages -----------------------------------------------------------------------------

    async def _guard(self, coro: Any) -> None:
        """Run a stage; a crash ends the stream with an error event instead of hanging it."""
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a bug in a stage: report it and end the stream
            await self._events.put(ErrorEvent(f"internal error: {type(e).__name__}: {e}"))
            await self._events.put(_END)
            raise

    async def _segment(self, out: asyncio.Queue) -> None:
        """VAD every frame, endpoint with `Endpointer`, cut utterances, launch speculation."""
        cut = self._cut = Cutter(self.config.segmenter, self.vad.frame_size, self.vad.sample_rate)
        fsz = self.vad.frame_size
        pending = np.zeros(0, dtype=np.float32)
        spec: tuple[int, asyncio.Task] | None = None  # (end frame, task) of the speculation
        next_partial = 0
        next_early = 0
        while True:
            item = await self._in.get()
            end = item is _END
            x, wall = (np.zeros(0, dtype=np.float32), time.perf_counter()) if end else item
            self._buffered -= len(x)
            cut.append(x)
            pending = np.concatenate([pending, x])
            n = len(pending) // fsz
            frames = [pending[k * fsz : (k + 1) * fsz] for k in range(n)]
            pending = pending[n * fsz :]
            probs = await asyncio.to_thread(list, map(self.vad.speech_probability, frames))
            for frame, p in zip(frames, probs, strict=True):
                for ev in cut.push(frame, float(p), wall):
                    if isinstance(ev, Job):
                        if spec is not None and spec[0] == ev.end_frame and not ev.cut:
                            ev.speculation = spec[1]
                        spec = None
                        ev.enhance = self._enhance_for(ev.audio, cut.noise_db)
                        await out.put(ev)
                    else:
                        await self._events.put(ev)
                # Speculate once per pause, on its first frame with room in the recognizer's
                # next batch (under load, work that may be thrown away would only delay the
                # utterances already waiting).
                pause_end = cut.last_speech + 1  # the Job's end_frame if the pause ends it
                if (
                    self.config.speculate
                    and cut.pausing
                    and (spec is None or (spec[0] != pause_end and spec[1].done()))
                    and self._recognizer_has_room()
                ):
                    clip = cut.open_audio()
                    task = self._side_task(
                        self._speculate(
                            clip,
                            self._enhance_for(clip, cut.noise_db),
                            pause_end + 1,
                            cut.last_speech_wall,
                            cut.index,
                        )
                    )
                    spec = (pause_end, task)
                if self._early_due(cut, next_early):
                    clip = cut.open_audio()
                    if clip.duration >= self.config.early_after_s:
                        step = self.config.early_every_s * self.vad.sample_rate / fsz
                        next_early = cut.frame_i + int(step)
                        self._early[cut.index] = self._side_task(self._early_piece(clip))
                every = self.config.partial_every_s
                if (
                    every > 0
                    and cut.speaking
                    and cut.frame_i >= next_partial
                    and not self.locks.asr.locked()
                ):
                    next_partial = cut.frame_i + int(every * self.vad.sample_rate / fsz)
                    self._side_task(self._partial(cut.index, cut.open_audio()))
            if end:
                for ev in cut.flush():
                    if isinstance(ev, Job):
                        ev.enhance = self._enhance_for(ev.audio, cut.noise_db)
                        await out.put(ev)
                    else:
                        await self._events.put(ev)
                await out.put(_END)
                return

    def _recognizer_has_room(self) -> bool:
        """Whether a recognition asked now runs at once or joins the recognizer's next call:
        it is idle, or (with the short path, `RecognitionBatch`) fewer utterances wait for it
        than one call takes. With 4 WebSocket clients whose speakers stop together, each
        speculation then starts at the first silent frame instead of at the end of speech."""
        asr = self.locks.asr
        if not asr.locked():
            return True
        if not self.config.short_asr or not isinstance(asr, DeadlineLock):
            return False
        return asr.waiting() < self.locks.asr_batch.max_batch - 1

    def _early_due(self, cut: Cutter, next_early: int) -> bool:
        """Whether to try an early piece of the open utterance now: early speech is on,
        the speaker is talking, none is made or being made yet, the time has come, this is
        the only stream on these engines, and the recognizer and synthesizer are idle (with
        other streams, or under load, this work would delay theirs: measured with 4
        WebSocket clients, their recognitions waited 2.8 s on average)."""
        if not self.config.early_speech or not cut.speaking or cut.frame_i < next_early:
            return False
        if len(self.locks.streams) > 1:
            return False
        task = self._early.get(cut.index)
        if task is not None and not (task.done() and self._ready(cut.index) is None):
            return False
        return not self.locks.asr.locked() and not self.locks.tts.locked()

    async def _early_piece(self, clip: Audio) -> st.Ready | None:
        """The first piece of the translation of `clip` (the speech so far), synthesized and
        re-voiced; None when the partial translation is too short to trust its start."""
        rec = await asyncio.to_thread(
            st.recognize, self.engines, self.locks, clip, False, self.config.short_asr
        )
        text, _ = await asyncio.to_thread(st.translate, self.engines, self.locks, rec.text)
        pieces = st.clauses(text)
        if len(text.split()) < EARLY_MIN_WORDS or len(pieces) < 2:
            return None
        voiced = self._voice_ready
        voices: list[str] = []
        gen = st.speak(
            self.engines,
            self.locks,
            self.voice if voiced else None,
            pieces[0],
            rec.clean,
            False,
            {},
            voices=voices,
        )
        audio = await asyncio.to_thread(next, gen, None)
        if audio is None:
            return None
        return st.Ready(pieces[0], audio, tuple(voices), voiced)

    def _ready(self, index: int) -> st.Ready | None:
        """Utterance `index`'s early piece, when one was made (and is done)."""
        task = self._early.get(index)
        if task is None or not task.done() or task.cancelled() or task.exception() is not None:
            return None
        return task.result()

    def _enhance_for(self, clip: Audio, noise_db: float | None) -> bool:
        c = self.config
        return st.needs_enhancement(clip, noise_db, c.enhance, c.enhance_below_snr_db)

    def _side_task(self, coro: Any) -> asyncio.Task:
        task = asyncio.create_task(coro)
        self._side.add(task)
        task.add_done_callback(self._side.discard)
        return task

    async def _speculate(
        self, clip: Audio, enhance: bool, pause_frame: int, eos_wall: float, index: int
    ) -> Speculation:
        """Recognise and translate `clip` (speech up to the pause at `pause_frame`), then,
        if no speech has come since, synthesize and re-voice the first chunk too (due,
        for the shared synthesizer's schedule, at `eos_wall`: the last speech frame's)."""
        rec = await asyncio.to_thread(
            st.recognize, self.engines, self.locks, clip, enhance, self.config.short_asr, eos_wall
        )
        tr, mt_s = await asyncio.to_thread(st.translate, self.engines, self.locks, rec.text)
        spec = Speculation(rec, tr, {"mt": mt_s})
        paused = self._cut is not None and self._cut.last_speech < pause_frame - 1
        # A guess is synthesized only while the synthesizer is idle: under load (other
        # sessions' chunks waiting) work that may be thrown away would delay theirs.
        idle = not self.locks.tts.locked()
        if self.config.speculate_speech and tr and paused and idle:
            spec.voiced = self._voice_ready
            spec.speech = st.speak(
                self.engines,
                self.locks,
                self.voice if spec.voiced else None,
                tr,
                rec.clean,
                self.config.split_clauses,
                spec.timings,
                deadline=eos_wall,
                voices=spec.voices,
                ready=self._ready(index),
            )
            spec.first_chunk = await asyncio.to_thread(next, spec.speech, None)
        return spec

    async def _partial(self, index: int, clip: Audio) -> None:
        text = await asyncio.to_thread(st.transcribe_partial, self.engines, self.locks, clip)
        if text:
            await self._events.put(Transcript(index, text, self.engines.source, final=False))

    async def _recognize(self, inp: asyncio.Queue, out: asyncio.Queue) -> None:
        while (job := await inp.get()) is not _END:
            try:
                if job.speculation is not None:
                    spec = await job.speculation
                    job.recognized, job.translation = spec.recognized, spec.translation
                    spec.timings.update(job.timings)
                    job.timings = spec.timings  # the paused synthesis adds to this dict
                    job.speculated = spec
                else:
                    job.recognized = await asyncio.to_thread(
                        st.recognize,
                        self.engines,
                        self.locks,
                        job.audio,
                        job.enhance,
                        self.config.short_asr,
                        job.eos_wall,
                    )
            except Exception as e:  # an engine failed on this utterance: report, go on
                await self._events.put(ErrorEvent(f"recognition failed: {e}", job.index))
                continue
            job.timings.update(job.recognized.timings)
            await self._events.put(Transcript(job.index, job.recognized.text, self.engines.source))
            await out.put(job)
        await out.put(_END)

    async def _translate(self, inp: asyncio.Queue, out: asyncio.Queue) -> None:
        while (job := await inp.get()) is not _END:
            if job.translation is None:
                try:
                    job.translation, job.timings["mt"] = await asyncio.to_thread(
                        st.translate, self.engines, self.locks, job.recognized.text
                    )
                except Exception as e:
                    await self._events.put(ErrorEvent(f"translation failed: {e}", job.index))
                    continue
            await self._events.put(Translation(job.index, job.translation, self.engines.target))
            await out.put(job)
        await out.put(_END)

    async def _speak(self, inp: asyncio.Queue) -> None:
        """Synthesize and re-voice each translation, sending every chunk as soon as it exists.

        With `voice_warmup`, a voice stage that has not yet seen this speaker is fitted in
        the background on the first utterance (which is spoken in the stock voice), so
        fitting, which takes seconds, never delays the audio.
        """
        warmup: asyncio.Task | None = None
        # a stage adapting in the background waits for each utterance's audio to be out
        speaking = getattr(self.voice, "speaking", None)
        while (job := await inp.get()) is not _END:
            if speaking is not None:
                speaking(True)
            first: float | None = None
            timings = job.timings
            timings.setdefault("tts", 0.0)
            if warmup is not None and warmup.done():
                self._voice_ready = True
            voice = self.voice if self._voice_ready else None
            if self.voice is not None:
                timings.setdefault("voice", 0.0)
            pre = job.speculated if job.speculated and job.speculated.speech else None
            voiced = (
                self._voice_ready if pre is None else pre.voiced
            )  # the voice a speculation began in
            voices = pre.voices if pre is not None else []  # which voice spoke each chunk
            ready = self._ready(job.index)  # its first piece, made while it was spoken
            early = False  # whether that piece went out first
            if job.translation:
                chunk: Audio | None = None
                if pre is not None:
                    gen, chunk = pre.speech, pre.first_chunk
                else:
                    gen = st.speak(
                        self.engines,
                        self.locks,
                        voice,
                        job.translation,
                        job.recognized.clean,
                        self.config.split_clauses,
                        timings,
                        deadline=job.eos_wall,
                        voices=voices,
                        ready=ready,
                    )
                    chunk = await asyncio.to_thread(next, gen, None)
                try:
                    while chunk is not None:
                        if first is None:
                            first = time.perf_counter() - job.eos_wall
                            early = ready is not None and chunk is ready.audio
                            if early and ready is not None:
                                voiced = ready.voiced
                            if not self._voice_ready and warmup is None:
                                warmup = self._side_task(
                                    asyncio.to_thread(self._fit_voice, chunk, job.recognized.clean)
                                )
                        await self._events.put(AudioOut(job.index, chunk, job.eos_wall))
                        chunk = await asyncio.to_thread(next, gen, None)
                except Exception as e:
                    await self._events.put(ErrorEvent(f"synthesis failed: {e}", job.index))
            await self._events.put(
                Latency(
                    job.index,
                    first,
                    self.config.segmenter.end_silence_s,
                    dict(timings),
                    job.span.end - job.span.start,
                    job.speculation is not None,
                    speculative_speech=pre is not None,
                    voice_ready=voiced,
                    voice=self._voice_label(voices),
                    early_speech=early,
                )
            )
            for i in [i for i in self._early if i <= job.index]:
                del self._early[i]
            if speaking is not None:
                speaking(False)
        self.locks.streams.discard(id(self))  # done (`aclose` may never be called)
        await self._events.put(_END)

    def _voice_label(self, voices: list[str]) -> str:
        """Which voice spoke an utterance (its first chunk): the stage's label when it
        converted it, else ``stock`` (the voice stage not used yet) or ``tts`` (none)."""
        if voices:
            return voices[0]
        return "tts" if self.voice is None else "stock"

    def _fit_voice(self, speech: Audio, source: Audio) -> None:
        """Let the voice stage fit this speaker (its first convert does), off the critical path.

        The thread runs at a lower CPU priority (Linux: nice applies per thread) so the
        fit, which takes seconds, does not slow recognition of the next utterances.
        """
        with contextlib.suppress(AttributeError, OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        try:
            with self.locks.voice:
                assert self.voice is not None  # only called with a voice stage
                self.voice.convert(speech, source)
        finally:
            with contextlib.suppress(AttributeError, OSError):
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 0)
