"""Machine translation: text in one language to text in another."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@runtime_checkable
class Translator(Protocol):
    def pairs(self) -> set[tuple[str, str]]:
        """The (source, target) ISO 639-1 pairs this engine translates."""
        ...

    def translate(self, text: str, source: str, target: str) -> str:
        """Translate `text` from `source` to `target` (ISO 639-1)."""
        ...


@dataclass(frozen=True)
class Translation:
    """A translated text and the engine that made it (a guarded engine may fall back)."""

    text: str
    engine: str  # spec of the engine whose output `text` is, e.g. "apertium"
    rejected: str = ""  # why the first engine's reply was rejected ('' if it was not)
    primary_text: str = ""  # the first engine's reply, kept or not (for benchmarks)


def translate_document(
    translator: Translator, texts: list[str], source: str, target: str, name: str
) -> list[Translation]:
    """Translate the sentences of one document in order, through the translator's best
    method: per-sentence engines (``translate_document``), batches (``translate_batch``:
    one call for engines with a start-up cost per call), or one sentence at a time.

    name: the engine name recorded for engines that do not say per sentence.
    """
    tagged = getattr(translator, "translate_document", None)
    if tagged is not None:
        return list(tagged(texts, source, target))
    batch = getattr(translator, "translate_batch", None)
    if batch is not None:
        outs = batch(texts, source, target)
    else:
        outs = [translator.translate(t, source, target) if t else "" for t in texts]
    return [Translation(o, name) for o in outs]
