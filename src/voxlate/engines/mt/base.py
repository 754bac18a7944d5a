"""Machine translation: text in one language to text in another."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Translation:
    """A translated text and the engine that made it (a guarded engine may fall back)."""

    text: str
    engine: str  # spec of the engine whose output `text` is, e.g. "apertium"
    rejected: str = ""  # why the first engine's reply was rejected ('' if it was not)
    primary_text: str = ""  # the first engine's reply, kept or not (for benchmarks)


@runtime_checkable
class DocumentTranslator(Protocol):
    """A translator that says, per sentence, which engine made it (e.g. a guarded LLM)."""

    def translate_document(self, texts: list[str], source: str, target: str) -> list[Translation]:
        """Translate the sentences of one document in order; one `Translation` per text."""
        ...


def translate_document(
    translator: Translator, texts: list[str], source: str, target: str, name: str
) -> list[Translation]:
    """Translate the sentences of one document in order, through the translator's best
    method: per-sentence engines (`DocumentTranslator`), batches (`BatchTranslator`:
    one call for engines with a start-up cost per call), or one sentence at a time.

    name: the engine name recorded for engines that do not say per sentence.
    """
    if isinstance(translator, DocumentTranslator):
        return list(translator.translate_document(texts, source, target))
    if isinstance(translator, BatchTranslator):
        outs = translator.translate_batch(texts, source, target)
    else:
        outs = [translator.translate(t, source, target) if t else "" for t in texts]
    return [Translation(o.strip(), name) for o in outs]


@runtime_checkable
class IncrementalDocumentTranslator(Protocol):
    """A `DocumentTranslator` that can yield each sentence as soon as it is translated."""

    def iter_document(
        self, texts: Iterable[str], source: str, target: str
    ) -> Iterator[Translation]:
        """The sentences of one document in order, one `Translation` each, as they come
        (`texts` may be a feed whose sentences arrive while this runs)."""
        ...


def iter_document(
    translator: Translator, texts: Iterable[str], source: str, target: str, name: str
) -> Iterator[Translation]:
    """`translate_document`, sentence by sentence where the translator can (a guarded LLM,
    which starts on the first text of a feed), else all at once (batches: one call, once
    every text is in)."""
    if isinstance(translator, IncrementalDocumentTranslator):
        yield from translator.iter_document(texts, source, target)
    else:
        yield from translate_document(translator, list(texts), source, target, name)


@runtime_checkable
class ShorteningTranslator(Protocol):
    """A translator that can give a shorter translation of a line for a dub that must fit
    its slot (a guarded LLM, with a length instruction; Apertium cannot)."""

    def shorten(
        self, source_text: str, translation: str, source: str, target: str, max_syllables: int
    ) -> str:
        """A `target` translation of `source_text` shorter than `translation`, of at most
        about `max_syllables` syllables; `translation` itself when none is found (or the
        shorter reply fails the checks a translation must pass)."""
        ...


@runtime_checkable
class ModeTranslator(Protocol):
    """A translator that names the mode (model, pipeline) it uses for a pair, for reports."""

    def mode(self, source: str, target: str) -> str:
        """The name of what translates `source` -> `target` (e.g. Apertium's 'eng-spa')."""
        ...


@runtime_checkable
class WorkerProcessTranslator(Protocol):
    """A translator whose model runs in a worker process (the LLM's llama.cpp), so that
    reports can add that process's cost to their own."""

    def peak_rss_mb(self) -> float:
        """Peak resident memory of the worker process so far (MiB; 0 if unknown)."""
        ...

    def cpu_seconds(self) -> float:
        """CPU time of the worker process so far (s, all threads; 0 if unknown)."""
        ...


@runtime_checkable
class PreparingTranslator(Protocol):
    """A translator that can start its per-pair set-up in the background (the LLM's prompt
    prefix), so that it overlaps the rest of the loading and the recognition."""

    def prepare(self, source: str, target: str) -> None:
        """Start setting up `source` -> `target`; returns at once, never raises."""
        ...


def worker_process(translator: object) -> WorkerProcessTranslator | None:
    """`translator`, or the translator a guard wraps (its `primary`), when it runs its
    model in a worker process; None otherwise."""
    inner = getattr(translator, "primary", translator)
    return inner if isinstance(inner, WorkerProcessTranslator) else None
