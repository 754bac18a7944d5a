"""Settings of `voxlate serve`."""

from __future__ import annotations

from dataclasses import dataclass, field

from voxlate.pipeline.engines import EngineSpecs


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
    allow_origins: tuple[str, ...] = ()  # WebSocket Origins allowed besides the served one
    header_timeout_s: float = 10.0  # a connection must send its request headers within this (s)
    body_timeout_s: float = 30.0  # a request body that stalls this long gets a 408 (s)
    request_timeout_s: float = 600.0  # most wall time one REST request may work (s)
    detect_asr: str = "faster-whisper:base"  # multilingual recognizer that detects languages
    preload: tuple[tuple[str, str], ...] = (("en", "es"),)  # pairs loaded at start-up
