"""`voxlate serve`: the web page, live WebSocket and REST API (FastAPI + uvicorn)."""

from __future__ import annotations

import os
import signal

import typer

from voxlate.cli.engine_options import (
    AsrOption,
    EndSilenceOption,
    EnhanceModeOption,
    EnhanceOption,
    MtOption,
    SourceOption,
    TargetOption,
    TtsOption,
    VoiceOption,
)
from voxlate.cli.groups import app


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (0.0.0.0 exposes it)."),
    port: int = typer.Option(8000, "--port", "-p", help="TCP port."),
    token: str | None = typer.Option(
        None,
        "--token",
        envvar="VOXLATE_TOKEN",
        help="Require 'Authorization: Bearer TOKEN' (or ?token= on the WebSocket).",
    ),
    source: SourceOption = "en",
    target: TargetOption = "es",
    voice: VoiceOption = "preserve",
    enhance: EnhanceOption = "deepfilter",
    enhance_mode: EnhanceModeOption = "auto",
    asr: AsrOption = None,
    mt: MtOption = None,
    tts: TtsOption = None,
    end_silence: EndSilenceOption = 0.3,
    max_clients: int = typer.Option(8, "--max-clients", help="Live WebSocket clients at once."),
    max_upload_mb: int = typer.Option(25, "--max-upload-mb", help="Largest REST upload (MiB)."),
    idle_timeout: float = typer.Option(60.0, "--idle-timeout", help="Close idle WebSockets (s)."),
    max_audio_minutes: float = typer.Option(
        30.0, "--max-audio-minutes", help="Longest decoded REST upload (minutes)."
    ),
    request_timeout: float = typer.Option(
        600.0, "--request-timeout", help="Most wall time one REST request may work (s)."
    ),
    allow_origin: list[str] = typer.Option(
        [],
        "--allow-origin",
        help="Also accept browser requests (WebSocket, POST) from this Origin, compared by "
        "scheme, host and port (e.g. https://app.example); repeatable.",
    ),
    allow_host: list[str] = typer.Option(
        [],
        "--allow-host",
        help="Also accept requests whose Host header is this name (besides the bound address "
        "and localhost), e.g. the proxy's or the machine's name; repeatable; '*' any.",
    ),
    max_pairs: int | None = typer.Option(
        None,
        "--max-pairs",
        help="Language pairs kept loaded at once, least recently used evicted "
        "(default: one per 2 GiB of RAM, 2 to 16).",
    ),
) -> None:
    """Serve the live-translation web page at /, the WebSocket /v1/live and the REST API.

    --source, --target and --voice are the defaults of requests that name none.
    """
    from voxlate.errors import InputError
    from voxlate.pipeline.voice.mode import named_voice
    from voxlate.server.config import EMPTY_TOKEN, ServeUsageError

    if token is None:  # click ignores an empty environment variable: it must not mean "no auth"
        token = os.environ.get("VOXLATE_TOKEN")
    if token is not None and not token.strip():
        raise ServeUsageError(EMPTY_TOKEN)
    if max_pairs is not None and max_pairs < 1:
        raise ServeUsageError("--max-pairs must be 1 or more.")
    named_voice(voice, "--voice")  # requests name a mode, never a file on the server
    if enhance_mode not in ("always", "auto", "never"):
        raise InputError("--enhance-mode must be always, auto or never.")
    if (
        min(end_silence, idle_timeout, max_audio_minutes, request_timeout) <= 0
        or max_clients < 1
        or max_upload_mb < 1
    ):
        raise InputError(
            "--end-silence, --idle-timeout, --max-clients, --max-upload-mb, "
            "--max-audio-minutes and --request-timeout must be positive."
        )
    import uvicorn

    from voxlate.pipeline.engines import command_specs
    from voxlate.server.app import create_app
    from voxlate.server.config import ServerConfig
    from voxlate.server.pool import EnginePool, default_max_pairs
    from voxlate.server.protocol import protocol_with_timeout

    specs = command_specs(live=True, voice=voice, enhance=enhance, asr=asr, mt=mt, tts=tts)
    pool = EnginePool(specs, max_pairs=max_pairs or default_max_pairs())
    # Load the default pair before binding, so a bad setup fails with one sentence.
    pool.load_now(source.lower(), target.lower())
    config = ServerConfig(
        specs=specs,
        token=token,
        source=source.lower(),
        target=target.lower(),
        voice=voice,
        max_clients=max_clients,
        max_upload_bytes=max_upload_mb * 2**20,
        idle_timeout_s=idle_timeout,
        end_silence_s=end_silence,
        enhance_mode=enhance_mode,
        preload=((source.lower(), target.lower()),),
        max_audio_minutes=max_audio_minutes,
        request_timeout_s=request_timeout,
        allow_origins=tuple(allow_origin),
        bind_host=host,
        allow_hosts=tuple(allow_host),
    )
    if host not in ("127.0.0.1", "localhost", "::1") and not token:
        typer.echo("warning: serving on a public address without --token", err=True)
    typer.echo(f"voxlate: open http://{host}:{port}/ (Ctrl+C stops)", err=True)
    # uvicorn handles Ctrl-C itself (graceful shutdown) and raises the signal again once it
    # has stopped; ignored here, so a stopped server says so and exits 0, not "interrupted".
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        uvicorn.run(
            create_app(config, pool),
            host=host,
            port=port,
            log_level="warning",
            ws_max_size=2**20,  # a larger WebSocket frame closes the connection (1009)
            http=protocol_with_timeout(config.header_timeout_s),  # half-sent heads are closed
            timeout_keep_alive=5,
            limit_concurrency=config.max_connections,  # then 503 at once
            timeout_graceful_shutdown=5,  # Ctrl-C: live sessions get 5 s, then are closed
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    typer.echo("voxlate: server stopped", err=True)
