"""A lock granted by deadline: the one synthesis worker that live sessions share.

The server shares one synthesizer (and its lock) between every live session, and a
synthesis call holds it for one chunk. With a plain lock, the sessions' chunks run in
the order the threads happen to wake up; with `DeadlineLock`, a waiting chunk with the
earliest deadline runs next, whatever session it belongs to. The live pipeline gives a
first chunk the wall time its speaker stopped speaking (earliest end of speech first)
and a later chunk the time its audio is due to play (the first chunk's arrival plus the
speech sent before it), so a chunk that is late goes before one that can still wait.

A caller that gives no deadline (`with lock:`, the file pipeline, REST) waits as if its
deadline were the moment it asked: first come, first served among those.
Times are `time.perf_counter()` seconds, the clock of the live pipeline's events.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import threading
import time
from collections.abc import Iterator
from types import TracebackType


class DeadlineLock:
    """A non-reentrant lock whose waiters are served earliest deadline first.

    Usable wherever a `threading.Lock` is (``with lock:``, `acquire`, `release`,
    `locked`); `at(deadline)` holds it with a deadline.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._held = False
        self._waiting: list[tuple[float, int]] = []  # heap of (deadline, ticket)
        self._tickets = itertools.count()
        self.grants: list[float] | None = None  # deadlines in the order granted, when kept

    def acquire(
        self, blocking: bool = True, timeout: float = -1, deadline: float | None = None
    ) -> bool:
        """Take the lock once it is free and no waiter has an earlier deadline.

        deadline: when this caller's work is due (perf_counter seconds); None: now.
        """
        due = time.perf_counter() if deadline is None else deadline
        with self._cond:
            if not self._held and not self._waiting:
                return self._take(due)
            if not blocking:
                return False
            entry = (due, next(self._tickets))
            heapq.heappush(self._waiting, entry)
            limit = None if timeout < 0 else time.monotonic() + timeout
            while self._held or self._waiting[0] != entry:
                left = None if limit is None else limit - time.monotonic()
                if left is not None and left <= 0:
                    self._waiting.remove(entry)
                    heapq.heapify(self._waiting)
                    self._cond.notify_all()  # the next in line may be free to go now
                    return False
                self._cond.wait(left)
            heapq.heappop(self._waiting)
            return self._take(due)

    def _take(self, due: float) -> bool:
        self._held = True
        if self.grants is not None:
            self.grants.append(due)
        return True

    def release(self) -> None:
        with self._cond:
            if not self._held:
                raise RuntimeError("release of an unlocked DeadlineLock")
            self._held = False
            self._cond.notify_all()

    def locked(self) -> bool:
        return self._held

    def waiting(self) -> int:
        """How many callers wait for the lock now."""
        with self._cond:
            return len(self._waiting)

    @contextlib.contextmanager
    def at(self, deadline: float | None) -> Iterator[None]:
        """``with lock.at(deadline):`` hold the lock, queued by `deadline` (None: now)."""
        self.acquire(deadline=deadline)
        try:
            yield
        finally:
            self.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def hold(lock: object, deadline: float | None) -> contextlib.AbstractContextManager[object]:
    """`lock` held with `deadline` when it is a `DeadlineLock`, else held plainly."""
    if isinstance(lock, DeadlineLock):
        return lock.at(deadline)
    assert isinstance(lock, contextlib.AbstractContextManager)
    return lock
