"""Speech synthesis: text in, speech out, streamed a sentence at a time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from voxlate.audio import Audio
from voxlate.engines.base import Engine


@runtime_checkable
class Synthesizer(Engine, Protocol):
    def languages(self) -> set[str]:
        """ISO 639-1 codes this synthesizer speaks."""
        ...

    def synthesize(self, text: str, language: str) -> Iterator[Audio]:
        """Speak `text` in `language`, yielding one chunk of audio per sentence as soon as it is ready."""
        ...
