"""Translating a document ahead of its synthesis: sentence k+1 is translated (in the LLM's
worker process) while the main thread synthesizes sentence k.

The file pipeline translates a recording as one document (each sentence given the previous
one as context) and then speaks it sentence by sentence. `TranslationsAhead` runs the
translation in a thread that hands each sentence over as soon as it is done
(`voxlate.engines.mt.base.iter_document`: one at a time for a guarded LLM, all at once for a
batch engine such as Apertium), so that on two cores the LLM's worker and the synthesizer
work at the same time. It holds the translator's lock for the whole document, as
`translate_all` does.

`seconds` is the wall time the thread spent translating (the `mt` stage of the report); it
overlaps the `tts` and `voice` stages, so a file's stages may add up to more than its total.
`waited` is the part of it the main thread spent waiting for a translation.

The texts may also come while the thread runs (`TextFeed`): the file pipeline feeds each
sentence as it is recognised, so that the LLM translates sentence k while the recognizer
works on sentence k+1. A batch engine waits for the whole feed and translates it at once.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

from voxlate.engines.mt.base import Translation, iter_document
from voxlate.pipeline.engines import Engines
from voxlate.pipeline.stream_stages import EngineLocks

_DONE = object()


class TextFeed:
    """Texts handed over one at a time (`put`), read in order by iterating until `close`.

    `waited` is the time the reader spent waiting for the next text (not translating)."""

    def __init__(self) -> None:
        self._queue: queue.Queue[str | object] = queue.Queue()
        self.waited = 0.0

    def put(self, text: str) -> None:
        self._queue.put(text)

    def close(self) -> None:
        """No more texts: the reader stops after those put so far."""
        self._queue.put(_DONE)

    def __iter__(self) -> Iterator[str]:
        while True:
            t0 = time.perf_counter()
            item = self._queue.get()
            self.waited += time.perf_counter() - t0
            if item is _DONE:
                return
            assert isinstance(item, str)
            yield item


class TranslationsAhead:
    """The translations of `texts`, produced in order by a thread started at construction.

    Use as a context manager: leaving it (also by an exception) tells the thread to stop
    after the sentence in flight. An error of the translator is raised by `get`.
    """

    def __init__(self, engines: Engines, locks: EngineLocks, texts: Iterable[str]) -> None:
        self.seconds = 0.0
        self.waited = 0.0
        self._queue: queue.Queue[Any] = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(engines, locks, texts), name="translate-ahead", daemon=True
        )
        self._thread.start()

    def _run(self, engines: Engines, locks: EngineLocks, texts: Iterable[str]) -> None:
        t0 = time.perf_counter()
        fed = texts if isinstance(texts, TextFeed) else None

        def busy() -> float:  # the thread's seconds, less those spent waiting for a text
            return time.perf_counter() - t0 - (fed.waited if fed is not None else 0.0)

        try:
            with locks.mt:
                for tr in iter_document(
                    engines.translator, texts, engines.source, engines.target, engines.names["mt"]
                ):
                    self.seconds = busy()
                    self._queue.put(tr)
                    if self._stop.is_set():
                        return
        except BaseException as e:  # noqa: BLE001 - handed to the caller by get()
            self._queue.put(e)
        finally:
            self.seconds = busy()
            self._queue.put(_DONE)

    def get(self) -> Translation:
        """The next translation (waiting for it); the translator's error if it failed."""
        t0 = time.perf_counter()
        item = self._queue.get()
        self.waited += time.perf_counter() - t0
        if isinstance(item, BaseException):
            raise item
        if item is _DONE:
            raise RuntimeError("fewer translations than texts")
        return item

    def finish(self) -> None:
        """Wait for the thread to end (after the last `get`: at once); `seconds` is final."""
        self._thread.join()

    def close(self) -> None:
        """Stop after the sentence in flight (does not wait for it)."""
        self._stop.set()

    def __enter__(self) -> TranslationsAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
