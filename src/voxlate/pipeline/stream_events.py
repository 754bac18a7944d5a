"""Typed events that the streaming pipeline emits, in the order they happen.

Times named ``*_time`` are seconds of *input stream* time (0 = first sample fed);
durations named ``*_s`` are wall-clock seconds. Every event has ``to_json()``,
the message the WebSocket server sends (see docs/live.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from voxlate.audio import Audio


@dataclass(frozen=True)
class SpeechStarted:
    """The VAD heard speech begin; `index` numbers the utterance from 0."""

    index: int
    start_time: float  # s of stream time

    def to_json(self) -> dict:
        return {"type": "speech_started", "index": self.index, "start": round(self.start_time, 3)}


@dataclass(frozen=True)
class SpeechEnded:
    """An utterance was closed by silence (or cut at a pause when `cut` is True)."""

    index: int
    start_time: float  # s of stream time, first speech frame
    end_time: float  # s of stream time, end of the last speech frame
    cut: bool = False  # closed at max_utterance_s rather than by silence

    def to_json(self) -> dict:
        return {
            "type": "speech_ended",
            "index": self.index,
            "start": round(self.start_time, 3),
            "end": round(self.end_time, 3),
            "cut": self.cut,
        }


@dataclass(frozen=True)
class Transcript:
    """What was recognised; `final` is False for a partial transcript while speaking."""

    index: int
    text: str
    language: str  # ISO 639-1
    final: bool = True

    def to_json(self) -> dict:
        return {
            "type": "transcript" if self.final else "partial_transcript",
            "index": self.index,
            "text": self.text,
            "language": self.language,
        }


@dataclass(frozen=True)
class Translation:
    index: int
    text: str
    language: str  # ISO 639-1 of the target

    def to_json(self) -> dict:
        return {
            "type": "translation",
            "index": self.index,
            "text": self.text,
            "language": self.language,
        }


@dataclass(frozen=True)
class AudioOut:
    """A chunk of translated speech; an utterance's chunks come in order, then its Latency."""

    index: int
    audio: Audio
    # perf_counter when the utterance's last speech frame reached the pipeline (None:
    # unknown), so a sender can measure end of speech -> audio sent; not in the JSON.
    eos_wall: float | None = None

    def to_json(self) -> dict:
        """The announcement sent before the chunk's binary frame (16-bit PCM mono)."""
        return {
            "type": "audio",
            "index": self.index,
            "sample_rate": self.audio.sample_rate,
            "samples": len(self.audio.samples),
            "duration": round(self.audio.duration, 3),
        }


@dataclass(frozen=True)
class Latency:
    """Timings of one utterance, sent after its last audio chunk.

    first_audio_s: wall seconds from the end of speech in the input (its last speech
    frame reaching the pipeline) to the first translated sample out; the configured
    end-of-speech silence is part of it. stages: wall seconds each stage spent on it.
    """

    index: int
    first_audio_s: float | None  # None when nothing was said (empty translation)
    end_silence_s: float  # the configured silence that ends an utterance (s)
    stages: dict[str, float] = field(default_factory=dict)
    speech_s: float = 0.0  # duration of the utterance's speech (s)
    speculative: bool = False  # recognition had started before the utterance was closed
    speculative_speech: bool = False  # so had synthesis of the first chunk
    early_speech: bool = False  # its first piece was made while the speaker was talking
    voice_ready: bool = True  # False: spoken in the stock voice while the speaker's is fitted
    # which voice spoke it (its first chunk): 'tts' (no voice stage), 'stock' (the stage not
    # used yet), 'pack' (the nearest shipped Kokoro pack while the style is fitted),
    # 'style', 'style+converter' (once adapted in the background), 'adapter' (WORLD stages),
    # 'late:espeak-ng' (the shared synthesizer was not free in time: `stream_stages.LATE_S`)
    voice: str = ""

    def to_json(self) -> dict:
        fa = None if self.first_audio_s is None else round(self.first_audio_s, 3)
        return {
            "type": "latency",
            "index": self.index,
            "first_audio": fa,
            "end_silence": self.end_silence_s,
            "speech": round(self.speech_s, 3),
            "speculative": self.speculative,
            "speculative_speech": self.speculative_speech,
            "early_speech": self.early_speech,
            "voice_ready": self.voice_ready,
            "voice": self.voice,
            "stages": {k: round(v, 4) for k, v in self.stages.items()},
        }


@dataclass(frozen=True)
class ErrorEvent:
    """A problem with one utterance or message; the stream goes on."""

    message: str
    index: int | None = None

    def to_json(self) -> dict:
        return {"type": "error", "message": self.message, "index": self.index}


Event = SpeechStarted | SpeechEnded | Transcript | Translation | AudioOut | Latency | ErrorEvent
