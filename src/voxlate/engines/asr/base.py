"""Speech recognition: audio in, text with timestamps out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from voxlate.audio import Audio
from voxlate.engines.base import Engine


@dataclass(frozen=True)
class Word:
    text: str
    start: float  # seconds from the start of the audio given to `transcribe`
    end: float


@dataclass(frozen=True)
class Transcript:
    """What a recognizer heard.

    segments: (start s, end s, text) of each stretch the recognizer decoded.
    """

    text: str
    language: str  # ISO 639-1
    segments: tuple[tuple[float, float, str], ...] = field(default_factory=tuple)


@runtime_checkable
class Recognizer(Engine, Protocol):
    #: ISO 639-1 codes this model recognizes; None means any (a multilingual model).
    languages: frozenset[str] | None

    def transcribe(self, audio: Audio, language: str | None = None) -> Transcript:
        """Recognize `audio`; `language` is the spoken language (None: detect it)."""
        ...


@runtime_checkable
class ShortContextRecognizer(Protocol):
    """A recognizer with a faster path for short utterances (used by the live pipeline)."""

    def transcribe_short(self, audio: Audio, language: str | None = None) -> Transcript:
        """Recognize a short utterance with less context than `transcribe`; falls back
        to `transcribe` where the fast path does not apply or its output looks wrong."""
        ...

    def transcribe_short_batch(
        self, audios: list[Audio], language: str | None = None
    ) -> list[Transcript]:
        """`transcribe_short` of several utterances in one call (one result per audio, in
        order): the live server's recognitions of sessions whose utterances end together."""
        ...
