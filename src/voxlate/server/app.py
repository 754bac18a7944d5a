"""The FastAPI application behind `voxlate serve`: web page, live WebSocket, REST API.

`create_app(config)` builds it; engines load once per language pair (the pairs in
`config.preload` at start-up, others on first use) and are shared by all clients.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from voxlate.audio import SAMPLE_RATE, concatenate
from voxlate.pipeline.stream_events import ErrorEvent
from voxlate.pipeline.voice.mode import named_voice
from voxlate.server.config import ServerConfig
from voxlate.server.docs_page import render_docs
from voxlate.server.guard import GuardMiddleware, token_ok  # noqa: F401  (token_ok re-exported)
from voxlate.server.live_voice import announce, choose_live_voice
from voxlate.server.live_ws import LiveSession
from voxlate.server.loop_monitor import LoopMonitor
from voxlate.server.pool import EnginePool
from voxlate.server.rest import install_error_handlers, router

STATIC = Path(__file__).parent / "static"


def warm_voice_stage(stage: Any, engines: Any) -> None:
    """Fit `stage` once on synthesized speech, then forget it (server start-up only)."""
    chunks = [
        c for c in engines.synthesizer.synthesize(WARM_UP_TEXT, engines.target) if len(c.samples)
    ]
    if chunks and stage is not None:
        speech = concatenate(chunks, chunks[0].sample_rate)
        stage.convert(speech, speech.resample(SAMPLE_RATE))
        stage.reset()


WARM_UP_TEXT = "Uno, dos, tres, cuatro, cinco, seis, siete, ocho."  # any speech does


def create_app(config: ServerConfig | None = None, pool: EnginePool | None = None) -> FastAPI:
    """The server application; `pool` may be shared between apps (tests do that)."""
    config = config or ServerConfig()
    pool = pool or EnginePool(config.specs)

    monitor = LoopMonitor()

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        ticker = asyncio.create_task(monitor.run())
        # Kokoro live only where this machine speaks it fast enough (else eSpeak NG); measured
        # with the pairs loaded at start-up (a server without any loads and measures nothing).
        for target in dict.fromkeys(t for _, t in config.preload):
            choice = await asyncio.to_thread(choose_live_voice, pool, target)
            announce(choice)
            if choice is not None:
                app.state.live_voices[target] = choice
        for source, target in config.preload:
            await pool.pair(source, target)
        voice = named_voice(config.voice)
        if config.preload and voice.kind != "tts":
            # Load one voice stage now and fit it once, so the first live session does not
            # wait for it, and the first fit's one-off costs (imports, JIT compilation),
            # which hold the GIL for about 0.5 s, are paid before any client is served.
            pair = await pool.pair(*config.preload[0])
            synth = pair.engines.synthesizer
            stage = await pool.acquire_voice(voice, synth)
            await asyncio.to_thread(warm_voice_stage, stage, pair.engines)
            pool.release_voice(voice, stage)
        try:
            yield
        finally:
            ticker.cancel()
            await asyncio.wait({ticker})

    app = FastAPI(
        title="voxlate",
        version="1",
        lifespan=lifespan,
        docs_url=None,  # /docs below: rendered here, no CDN; token-protected like /v1
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.config = config
    app.state.pool = pool
    app.state.clients = 0
    app.state.live_voices = {}  # target -> LiveVoice chosen at start-up
    app.include_router(router)
    install_error_handlers(app)
    app.add_middleware(GuardMiddleware, config=config)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        return HTMLResponse(render_docs(app.openapi()))

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/v1/health")
    async def health(lag_window: float = 10.0) -> JSONResponse:
        """Status; `loop_lag_max_s`: the event loop's largest stall in the last
        `lag_window` seconds (s)."""
        return JSONResponse(
            {
                "status": "ok",
                "clients": app.state.clients,
                "max_clients": config.max_clients,
                "loaded_pairs": [f"{s}-{t}" for s, t in pool.loaded_pairs()],
                "max_pairs": pool.max_pairs,
                "loop_lag_max_s": round(monitor.max_lag(lag_window), 4),
                "live_tts": {t: v.to_json() for t, v in app.state.live_voices.items()},
            }
        )

    @app.websocket("/v1/live")
    async def live(ws: WebSocket) -> None:
        await ws.accept()
        if app.state.clients >= config.max_clients:
            busy = ErrorEvent(f"server busy: {config.max_clients} live clients already")
            await ws.send_json(busy.to_json())
            await ws.close(code=1013)
            return
        app.state.clients += 1
        try:
            await LiveSession(ws, pool, config).run()
        finally:
            app.state.clients -= 1

    return app
