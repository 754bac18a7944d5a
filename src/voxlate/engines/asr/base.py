"""Speech recognition: audio in, text with timestamps out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from voxlate.audio import Audio


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
class Recognizer(Protocol):
    #: ISO 639-1 codes this model recognizes; None means any (a multilingual model).
    languages: frozenset[str] | None

    def transcribe(self, audio: Audio, language: str | None = None) -> Transcript:
        """Recognize `audio`; `language` is the spoken language (None: detect it)."""
        ...
