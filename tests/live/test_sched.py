"""The shared synthesizer's lock: earliest deadline first, across sessions (issue 26)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from voxlate.audio import Audio
from voxlate.pipeline import stream_stages as st
from voxlate.pipeline.stream_sched import DeadlineLock


def _wait_until(cond, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.005)


def _grant_order(lock, deadlines: list[float]) -> list[float]:
    """Hold `lock`, queue one thread per deadline (in the given arrival order), release:
    the deadlines in the order the threads got the lock."""
    order: list[float] = []
    lock.acquire()
    threads = []
    for i, d in enumerate(deadlines):

        def work(d: float = d) -> None:
            if isinstance(lock, DeadlineLock):
                with lock.at(d):
                    order.append(d)
            else:
                with lock:
                    order.append(d)

        t = threading.Thread(target=work)
        t.start()
        threads.append(t)
        if isinstance(lock, DeadlineLock):
            _wait_until(lambda i=i: lock.waiting() == i + 1)
        else:
            time.sleep(0.05)  # arrival order
    lock.release()
    for t in threads:
        t.join(5)
    return order


def test_waiters_get_the_lock_earliest_deadline_first():
    assert _grant_order(DeadlineLock(), [3.0, 1.0, 4.0, 2.0]) == [1.0, 2.0, 3.0, 4.0]


def test_fifo_lock_would_serve_in_arrival_order():
    # What the deadline lock replaces: a plain lock serves the late deadline (3.0) first.
    assert _grant_order(_FifoLock(), [3.0, 1.0, 4.0, 2.0]) != [1.0, 2.0, 3.0, 4.0]


class _FifoLock:
    """A lock that serves waiters in arrival order (a ticket lock)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._next = self._serving = 0

    def acquire(self) -> None:
        with self._cond:
            ticket, self._next = self._next, self._next + 1
            self._cond.wait_for(lambda: self._serving == ticket)

    def release(self) -> None:
        with self._cond:
            self._serving += 1
            self._cond.notify_all()

    def __enter__(self) -> None:
        self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def test_plain_use_is_a_lock():
    lock = DeadlineLock()
    with lock:
        assert lock.locked()
        assert not lock.acquire(blocking=False)
        assert not lock.acquire(timeout=0.01)
    assert not lock.locked() and lock.waiting() == 0
    assert lock.acquire(blocking=False)
    lock.release()
    with pytest.raises(RuntimeError):
        lock.release()


def test_a_waiter_that_times_out_leaves_the_queue():
    lock = DeadlineLock()
    lock.acquire()
    assert not lock.acquire(timeout=0.02, deadline=0.0)
    assert lock.waiting() == 0
    lock.release()
    assert lock.acquire(blocking=False)
    lock.release()


class _Synth:
    """A synthesizer whose every chunk is 1 s of audio, recording the texts it speaks."""

    def __init__(self) -> None:
        self.spoken: list[str] = []

    def languages(self) -> set[str]:
        return {"es"}

    def synthesize(self, text: str, language: str):
        for word in text.split():
            self.spoken.append(word)
            yield Audio(np.full(16_000, 0.1, np.float32), 16_000)


class _Engines:
    def __init__(self, synth: _Synth) -> None:
        self.synthesizer = synth
        self.target = "es"


def test_speak_queues_sessions_chunks_by_deadline():
    """Three sessions' chunks wait for the shared synthesizer: the one whose speaker stopped
    first is spoken first, whatever order their threads asked in."""
    synth = _Synth()
    locks = st.EngineLocks()
    src = Audio(np.zeros(16_000, np.float32), 16_000)
    locks.tts.acquire()  # busy: every session's first chunk has to wait
    done = []

    def session(word: str, eos: float) -> None:
        gen = st.speak(_Engines(synth), locks, None, word, src, False, {}, deadline=eos)  # type: ignore[arg-type]
        done.extend(chunk.duration for chunk in gen)

    threads = []
    for i, (word, eos) in enumerate([("late", 30.0), ("first", 10.0), ("second", 20.0)]):
        t = threading.Thread(target=session, args=(word, eos))
        t.start()
        threads.append(t)
        _wait_until(lambda i=i: locks.tts.waiting() == i + 1)
    locks.tts.release()
    for t in threads:
        t.join(5)
    assert synth.spoken == ["first", "second", "late"]
    assert done == [1.0, 1.0, 1.0]


def test_later_chunks_are_due_when_the_speech_before_them_has_played():
    synth = _Synth()
    locks = st.EngineLocks()
    locks.tts.grants = []
    src = Audio(np.zeros(16_000, np.float32), 16_000)
    t0 = time.perf_counter()
    list(st.speak(_Engines(synth), locks, None, "uno dos tres", src, False, {}, deadline=t0))  # type: ignore[arg-type]
    due = locks.tts.grants
    # 4 grants: three chunks and the call that finds the generator done
    assert due[0] == t0
    assert due[2] - due[1] == pytest.approx(1.0) and due[3] - due[2] == pytest.approx(1.0)
    assert due[1] >= t0 + 1.0


class _LateEngines(_Engines):
    def __init__(self, synth: _Synth, late: _Synth) -> None:
        super().__init__(synth)
        self.late = late


def _two_streams(synth: _Synth) -> tuple[_Synth, st.EngineLocks, Audio, _LateEngines]:
    """Engines with `synth` and a late voice, used by two live streams: (the late voice,
    the locks, a source clip, the engines)."""
    late = _Synth()
    locks = st.EngineLocks()
    locks.streams.update({1, 2})
    return late, locks, Audio(np.zeros(16_000, np.float32), 16_000), _LateEngines(synth, late)


