"""The WebSocket endpoint `/v1/live`: PCM frames in, events and translated PCM out.

Protocol (docs/live.md has the full description):

- client -> server, text: ``{"type": "start", "source": "en", "target": "es",
  "voice": "preserve", "sample_rate": 16000, "partials": false}``, then ``{"type": "stop"}``;
  ``{"type": "ping"}`` keeps an idle connection open.
- client -> server, binary: 16-bit little-endian PCM, mono, at the announced sample rate.
- server -> client, text: ``ready``, ``started``, ``speech_started``, ``speech_ended``,
  ``partial_transcript``, ``transcript``, ``translation``, ``audio``, ``latency``,
  ``stopped``, ``error``, ``pong``.
- server -> client, binary: translated speech, 16-bit PCM mono; each binary frame follows
  an ``audio`` event that gives its sample rate and length.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import threading
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect

from voxlate.audio import SAMPLE_RATE, Audio
from voxlate.engines.voice.base import VOICE_MODES
from voxlate.errors import VoxlateError
from voxlate.pipeline.stream import LIVE_SEGMENTER, StreamConfig, StreamTranslator
from voxlate.pipeline.stream_events import AudioOut, ErrorEvent
from voxlate.server.config import ServerConfig
from voxlate.server.pool import EnginePool

PROTOCOL_VERSION = 1


class LiveSession:
    """The state of one WebSocket client: its stream, voice stage and sender task."""

    def __init__(self, ws: WebSocket, pool: EnginePool, config: ServerConfig) -> None:
        self.ws = ws
        self.pool = pool
        self.config = config
        self.stream: StreamTranslator | None = None
        self.voice_mode = "tts"
        self.voice: Any = None
        self.sample_rate = SAMPLE_RATE
        self.sender: asyncio.Task | None = None
        self._send_lock = asyncio.Lock()

    async def send(self, message: dict, data: bytes | None = None) -> None:
        """Send a JSON event, and a binary frame right after it when `data` is given."""
        async with self._send_lock:
            await self.ws.send_text(json.dumps(message, ensure_ascii=False))
            if data is not None:
                await self.ws.send_bytes(data)

    async def error(self, message: str) -> None:
        await self.send(ErrorEvent(message).to_json())

    async def run(self) -> None:
        """Receive messages until the client leaves or stays idle too long."""
        await self.send(
            {
                "type": "ready",
                "protocol": PROTOCOL_VERSION,
                "sample_rate": SAMPLE_RATE,
                "max_frame_bytes": self.config.max_frame_bytes,
                "idle_timeout_s": self.config.idle_timeout_s,
            }
        )
        try:
            while True:
                try:
                    msg = await asyncio.wait_for(self.ws.receive(), self.config.idle_timeout_s)
                except asyncio.TimeoutError:
                    await self.error(f"idle for {self.config.idle_timeout_s:g} s; closing")
                    await self.ws.close(code=1000)
                    return
                if msg["type"] == "websocket.disconnect":
                    return
                if msg.get("bytes") is not None:
                    await self.on_audio(msg["bytes"])
                elif msg.get("text") is not None:
                    await self.on_text(msg["text"])
        except WebSocketDisconnect:
            return
        finally:
            await self.stop(flush=False)

    async def on_text(self, text: str) -> None:
        try:
            msg = json.loads(text)
        except json.JSONDecodeError:
            await self.error("malformed message: not JSON")
            return
        if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
            await self.error("malformed message: expected an object with a 'type'")
            return
        kind = msg["type"]
        if kind == "start":
            await self.start(msg)
        elif kind == "stop":
            if self.stream is None:
                await self.error("'stop' before 'start'")
                return
            await self.stop(flush=True)
            await self.send({"type": "stopped"})
        elif kind == "ping":
            await self.send({"type": "pong"})
        else:
            await self.error(f"unknown message type '{kind}'")

    async def start(self, msg: dict) -> None:
        if self.stream is not None:
            await self.error("already started; send 'stop' first")
            return
        source = str(msg.get("source", self.config.source)).lower()
        target = str(msg.get("target", self.config.target)).lower()
        voice = str(msg.get("voice", self.config.voice))
        rate = msg.get("sample_rate", SAMPLE_RATE)
        if not isinstance(rate, int) or not 8_000 <= rate <= 48_000:
            await self.error("sample_rate must be an integer from 8000 to 48000 Hz")
            return
        if voice not in VOICE_MODES:
            await self.error(f"voice must be one of: {', '.join(VOICE_MODES)}")
            return
        partials = bool(msg.get("partials", False))
        try:
            pair = await self.pool.pair(source, target)
            self.voice = await self.pool.acquire_voice(voice)
        except VoxlateError as e:
            await self.error(str(e))
            return
        except ImportError:
            await self.error(f"voice mode '{voice}' is not available on this server")
            return
        self.voice_mode = voice
        seg = dataclasses.replace(LIVE_SEGMENTER, end_silence_s=self.config.end_silence_s)
        cfg = StreamConfig(
            segmenter=seg,
            enhance=self.config.enhance_mode,
            partial_every_s=self.config.partial_every_s if partials else 0.0,
        )
        # Heavy engines are shared (their locks too); the voice stage is this session's own.
        locks = dataclasses.replace(pair.locks, voice=threading.Lock())
        self.stream = StreamTranslator(
            pair.engines, cfg, locks=locks, vad=self.pool.new_vad(), voice=self.voice
        )
        self.sample_rate = rate
        names = dict(pair.engines.names, voice=voice)
        await self.send(
            {
                "type": "started",
                "source": source,
                "target": target,
                "voice": voice,
                "sample_rate": rate,
                "engines": names,
            }
        )
        self.stream.start()
        self.sender = asyncio.create_task(self.forward(self.stream))

    async def forward(self, stream: StreamTranslator) -> None:
        """Send the stream's events; audio as an 'audio' event followed by a binary frame."""
        async for ev in stream.events():
            if isinstance(ev, AudioOut):
                await self.send(ev.to_json(), ev.audio.to_pcm16())
            else:
                await self.send(ev.to_json())

    async def on_audio(self, data: bytes) -> None:
        if self.stream is None:
            await self.error("audio before 'start'; frame ignored")
            return
        if len(data) > self.config.max_frame_bytes:
            await self.error(
                f"audio frame of {len(data)} bytes is over the limit of "
                f"{self.config.max_frame_bytes}; frame ignored"
            )
            return
        if len(data) % 2:
            await self.error("audio frame has an odd number of bytes (expected 16-bit PCM)")
            return
        try:
            await self.stream.push(Audio.from_pcm16(data, self.sample_rate))
        except OverflowError as e:
            await self.error(f"{e}; frame dropped")

    async def stop(self, flush: bool) -> None:
        """End the stream; with `flush`, finish its utterances and send their events first."""
        stream, sender = self.stream, self.sender
        self.stream, self.sender = None, None
        if stream is None:
            return
        if flush and sender is not None:
            await stream.close()
            with contextlib.suppress(Exception):
                await sender
        if sender is not None and not sender.done():
            sender.cancel()
            await asyncio.wait([sender])  # raises only if this task itself is cancelled
        await stream.aclose()
        self.pool.release_voice(self.voice_mode, self.voice)
        self.voice = None
