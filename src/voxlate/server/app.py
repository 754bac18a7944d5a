"""The FastAPI application behind `voxlate serve`: web page, live WebSocket, REST API.

`create_app(config)` builds it; engines load once per language pair (the pairs in
`config.preload` at start-up, others on first use) and are shared by all clients.
"""

from __future__ import annotations

import hmac
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, WebSocket
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from voxlate.server.config import ServerConfig
from voxlate.server.live_ws import LiveSession
from voxlate.server.pool import EnginePool
from voxlate.server.rest import error_response, install_error_handlers, router

STATIC = Path(__file__).parent / "static"


def token_ok(expected: str | None, headers: dict[str, str], query: dict[str, str]) -> bool:
    """Whether a request carries the bearer token (header, or ?token= for browsers' WebSockets)."""
    if expected is None:
        return True
    auth = headers.get("authorization", "")
    given = auth[7:].strip() if auth.lower().startswith("bearer ") else query.get("token", "")
    return hmac.compare_digest(given.encode(), expected.encode())


class GuardMiddleware:
    """Pure ASGI middleware: bearer token on /v1 routes and the upload size limit.

    Runs before any body is read, so an oversized upload is refused from its
    Content-Length without being received.
    """

    def __init__(self, app: Any, config: ServerConfig) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket") or not scope["path"].startswith("/v1"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
        from urllib.parse import parse_qsl

        query = dict(parse_qsl(scope.get("query_string", b"").decode()))
        if not token_ok(self.config.token, headers, query):
            if scope["type"] == "websocket":
                # Accept, then close with a reason: a browser sees 1008 rather than a bare 403.
                await receive()
                await send({"type": "websocket.accept"})
                await send({"type": "websocket.close", "code": 1008, "reason": "bad token"})
                return
            resp = error_response(401, "missing or wrong bearer token", "authentication_error")
            await resp(scope, receive, send)
            return
        if scope["type"] == "http":
            length = headers.get("content-length")
            if (
                length is not None
                and length.isdigit()
                and int(length) > self.config.max_upload_bytes + 65_536
            ):
                limit = self.config.max_upload_bytes // 2**20
                resp = error_response(413, f"the upload is larger than {limit} MiB")
                await resp(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(config: ServerConfig | None = None, pool: EnginePool | None = None) -> FastAPI:
    """The server application; `pool` may be shared between apps (tests do that)."""
    config = config or ServerConfig()
    pool = pool or EnginePool(config.specs)

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        for source, target in config.preload:
            await pool.pair(source, target)
        if config.preload and config.voice != "tts":
            # Load one voice stage now, so the first live session does not wait for it.
            pool.release_voice(config.voice, await pool.acquire_voice(config.voice))
        yield

    app = FastAPI(title="voxlate", version="1", lifespan=lifespan, docs_url="/docs", redoc_url=None)
    app.state.config = config
    app.state.pool = pool
    app.state.clients = 0
    app.include_router(router)
    install_error_handlers(app)
    app.add_middleware(GuardMiddleware, config=config)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/v1/health")
    async def health() -> JSONResponse:
        return JSONResponse(
            {
                "status": "ok",
                "clients": app.state.clients,
                "max_clients": config.max_clients,
                "loaded_pairs": [f"{s}-{t}" for s, t in pool.loaded_pairs()],
            }
        )

    @app.websocket("/v1/live")
    async def live(ws: WebSocket) -> None:
        await ws.accept()
        if app.state.clients >= config.max_clients:
            await ws.send_json(
                {
                    "type": "error",
                    "message": f"server busy: {config.max_clients} live clients already",
                }
            )
            await ws.close(code=1013)
            return
        app.state.clients += 1
        try:
            await LiveSession(ws, pool, config).run()
        finally:
            app.state.clients -= 1

    return app