def test_a_piece_that_cannot_have_the_synthesizer_in_time_is_spoken_by_the_late_voice():
    """Two streams: the synthesizer is busy past the first piece's due time + LATE_S: that
    piece and the rest of the utterance go to `Engines.late`, labelled, not re-voiced; a
    free synthesizer keeps every piece; a lone stream waits instead."""
    synth = _Synth()
    late, locks, src, engines = _two_streams(synth)
    voices: list[str] = []
    eos = time.perf_counter() - st.LATE_S + 0.05  # 50 ms of patience left
    locks.tts.acquire()  # another session's long chunk
    try:
        got = list(
            st.speak(engines, locks, None, "uno dos", src, False, {}, deadline=eos, voices=voices)
        )  # type: ignore[arg-type]
    finally:
        locks.tts.release()
    assert late.spoken == ["uno", "dos"] and synth.spoken == []
    assert len(got) == 2 and voices == [st.LATE_VOICE, st.LATE_VOICE]
    assert not locks.late_tts.locked()

    voices.clear()
    list(st.speak(engines, locks, None, "tres", src, False, {}, deadline=eos, voices=voices))  # type: ignore[arg-type]
    assert synth.spoken == ["tres"] and late.spoken == ["uno", "dos"]
    assert voices == []  # no voice stage: nothing converted, nothing late

    locks.streams.discard(2)  # alone: its own earlier speech plays first anyway, so it waits
    locks.tts.acquire()
    threading.Timer(st.LATE_S + 0.2, locks.tts.release).start()
    eos = time.perf_counter() - st.LATE_S
    list(st.speak(engines, locks, None, "cuatro", src, False, {}, deadline=eos))  # type: ignore[arg-type]
    assert synth.spoken == ["tres", "cuatro"] and late.spoken == ["uno", "dos"]


def test_without_a_deadline_nothing_falls_back():
    """Files (no deadline) wait for the synthesizer however long it is busy."""
    synth, late = _Synth(), _Synth()
    locks = st.EngineLocks()
    locks.streams.update({1, 2})
    src = Audio(np.zeros(16_000, np.float32), 16_000)
    locks.tts.acquire()
    threading.Timer(0.2, locks.tts.release).start()
    got = list(st.speak(_LateEngines(synth, late), locks, None, "uno", src, False, {}))  # type: ignore[arg-type]
    assert len(got) == 1 and synth.spoken == ["uno"] and late.spoken == []


def test_a_ready_first_piece_goes_out_first_and_the_rest_grows_from_it():
    synth = _Synth()
    locks = st.EngineLocks()
    src = Audio(np.zeros(16_000, np.float32), 16_000)
    piece = Audio(np.full(8_000, 0.2, np.float32), 16_000)
    ready = st.Ready("Uno, dos", piece, ("style",))
    voices: list[str] = []
    text = "uno dos tres cuatro cinco seis siete ocho nueve diez once doce"
    got = list(
        st.speak(
            _Engines(synth),
            locks,
            None,
            text,
            src,
            True,
            {},
            ready=ready,
            voices=voices,
            deadline=time.perf_counter(),
        )
    )  # type: ignore[arg-type]
    assert got[0] is piece and voices == ["style"]
    assert synth.spoken == text.split()[2:]  # only the rest is synthesized
    # the rest starts with up to ~2 x 2 words, not the 3-word first piece of a fresh start
    assert st.clauses(" ".join(text.split()[2:]), first_words=4)[0] == "tres cuatro cinco seis"
    assert st.after_prefix("Uno dos tres", "uno, dos") == "tres"
    assert st.after_prefix("Uno tres dos", "uno dos") is None
    assert st.after_prefix("Uno", "uno dos") is None


def test_a_ready_piece_that_is_not_the_start_is_ignored():
    synth = _Synth()
    src = Audio(np.zeros(16_000, np.float32), 16_000)
    piece = Audio(np.full(8_000, 0.2, np.float32), 16_000)
    got = list(
        st.speak(
            _Engines(synth),
            st.EngineLocks(),
            None,
            "tres cuatro",
            src,
            False,
            {},
            ready=st.Ready("uno dos", piece),
        )
    )  # type: ignore[arg-type]
    assert all(g is not piece for g in got) and synth.spoken == ["tres", "cuatro"]


class _SlowSynth(_Synth):
    """Each word takes 0.35 s to synthesize and gives 10 ms of audio: slower than real time."""

    def synthesize(self, text: str, language: str):
        for word in text.split():
            time.sleep(0.35)
            self.spoken.append(word)
            yield Audio(np.full(160, 0.1, np.float32), 16_000)


def test_a_stream_behind_its_own_playback_speaks_the_rest_in_the_late_voice():
    """Shared engines, a synthesizer slower than real time: once a later piece is more than
    LATE_S past its due time (the speech before it has played out), the rest of the
    utterance goes to `Engines.late` rather than pile up behind this stream's playback; a
    lone stream keeps its voice."""
    synth = _SlowSynth()
    late, locks, src, engines = _two_streams(synth)
    voices: list[str] = []
    text = "uno dos tres cuatro cinco seis"  # pieces: "uno dos tres", "cuatro cinco seis"
    eos = time.perf_counter()
    list(st.speak(engines, locks, None, text, src, True, {}, deadline=eos, voices=voices))  # type: ignore[arg-type]
    assert synth.spoken == ["uno", "dos", "tres"]
    assert late.spoken == ["cuatro", "cinco", "seis"]
    assert voices == [st.LATE_VOICE] * 3

    locks.streams.discard(2)
    synth.spoken.clear()
    list(st.speak(engines, locks, None, text, src, True, {}, deadline=time.perf_counter()))  # type: ignore[arg-type]
    assert synth.spoken == text.split()
