"""`RecognitionBatch`: utterances that wait for a busy shared recognizer run in one call."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from voxlate.audio import Audio
from voxlate.engines.asr.base import ShortContextRecognizer, Transcript
from voxlate.pipeline.recognition_batch import RecognitionBatch
from voxlate.pipeline.stream_sched import DeadlineLock


def _clip(tag: float) -> Audio:
    """A clip whose first sample names it (the fake recognizer 'hears' that number)."""
    return Audio(np.full(1600, tag, np.float32), 16_000)


class _Recognizer:
    """Hears each clip's first sample; records its calls; `gate` holds its first call."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[list[float]] = []
        self.gate = threading.Event()
        self.fail = fail

    def _hear(self, audio: Audio, language: str | None) -> Transcript:
        return Transcript(f"{language}:{audio.samples[0]:g}", language or "en")

    def transcribe_short(self, audio: Audio, language: str | None = None) -> Transcript:
        self.calls.append([float(audio.samples[0])])
        self.gate.wait(5)
        if self.fail:
            raise RuntimeError("engine broke")
        return self._hear(audio, language)

    def transcribe_short_batch(
        self, audios: list[Audio], language: str | None = None
    ) -> list[Transcript]:
        self.calls.append([float(a.samples[0]) for a in audios])
        if self.fail:
            raise RuntimeError("engine broke")
        return [self._hear(a, language) for a in audios]


def _wait_until(cond, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.005)


def _ask(batch, rec, lock, tag, language, deadline, out) -> None:
    try:
        out[tag] = batch.transcribe_short(rec, lock, _clip(tag), language, deadline).text
    except Exception as e:
        out[tag] = e


def _run(batch, rec, asks):
    """The first ask starts alone (the recognizer busy with it); the others arrive while it
    runs; returns what each caller got."""
    lock, out = DeadlineLock(), {}
    threads = []
    for i, (tag, language, deadline) in enumerate(asks):
        t = threading.Thread(target=_ask, args=(batch, rec, lock, tag, language, deadline, out))
        t.start()
        threads.append(t)
        if i == 0:
            _wait_until(lambda: len(rec.calls) == 1)
        else:
            _wait_until(lambda i=i: lock.waiting() == i)
    rec.gate.set()
    for t in threads:
        t.join(5)
    return out


def test_the_fake_is_a_short_context_recognizer():
    assert isinstance(_Recognizer(), ShortContextRecognizer)


def test_utterances_waiting_for_a_busy_recognizer_are_recognized_in_one_call():
    rec, batch = _Recognizer(), RecognitionBatch()
    out = _run(batch, rec, [(1, "en", 1.0), (3, "en", 3.0), (2, "en", 2.0), (4, "en", 4.0)])
    assert out == {1: "en:1", 2: "en:2", 3: "en:3", 4: "en:4"}  # each caller its own
    assert rec.calls == [[1.0], [2.0, 3.0, 4.0]]  # alone first, then earliest due first
    assert batch.calls == {1: 1, 3: 1}


def test_a_batch_holds_at_most_max_batch_and_one_language():
    rec, batch = _Recognizer(), RecognitionBatch(max_batch=2)
    asks = [(1, "en", 1.0), (2, "en", 2.0), (3, "en", 3.0), (4, "es", 4.0), (5, "en", 5.0)]
    out = _run(batch, rec, asks)
    assert out == {1: "en:1", 2: "en:2", 3: "en:3", 4: "es:4", 5: "en:5"}
    assert rec.calls == [[1.0], [2.0, 3.0], [4.0], [5.0]]


def test_an_idle_recognizer_is_called_at_once_alone():
    rec, batch = _Recognizer(), RecognitionBatch()
    rec.gate.set()
    got = batch.transcribe_short(rec, DeadlineLock(), _clip(7), "en")  # type: ignore[arg-type]
    assert got.text == "en:7" and rec.calls == [[7.0]]


def test_every_caller_of_a_failed_batch_gets_the_error():
    rec, batch = _Recognizer(fail=True), RecognitionBatch()
    out = _run(batch, rec, [(1, "en", 1.0), (2, "en", 2.0), (3, "en", 3.0)])
    assert all(isinstance(out[k], RuntimeError) for k in (1, 2, 3))
    assert batch._pending == []  # nothing left behind for a later call


@pytest.mark.parametrize("language", ["en", None])
def test_results_go_back_in_the_callers_order(language):
    """Callers asking in reverse deadline order each get their own transcript."""
    rec, batch = _Recognizer(), RecognitionBatch()
    out = _run(batch, rec, [(9, language, 9.0), (8, language, 8.0), (7, language, 7.0)])
    assert out == {k: f"{language}:{k}" for k in (7, 8, 9)}


def test_a_speculation_joins_the_recognizers_next_call_while_it_has_room():
    """A stream speculates while the recognizer is busy as long as its utterance fits in the
    next batch; without the batched short path it waits for an idle recognizer."""
    import dataclasses
    import types

    from voxlate.pipeline.stream import StreamConfig, StreamTranslator
    from voxlate.pipeline.stream_stages import EngineLocks

    engines = types.SimpleNamespace(vad=object(), voice=None)
    locks = EngineLocks()
    stream = StreamTranslator(engines, locks=locks)  # type: ignore[arg-type]
    assert stream._recognizer_has_room()  # idle
    locks.asr.acquire()
    try:
        assert stream._recognizer_has_room()  # busy, nobody waiting: joins the next call
        long_path = StreamTranslator(
            engines,
            dataclasses.replace(StreamConfig(), short_asr=False),
            locks=locks,  # type: ignore[arg-type]
        )
        assert not long_path._recognizer_has_room()
        waiters = []
        for d in range(locks.asr_batch.max_batch - 1):
            t = threading.Thread(
                target=lambda d=d: (locks.asr.acquire(deadline=d), locks.asr.release())
            )
            t.start()
            waiters.append(t)
        _wait_until(lambda: locks.asr.waiting() == locks.asr_batch.max_batch - 1)
        assert not stream._recognizer_has_room()  # the next call is full
    finally:
        locks.asr.release()
    for t in waiters:
        t.join(5)
