"""Thread counts for engines with their own thread pools (CTranslate2, ONNX Runtime)."""

from __future__ import annotations

import os


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
