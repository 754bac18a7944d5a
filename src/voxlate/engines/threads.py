"""Thread counts for engines with their own thread pools (CTranslate2, ONNX Runtime)."""

from __future__ import annotations

import contextlib
import os
import threading

BACKGROUND_NICE = 10  # CPU priority of work off the critical path (Linux nice, per thread)


def default_threads() -> int:
    """One thread per available core, at most 4.

    CTranslate2's own default can start more threads than the machine has cores; on
    a small machine under load those spin against each other (seen here: 31 s
    instead of 0.06 s for one translation). OMP_NUM_THREADS, when set, caps it: Ray
    sets it to the CPUs of each worker, so 16 batch workers on 16 cores run 16 threads,
    not 64.
    """
    cap = os.environ.get("OMP_NUM_THREADS", "")
    if cap.isdigit() and int(cap) > 0:
        return max(1, min(4, int(cap)))
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:
        n = os.cpu_count() or 1
    return max(1, min(4, n))


def recognizer_threads() -> int:
    """Threads of the Whisper recognizer (CTranslate2): one core fewer than `default_threads`,
    at least 1. The recognizer shares the machine with the synthesizer (live) or the LLM
    worker (files).

    Measured on 2 cores: with 2 threads tiny.en was no faster alone (3 LibriVox utterances in
    one call: 0.26 s with 1 or 2), and beside Kokoro and three other live sessions single
    calls took 4.8-6.0 s instead of ~0.3 s (4 WebSocket clients: median 1.7-3.3 s, p95 3.4-8.3
    s; with 1 thread 1.2-1.3 s and 2.2-3.2 s). A likely cause: each of the decoder's many
    small parallel steps waits for its slowest thread, often descheduled on a busy machine.
    """
    return max(1, default_threads() - 1)


def lower_this_thread(nice: int = BACKGROUND_NICE, torch_threads: int = 1) -> None:
    """Run the calling thread (and the threads it starts) at a lower CPU priority, with
    `torch_threads` PyTorch threads: for work off the critical path (a voice adapted ahead,
    the background estimate), so that it takes only what the critical path leaves idle.

    Linux applies nice per thread; PyTorch's thread count is per thread too (OpenMP), so
    the other threads keep theirs. Where either cannot be set, nothing changes."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    with contextlib.suppress(ImportError):
        import torch

        torch.set_num_threads(torch_threads)


def one_blas_thread() -> contextlib.AbstractContextManager[object]:
    """A context in which numpy's BLAS/LAPACK (OpenBLAS) runs on one thread.

    For a numpy decomposition on a busy machine: OpenBLAS's worker threads spin against the
    other engines' threads (ONNX Runtime, the LLM worker), and the style space's SVD
    (`style_space.from_packs`, 0.06 s on one thread) took 3.8 s wall inside a
    `voxlate translate`'s start-up. threadpoolctl (a dependency) sets it."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")
