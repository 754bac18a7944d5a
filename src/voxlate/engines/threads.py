"""Thread counts for engines with their own thread pools (CTranslate2, ONNX Runtime)."""

from __future__ import annotations

import os


def default_threads() -> int:
    """One thread per available core, at most 4.

    CTranslate2's own default can start more threads than the machine has cores; on
    a small machine under load those spin against each other (seen here: 31 s
    instead of 0.06 s for one translation).
    """
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:
        n = os.cpu_count() or 1
    return max(1, min(4, n))
