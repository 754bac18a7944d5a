"""Recognitions asked while the shared recognizer is busy run together, in one call.

The live server shares one recognizer between its sessions. When the speakers stop at
about the same moment (a meeting's turn, or the benchmark's clients streaming the same
clips in step), their utterances queued one behind the other for it: with 4 WebSocket
clients each recognition waited 1.0-1.7 s on average. `RecognitionBatch` combines them:
every caller puts its utterance in a shared list and waits for the recognizer's lock (by
deadline, `DeadlineLock`); the caller that gets the lock recognizes, in one
`transcribe_short_batch` call, every utterance then waiting (earliest deadline first, at
most `max_batch`) and hands each caller its transcript; a caller whose utterance was
recognized that way returns as soon as it gets the lock, without a call of its own.

Nothing waits for a batch to fill: an utterance that finds the recognizer idle is
recognized at once, alone.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from voxlate.audio import Audio
from voxlate.engines.asr.base import ShortContextRecognizer, Transcript
from voxlate.pipeline.stream_sched import DeadlineLock, hold

MAX_BATCH = 4  # utterances per call: 4 LibriVox clips take 0.47 s together, 0.76 s apart


@dataclass(eq=False)
class _Request:
    audio: Audio
    language: str | None
    due: float
    done: bool = False
    result: Transcript | None = None
    error: BaseException | None = None


@dataclass
class RecognitionBatch:
    """The utterances waiting for one shared recognizer (one per set of `EngineLocks`).

    calls: how many calls recognized how many utterances (batch size -> calls).
    """

    max_batch: int = MAX_BATCH
    calls: Counter[int] = field(default_factory=Counter)
    _pending: list[_Request] = field(default_factory=list)
    _mutex: threading.Lock = field(default_factory=threading.Lock)

    def transcribe_short(
        self,
        recognizer: ShortContextRecognizer,
        lock: threading.Lock | DeadlineLock,
        audio: Audio,
        language: str | None,
        deadline: float | None = None,
    ) -> Transcript:
        """`recognizer.transcribe_short(audio, language)`, holding `lock` (queued by
        `deadline`, perf_counter s), in one call with the other utterances then waiting."""
        req = _Request(audio, language, time.perf_counter() if deadline is None else deadline)
        with self._mutex:
            self._pending.append(req)
        with hold(lock, deadline):
            if not req.done:
                self._run(recognizer, self._take(req))
        if req.error is not None:
            raise req.error
        assert req.result is not None
        return req.result

    def _take(self, req: _Request) -> list[_Request]:
        """`req` and the waiting utterances of its language, earliest due first, at most
        `max_batch`; they leave the waiting list."""
        with self._mutex:
            same = sorted(
                (r for r in self._pending if r is not req and r.language == req.language),
                key=lambda r: r.due,
            )
            batch = [req, *same[: self.max_batch - 1]]
            self._pending = [r for r in self._pending if r not in batch]
        return batch

    def _run(self, recognizer: ShortContextRecognizer, batch: list[_Request]) -> None:
        self.calls[len(batch)] += 1
        language = batch[0].language
        try:
            if len(batch) == 1:
                results = [recognizer.transcribe_short(batch[0].audio, language)]
            else:
                results = recognizer.transcribe_short_batch([r.audio for r in batch], language)
        except Exception as e:  # every caller of the batch sees the engine's error
            for r in batch:
                r.error, r.done = e, True
            return
        for r, t in zip(batch, results, strict=True):
            r.result, r.done = t, True
