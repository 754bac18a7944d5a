"""The server's front door: Host, Origin, token, body size and time, a time box per request.

`GuardMiddleware` is a pure ASGI middleware, so it runs before any route reads a byte:

- the ``Host`` header must name this server (`host_ok`: the bound address, ``localhost``,
  127.0.0.1, ::1, or a name given with ``--allow-host``), else 400 (HTTP) or a refused
  WebSocket handshake; a DNS-rebinding page (its own name, resolving to 127.0.0.1) is
  refused here;
- a browser's ``Origin`` (WebSocket, and any HTTP request that is not GET/HEAD/OPTIONS)
  must be the served origin (scheme, host and port of this request) or one of
  `ServerConfig.allow_origins`, compared exactly (`origin_ok`); clients that send no
  Origin (not browsers) pass; else 1008 or 403;
- the bearer token on `/v1`, `/docs` and `/openapi.json` (header, or ``?token=``);
- a request body is read here, counting bytes as they arrive (chunked or not), and
  refused with 413 as soon as it passes the limit, or with 408 when the client stops
  sending for `body_timeout_s`, or sends slower than `min_body_rate` once past
  `body_grace_s` (a slow drip is closed after about a minute), or takes longer than
  `request_timeout_s` in all; only a body within the limit reaches the route;
- each HTTP request's work is time-boxed (`request_timeout_s`): on timeout, or when the
  client disconnects, the route is cancelled and its `Deadline` is set, so worker threads
  stop at their next engine call and release the shared engine locks.

Headers are decoded as Latin-1, so no byte sequence in a header can raise.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import threading
import time
import types
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fastapi.responses import JSONResponse

from voxlate.errors import VoxlateError
from voxlate.server.config import ServerConfig

PROTECTED = ("/v1", "/docs", "/openapi.json")  # paths that need the token
BODY_SLACK = 65_536  # bytes allowed beyond `max_upload_bytes` for the multipart framing
DEADLINE_KEY = "voxlate.deadline"  # where a request's Deadline sits in the ASGI scope


class RequestCancelled(VoxlateError):
    """The request ran out of time or its client left; raised in worker threads."""


class Deadline:
    """A request's time box, shared with its worker threads.

    Threads call `check()` before each engine call; it raises `RequestCancelled` once
    the request was cancelled (client gone) or its time is up.
    """

    def __init__(self, seconds: float | None) -> None:
        self.expires = None if seconds is None else time.monotonic() + seconds
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set() or (
            self.expires is not None and time.monotonic() > self.expires
        )

    def check(self) -> None:
        if self.cancelled:
            raise RequestCancelled("the request was cancelled (timed out or the client left)")


class Checked:
    """An engine whose every method call first checks `deadline` (see `Deadline.check`),
    then holds `lock` when one is given (a shared engine), so a cancelled request
    stops at its next engine call and no longer takes the shared locks."""

    def __init__(self, engine: Any, deadline: Deadline, lock: Any = None) -> None:
        self._engine = engine
        self._deadline = deadline
        self._lock = lock

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._engine, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            self._deadline.check()
            if self._lock is None:
                return attr(*args, **kwargs)
            with self._lock:
                out = attr(*args, **kwargs)
                if isinstance(out, types.GeneratorType):  # run it to the end inside the lock
                    return iter(list(out))
                return out

        return call


def header_map(scope: dict) -> dict[str, str]:
    """The request headers, lower-case names, values decoded as Latin-1 (never raises)."""
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def query_map(scope: dict) -> dict[str, str]:
    return dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))


def token_ok(expected: str | None, headers: dict[str, str], query: dict[str, str]) -> bool:
    """Whether a request carries the bearer token (header, or ?token= for browsers)."""
    if expected is None:
        return True
    auth = headers.get("authorization", "")
    given = auth[7:].strip() if auth.lower().startswith("bearer ") else query.get("token", "")
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode())


LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::"})  # binding every address
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def split_host(value: str) -> tuple[str, int | None] | None:
    """'name:port', '[::1]:port' or 'name' -> (lower-case name without brackets, port);
    None when it is not a valid host[:port]."""
    if not value or any(c in value for c in "/?#@\\ \t"):
        return None
    try:
        parts = urlsplit("//" + value)
        name, port = parts.hostname, parts.port
    except ValueError:
        return None
    return (name, port) if name else None


def host_ok(host_header: str | None, config: ServerConfig) -> bool:
    """Whether the request's Host names this server (see the module docstring).

    Bound to every address (0.0.0.0 or ::), any IP address is accepted as well: a
    DNS-rebinding page always sends its own name, never an address.
    """
    allowed = {h.strip("[]").lower() for h in config.allow_hosts}
    if "*" in allowed:
        return True
    parsed = split_host(host_header or "")
    if parsed is None:
        return False
    name = parsed[0]
    bind = config.bind_host.strip("[]").lower()
    if name in LOCAL_HOSTS or name == bind or name in allowed:
        return True
    if bind in WILDCARD_BINDS:
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return False
        return True
    return False


def origin_key(origin: str) -> tuple[str, str, int] | None:
    """An origin (or URL) -> (scheme, host, port) with the scheme's default port filled in;
    None when it is not an http(s) origin ('null', 'file://', junk)."""
    try:
        parts = urlsplit(origin.strip())
        scheme, name, port = parts.scheme.lower(), parts.hostname, parts.port
    except ValueError:
        return None
    if scheme not in ("http", "https") or not name:
        return None
    return scheme, name, port if port is not None else DEFAULT_PORTS[scheme]


def origin_ok(scope: dict, headers: dict[str, str], allowed: tuple[str, ...]) -> bool:
    """Whether a browser's Origin is the served origin or one of `allowed`, comparing
    scheme, host and port exactly.

    The served origin is this request's own: its scheme (http for ws, https for wss)
    and its Host header (checked by `host_ok` first). A missing Origin (a non-browser
    client) passes; '*' in `allowed` allows any.
    """
    origin = headers.get("origin")
    if origin is None or "*" in allowed:
        return True
    key = origin_key(origin)
    if key is None:
        return False
    if key in {origin_key(a) for a in allowed}:
        return True
    scheme = "https" if scope.get("scheme") in ("https", "wss") else "http"
    return key == origin_key(f"{scheme}://{headers.get('host', '')}")


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # methods that change nothing


def error_response(status: int, message: str, code: str = "invalid_request_error") -> JSONResponse:
    """OpenAI's error body: {"error": {"message", "type", "code"}}."""
    return JSONResponse({"error": {"message": message, "type": code, "code": status}}, status)


