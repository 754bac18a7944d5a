"""A voice adapter adapted per speaker in the background: the live route of the converter.

The trained converter (`engines/voice/converter.py`) must first adapt to a speaker (a few
CPU seconds), which a live stream cannot wait for; converting afterwards is cheap (about
0.05 CPU-s per second of speech). `BackgroundAdapter` runs each speaker's adaptation on its
own worker thread, at a lower CPU priority (Linux applies nice per thread, and PyTorch's
OpenMP team of that thread inherits it) and with one PyTorch thread, so it takes at most
one core's idle time; and it waits for the utterance being spoken to be out (the live
pipeline calls `speaking`; at most `QUIET_WAIT_S`), so it does not slow that one. It
starts once `ADAPT_AFTER_S` of the speaker's speech has been heard (the speech collected
so far, up to `stages.MAX_SPEAKER_AUDIO_S`); until it is done, `params` is None and the
stage speaks in the fitted style alone. `StyledVoiceStage` owns one when live.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from voxlate.audio import Audio
from voxlate.engines.threads import BACKGROUND_NICE, lower_this_thread
from voxlate.engines.voice.base import VoiceAdapter

ADAPT_AFTER_S = 5.0  # seconds of a speaker's speech heard before the adaptation starts
NICE = BACKGROUND_NICE  # the adaptation thread's CPU priority (Linux nice, per thread)
# Wall budget of one adaptation in the background. The converter's own, 12 s, is for a
# caller that waits; a niced thread on a busy machine gets little CPU (measured: 2.4 CPU-s
# over 58.6 s wall at load 8 on 2 cores), so its steps (`converter.FIT_STEPS`), not the
# clock, should end it.
BACKGROUND_FIT_S = 300.0
# An adaptation waits (at most this long, s) for the utterance being spoken to be out
# (`speaking(False)`, which the live pipeline calls after each utterance's last chunk).
QUIET_WAIT_S = 10.0


@dataclass(frozen=True)
class Adaptation:
    """One finished adaptation, for reports and tests."""

    key: int  # the speaker
    speech_s: float  # seconds of their speech it read
    cpu_s: float  # CPU seconds of the adapting thread
    wall_s: float  # wall seconds from its start


class BackgroundAdapter:
    """`adapter` fitted once per speaker on a low-priority worker thread.

    adapt_after_s: seconds of a speaker's speech before their adaptation starts (a
        reference clip, given with `heard` = inf, starts at once).
    """

    def __init__(self, adapter: VoiceAdapter, adapt_after_s: float = ADAPT_AFTER_S) -> None:
        self.adapter = adapter
        if hasattr(adapter, "fit_seconds"):
            adapter.fit_seconds = max(float(adapter.fit_seconds), BACKGROUND_FIT_S)
        self.adapt_after_s = adapt_after_s
        self.name = str(getattr(adapter, "name", "adapter"))
        self._params: dict[int, Any] = {}
        self._pending: dict[int, Future] = {}
        self._failed: set[int] = set()  # speakers whose adaptation raised
        self._lock = threading.Lock()
        self._generation = 0  # bumped by `reset`: a fit of an older session is dropped
        self._quiet = threading.Event()  # set while no utterance is being spoken
        self._quiet.set()
        self._pool: ThreadPoolExecutor | None = None
        self.done: list[Adaptation] = []
        self.errors: list[str] = []  # adaptations that raised, one line each

    def params(
        self,
        key: int,
        heard: float,
        speech: Callable[[], Audio],
        synthesized: Audio,
        embedding: np.ndarray | None = None,
    ) -> Any | None:
        """The fitted parameters of speaker `key`, None until they exist; starts their
        adaptation on `speech()` (what was heard of them so far; `embedding` theirs, and
        `synthesized` a sample of the synthesizer's voice, as `VoiceAdapter.fit` takes
        them) once `heard` seconds reach `adapt_after_s`."""
        with self._lock:
            have = self._params.get(key)
            if (
                have is not None
                or key in self._pending
                or key in self._failed
                or heard < self.adapt_after_s
            ):
                return have
            sample = speech()
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix="voice-adapt", initializer=lower_this_thread
                )
            gen = self._generation
            self._pending[key] = self._pool.submit(
                self._fit, key, synthesized, sample, embedding, gen
            )
            return None

    def speaking(self, on: bool) -> None:
        """An utterance is being spoken (True) or its audio is out (False): adaptations
        wait for the latter (at most `QUIET_WAIT_S`)."""
        if on:
            self._quiet.clear()
        else:
            self._quiet.set()

    def ready(self, key: int) -> bool:
        with self._lock:
            return key in self._params

    def convert(self, speech: Audio, params: Any) -> Audio:
        return self.adapter.convert(speech, params)

    def _fit(self, key: int, synthesized: Audio, sample: Audio, embedding: Any, gen: int) -> None:
        self._quiet.wait(QUIET_WAIT_S)
        t0, c0 = time.perf_counter(), time.thread_time()
        params: Any = None
        try:
            params = self.adapter.fit(synthesized, sample, embedding)
        except Exception as e:  # this speaker keeps the style alone (not retried)
            self.errors.append(f"{type(e).__name__}: {e}")
        with self._lock:
            if gen != self._generation:
                return
            self._pending.pop(key, None)
            if params is None:
                self._failed.add(key)
                return
            self._params[key] = params
            cpu, wall = time.thread_time() - c0, time.perf_counter() - t0
            self.done.append(Adaptation(key, sample.duration, cpu, wall))

    def wait(self, timeout: float | None = None) -> None:
        """Block until the adaptations started so far are done (tests, evaluation)."""
        with self._lock:
            pending = list(self._pending.values())
        for f in pending:
            f.result(timeout)

    def reset(self) -> None:
        """Forget every speaker; a running adaptation finishes but is dropped."""
        with self._lock:
            self._generation += 1
            self._params = {}
            self._pending = {}
            self._failed = set()
            self._quiet.set()
