"""A ticker that measures how long the server's event loop stalls.

Every `TICK_S` the ticker sleeps and notes how much later than asked it woke up: that
lag is the time the loop was busy with something else (a blocking call on the loop
delays every client, ping and `/v1/health` alike). `/v1/health` reports the largest
lag of the last seconds; `voxlate serve` has it always on (the cost is one wake-up
every 50 ms).
"""

from __future__ import annotations

import asyncio
import collections
import time

TICK_S = 0.05  # seconds between ticks
KEEP_S = 600.0  # seconds of lag history kept


class LoopMonitor:
    """Event-loop lag history: `run()` is the ticker task, `max_lag(window_s)` the report."""

    def __init__(self) -> None:
        self._lags: collections.deque[tuple[float, float]] = collections.deque()
        self.ticks = 0

    async def run(self) -> None:
        while True:
            t0 = time.perf_counter()
            await asyncio.sleep(TICK_S)
            now = time.perf_counter()
            self.ticks += 1
            self._lags.append((now, max(0.0, now - t0 - TICK_S)))
            while self._lags and self._lags[0][0] < now - KEEP_S:
                self._lags.popleft()

    def max_lag(self, window_s: float = 10.0) -> float:
        """The largest lag (s) among the ticks of the last `window_s` seconds."""
        since = time.perf_counter() - window_s
        return max((lag for t, lag in self._lags if t >= since), default=0.0)
