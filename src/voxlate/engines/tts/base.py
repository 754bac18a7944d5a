"""Speech synthesis: text in, speech out, streamed a sentence at a time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

import numpy as np

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


@runtime_checkable
class StyledSynthesizer(Protocol):
    """A synthesizer whose voice is a style vector that callers may override per call
    (Kokoro: a (510, 256) pack or one (256,) row; see docs/voice.md)."""

    style_dim: int  # numbers per style row

    def synthesize(
        self, text: str, language: str, style: np.ndarray | None = None
    ) -> Iterator[Audio]:
        """As `Synthesizer.synthesize`, spoken with `style` (None: the synthesizer's own)."""
        ...
