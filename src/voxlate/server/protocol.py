"""uvicorn's HTTP/1.1 protocol with a header timeout: half-sent requests are closed.

uvicorn times out idle keep-alive connections but not a request whose headers never
finish. `TimedH11Protocol` closes a connection that has not sent a whole request head
within `HEADER_TIMEOUT_S` of connecting or of its previous response. Bodies are timed
by `voxlate.server.guard.GuardMiddleware`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_TIMEOUT_S = 10.0  # seconds; `voxlate serve` sets it from ServerConfig.header_timeout_s


class TimedH11Protocol(H11Protocol):
    """H11Protocol that closes connections whose request head is not complete in time."""

    header_timeout_s: float = HEADER_TIMEOUT_S

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        timer = getattr(self, "_header_timer", None)
        if timer is not None:
            timer.cancel()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        timer = getattr(self, "_header_timer", None)
        if timer is not None:
            timer.cancel()
        scope: Any = self.scope
        self._header_timer = self.loop.call_later(
            self.header_timeout_s, self._header_timeout, scope
        )

    def _header_timeout(self, scope_when_armed: Any) -> None:
        # A request head arrived since the timer was armed when `scope` changed.
        if self.scope is scope_when_armed and not self.transport.is_closing():
            self.transport.close()


def protocol_with_timeout(seconds: float) -> type[TimedH11Protocol]:
    """A TimedH11Protocol subclass with `seconds` as its header timeout."""
    return type("TimedH11Protocol", (TimedH11Protocol,), {"header_timeout_s": seconds})
