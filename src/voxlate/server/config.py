"""Settings of `voxlate serve`."""

from __future__ import annotations

from dataclasses import dataclass, field

from voxlate.errors import InputError
from voxlate.pipeline.engines import EngineSpecs


class ServeUsageError(InputError):
    """A `voxlate serve` option that cannot work (exit code 2, one sentence)."""

    exit_code = 2


@dataclass(frozen=True)
class ServerConfig:
    specs: EngineSpecs = field(default_factory=EngineSpecs)  # engines (voice: the default mode)
    token: str | None = None  # bearer token every /v1 request must carry; None: no auth
    source: str = "en"  # default spoken language of a live session (ISO 639-1)
    target: str = "es"  # default target language (ISO 639-1)
    voice: str = "preserve"  # default voice mode of a live session
    max_clients: int = 8  # live WebSocket sessions at once
    max_frame_bytes: int = 64_000  # largest binary audio frame (2 s of 16 kHz PCM16)
    max_upload_bytes: int = 25 * 2**20  # largest REST upload (OpenAI's limit is 25 MB)
    idle_timeout_s: float = 60.0  # a WebSocket with no message for this long is closed (s)
    end_silence_s: float = 0.3  # live end-of-speech silence (s)
    enhance_mode: str = "auto"  # always | auto | never (live sessions)
    partial_every_s: float = 1.0  # partial transcript interval when a client asks for them (s)
    max_audio_minutes: float = 30.0  # longest decoded REST upload (min), checked while decoding
    allow_origins: tuple[str, ...] = ()  # browser Origins allowed besides the served one
    bind_host: str = "127.0.0.1"  # the address served on (accepted as a Host header)
    allow_hosts: tuple[str, ...] = ()  # Host names accepted besides bind_host and localhost
    header_timeout_s: float = 10.0  # a connection must send its request headers within this (s)
    body_timeout_s: float = 30.0  # a request body that stalls this long gets a 408 (s)
    body_grace_s: float = 60.0  # a body may take this long (s), plus 1 s per min_body_rate bytes
    min_body_rate: int = 32_768  # bytes/s a body must average once past body_grace_s
    max_connections: int = 512  # connections at once (uvicorn's limit_concurrency); then 503
    request_timeout_s: float = 600.0  # most wall time one REST request may work (s)
    detect_asr: str = "faster-whisper:base"  # multilingual recognizer that detects languages
    preload: tuple[tuple[str, str], ...] = (("en", "es"),)  # pairs loaded at start-up

    def __post_init__(self) -> None:
        if self.token is not None and not self.token.strip():
            raise ServeUsageError(EMPTY_TOKEN)


EMPTY_TOKEN = (
    "The token is empty, which would turn authentication off; give --token (or VOXLATE_TOKEN) "
    "a value, or leave it unset."
)