async def send_error(send: Any, status: int, message: str, code: str) -> None:
    """Answer with OpenAI's error body (used before the app has seen the request)."""
    resp = error_response(status, message, code)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*resp.raw_headers, (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": resp.body})


class GuardMiddleware:
    """See the module docstring."""

    def __init__(self, app: Any, config: ServerConfig) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = header_map(scope)
        if not host_ok(headers.get("host"), self.config):
            if scope["type"] == "websocket":  # refuse the handshake (HTTP 403)
                await send({"type": "websocket.close", "code": 1008})
            else:
                await send_error(send, 400, "the Host header does not name this server",
                                 "invalid_request_error")  # fmt: skip
            return
        if scope["type"] == "websocket":
            reason = None
            if not origin_ok(scope, headers, self.config.allow_origins):
                reason = "origin not allowed"
            elif scope["path"].startswith(PROTECTED) and not token_ok(
                self.config.token, headers, query_map(scope)
            ):
                reason = "bad token"
            if reason is not None:
                # Accept, then close with a reason: a browser sees 1008 rather than a bare 403.
                await receive()
                await send({"type": "websocket.accept"})
                await send({"type": "websocket.close", "code": 1008, "reason": reason})
                return
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith(PROTECTED) and not token_ok(
            self.config.token, headers, query_map(scope)
        ):
            await send_error(send, 401, "missing or wrong bearer token", "authentication_error")
            return
        if scope.get("method", "GET") not in SAFE_METHODS and not origin_ok(
            scope, headers, self.config.allow_origins
        ):
            await send_error(send, 403, "origin not allowed", "permission_error")
            return
        await self._http(scope, receive, send, headers)

    async def _http(self, scope: dict, receive: Any, send: Any, headers: dict[str, str]) -> None:
        limit = self.config.max_upload_bytes + BODY_SLACK
        too_big = f"the request body is larger than {self.config.max_upload_bytes // 2**20} MiB"
        length = headers.get("content-length", "").strip()
        if length.isdigit() and int(length) > limit:
            await send_error(send, 413, too_big, "invalid_request_error")
            return
        # Read the body here, counting as it comes, with a timeout between chunks, a least
        # average rate after a grace period, and a cap for the whole body (so a slow drip
        # cannot hold a connection either).
        cfg = self.config
        body = bytearray()
        more = True
        start = time.monotonic()
        ends = start + cfg.request_timeout_s
        while more:
            rate_ends = start + cfg.body_grace_s + len(body) / cfg.min_body_rate
            wait = min(cfg.body_timeout_s, min(ends, rate_ends) - time.monotonic())
            try:
                msg = await asyncio.wait_for(receive(), max(wait, 0.0))
            except asyncio.TimeoutError:
                await send_error(send, 408, "the request body stalled or came too slowly",
                                 "invalid_request_error")  # fmt: skip
                return
            if msg["type"] == "http.disconnect":
                return
            body += msg.get("body", b"")
            if len(body) > limit:
                await send_error(send, 413, too_big, "invalid_request_error")
                return
            more = msg.get("more_body", False)
        held = [bytes(body)]  # the route pops it, so it owns the only copy
        body.clear()
        await self._run(scope, held, receive, send)

    async def _run(self, scope: dict, held: list[bytes], receive: Any, send: Any) -> None:
        """Run the app on the buffered body, time-boxed and cancelled if the client leaves."""
        deadline = Deadline(self.config.request_timeout_s)
        scope[DEADLINE_KEY] = deadline
        left = asyncio.Event()
        started = False
        sent_body = False

        async def replay() -> dict:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": held.pop(), "more_body": False}
            await left.wait()
            return {"type": "http.disconnect"}

        async def send_tracked(message: dict) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        async def watch() -> None:
            while True:
                msg = await receive()
                if msg["type"] == "http.disconnect":
                    left.set()
                    return

        app = asyncio.create_task(self.app(scope, replay, send_tracked))
        watcher = asyncio.create_task(watch())
        try:
            done, _ = await asyncio.wait(
                {app, watcher},
                timeout=self.config.request_timeout_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if app in done:
                app.result()  # re-raise a bug in the app (its error handlers ran already)
                return
            deadline.cancel()
            app.cancel()
            await asyncio.wait({app})
            if watcher not in done and not started:  # timed out, client still there
                limit = self.config.request_timeout_s
                with contextlib.suppress(Exception):
                    await send_error(
                        send, 503, f"the request took longer than {limit:g} s", "timeout_error"
                    )
        finally:
            deadline.cancel()
            for task in (watcher, app):
                if not task.done():
                    task.cancel()
                    await asyncio.wait({task})
            for task in (watcher, app):  # mark every outcome retrieved (no asyncio warnings)
                if not task.cancelled():
                    task.exception()
