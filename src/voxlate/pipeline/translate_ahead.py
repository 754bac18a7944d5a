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
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

from voxlate.engines.mt.base import Translation, iter_document
from voxlate.pipeline.engines import Engines
from voxlate.pipeline.stream_stages import EngineLocks

_DONE = object()


class TranslationsAhead:
    """The translations of `texts`, produced in order by a thread started at construction.

    Use as a context manager: leaving it (also by an exception) tells the thread to stop
    after the sentence in flight. An error of the translator is raised by `get`.
    """

    def __init__(self, engines: Engines, locks: EngineLocks, texts: list[str]) -> None:
        self.seconds = 0.0
        self.waited = 0.0
        self._queue: queue.Queue[Any] = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(engines, locks, texts), name="translate-ahead", daemon=True
        )
        self._thread.start()

    def _run(self, engines: Engines, locks: EngineLocks, texts: list[str]) -> None:
        t0 = time.perf_counter()
        try:
            with locks.mt:
                for tr in iter_document(
                    engines.translator, texts, engines.source, engines.target, engines.names["mt"]
                ):
                    self.seconds = time.perf_counter() - t0
                    self._queue.put(tr)
                    if self._stop.is_set():
                        return
        except BaseException as e:  # noqa: BLE001 - handed to the caller by get()
            self._queue.put(e)
        finally:
            self.seconds = time.perf_counter() - t0
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
