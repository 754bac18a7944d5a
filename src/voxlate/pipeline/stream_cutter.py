"""The segment stage of the live pipeline: VAD frames in, utterances (jobs) and events out.

`Cutter` holds the stream's state (input buffer, `Endpointer`, utterance numbering,
noise floor) and is synchronous; `voxlate.pipeline.stream` drives it from a task.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from voxlate.audio import SAMPLE_RATE, Audio, Span
from voxlate.dsp import rms_db
from voxlate.pipeline.segmenter import Endpointer, SegmenterConfig
from voxlate.pipeline.stream_events import Event, SpeechEnded, SpeechStarted
from voxlate.pipeline.stream_stages import Recognized


@dataclass
class Speculation:
    """What a speculation (see `voxlate.pipeline.stream`) made of the speech before a pause."""

    recognized: Recognized
    translation: str
    timings: dict[str, float]  # 'mt', and 'tts'/'voice' when speech was started
    speech: Iterator[Audio] | None = None  # the synthesis, paused after its first chunk
    first_chunk: Audio | None = None
    voiced: bool = False  # whether the chunks are in the speaker's voice (the voice was ready)
    voices: list[str] = field(default_factory=list)  # which voice spoke each chunk (`speak`)


@dataclass
class Job:
    """One utterance on its way through the stages (mutable; owned by one stage at a time)."""

    index: int
    audio: Audio  # the utterance with padding, 16 kHz
    span: Span  # speech start and end (s of stream time)
    eos_wall: float  # perf_counter when the last speech frame reached the pipeline
    end_frame: int  # VAD frame just after the last speech frame
    cut: bool  # cut at max_utterance_s rather than ended by silence
    enhance: bool = False
    speculation: asyncio.Task | None = None  # resolves to a `Speculation`
    speculated: Speculation | None = None  # that result, once the job has adopted it
    recognized: Recognized | None = None
    translation: str | None = None
    timings: dict[str, float] = field(default_factory=dict)


class Cutter:
    """The segment stage's state: input buffer, `Endpointer`, utterance numbering, noise floor.

    `push` takes one VAD frame and its speech probability and returns the events and
    jobs it causes, in order. Sample counts are at `SAMPLE_RATE` (the VAD's rate).
    """

    def __init__(self, config: SegmenterConfig, frame_size: int, vad_rate: int) -> None:
        if vad_rate != SAMPLE_RATE:
            raise ValueError(f"live VAD must run at {SAMPLE_RATE} Hz; got {vad_rate}")
        self.cfg = config
        self.fsz = frame_size
        self.frame_s = frame_size / vad_rate
        self.ep = Endpointer(config, self.frame_s)
        self.pad = int(round(config.pad_s * SAMPLE_RATE))
        self.min_frames = int(np.ceil(config.min_speech_s / self.frame_s - 1e-9))
        self.buf = np.zeros(0, dtype=np.float32)  # stream samples from `buf0` on
        self.buf0 = 0
        self.frame_i = 0  # frames seen
        self.index = 0  # number of the open (or next) utterance
        self.start_frame: int | None = None  # first frame of the open utterance
        self.announced = False  # SpeechStarted sent for the open utterance
        self.last_speech, self.last_speech_wall = -1, 0.0
        self.noise_db: float | None = None  # running level of non-speech frames (dB)

    @property
    def speaking(self) -> bool:
        return self.announced and self.ep.in_speech

    @property
    def pausing(self) -> bool:
        """In a pause of an announced utterance: the last frame was silent, the utterance
        not yet ended."""
        return self.speaking and self.last_speech < self.frame_i - 1

    def append(self, x: np.ndarray) -> None:
        """Add input samples, dropping what no open or coming utterance can need."""
        first = self.start_frame if self.start_frame is not None else self.frame_i
        keep_from = first * self.fsz - self.pad
        if keep_from > self.buf0:
            drop = min(keep_from - self.buf0, len(self.buf))
            self.buf, self.buf0 = self.buf[drop:], self.buf0 + drop
        self.buf = np.concatenate([self.buf, x])

    def audio_between(self, a: int, b: int) -> Audio:
        """Stream samples [a, b), clipped to what is buffered."""
        a, b = max(a, self.buf0), min(b, self.buf0 + len(self.buf))
        return Audio(self.buf[a - self.buf0 : max(a, b) - self.buf0].copy(), SAMPLE_RATE)

    def open_audio(self) -> Audio:
        """The open utterance so far, with leading padding."""
        start = self.start_frame if self.start_frame is not None else self.frame_i
        return self.audio_between(start * self.fsz - self.pad, self.frame_i * self.fsz)

    def push(self, frame: np.ndarray, prob: float, wall: float) -> list[Event | Job]:
        i = self.frame_i
        self.frame_i += 1
        was = self.ep.in_speech
        span = self.ep.push(prob)
        speech = prob >= self.cfg.threshold
        out: list[Event | Job] = []
        if speech:
            self.last_speech, self.last_speech_wall = i, wall
        elif not self.ep.in_speech and prob < 0.2:  # surely not speech: the noise floor
            lvl = rms_db(frame)
            self.noise_db = lvl if self.noise_db is None else 0.95 * self.noise_db + 0.05 * lvl
        if not was and self.ep.in_speech:
            self.start_frame, self.announced = i, False
        if span is not None:
            cut = self.ep.in_speech
            out += self._close(span, cut, wall if cut else self.last_speech_wall)
            self.start_frame = int(round(span.end / self.frame_s)) if cut else None
        elif was and not self.ep.in_speech:
            self.start_frame, self.announced = None, False  # a burst too short to be speech
        if (
            self.start_frame is not None
            and not self.announced
            and self.last_speech + 1 - self.start_frame >= self.min_frames
        ):
            self.announced = True
            out.append(SpeechStarted(self.index, self.start_frame * self.frame_s))
        return out

    def flush(self) -> list[Event | Job]:
        """End of input: close the open utterance, if any."""
        span = self.ep.flush()
        return self._close(span, False, self.last_speech_wall) if span is not None else []

    def _close(self, span: Span, cut: bool, eos_wall: float) -> list[Event | Job]:
        out: list[Event | Job] = []
        if not self.announced:
            out.append(SpeechStarted(self.index, span.start))
        a = int(round(span.start * SAMPLE_RATE)) - self.pad
        b = int(round(span.end * SAMPLE_RATE)) + (0 if cut else self.pad)
        out.append(SpeechEnded(self.index, span.start, span.end, cut))
        out.append(
            Job(
                self.index,
                self.audio_between(a, b),
                span,
                eos_wall,
                int(round(span.end / self.frame_s)),
                cut,
            )
        )
        self.index += 1
        self.announced = False
        return out
