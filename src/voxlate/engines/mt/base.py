"""Machine translation: text in one language to text in another."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from voxlate.engines.base import Engine


@runtime_checkable
class Translator(Engine, Protocol):
    def pairs(self) -> set[tuple[str, str]]:
        """The (source, target) ISO 639-1 pairs this engine translates."""
        ...

    def translate(self, text: str, source: str, target: str) -> str:
        """Translate `text` from `source` to `target` (ISO 639-1)."""
        ...


@runtime_checkable
class BatchTranslator(Protocol):
    """A translator that translates many texts in one call (cheaper per text)."""

    def translate_batch(self, texts: list[str], source: str, target: str) -> list[str]:
        """Translate each of `texts`; one output per input, '' for an empty input."""
        ...


@runtime_checkable
class ModeTranslator(Protocol):
    """A translator that names the mode (model, pipeline) it uses for a pair, for reports."""

    def mode(self, source: str, target: str) -> str:
        """The name of what translates `source` -> `target` (e.g. Apertium's 'eng-spa')."""
        ...
