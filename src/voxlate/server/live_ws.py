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
import re
import threading
import time
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect

from voxlate.audio import SAMPLE_RATE, Audio
from voxlate.errors import InputError, VoxlateError
from voxlate.pipeline.stream import LIVE_SEGMENTER, StreamConfig, StreamTranslator
from voxlate.pipeline.stream_events import AudioOut, ErrorEvent, Latency
from voxlate.pipeline.stream_stages import check_enhance_mode
from voxlate.pipeline.voice.mode import VoiceMode, named_voice
from voxlate.server.config import ServerConfig
from voxlate.server.pool import EnginePool, LoadedPair, PoolBusy, SameLanguageError

PROTOCOL_VERSION = 1
LANGUAGE = re.compile(r"^[a-z]{2,3}$")  # an ISO 639-1 (or -3) code
MAX_TEXT_CHARS = 4096  # longest text message accepted (characters)
_SETTLING: set[asyncio.Task] = set()  # voice stages being reset before they return to the pool


def parse_message(text: str) -> dict | str:
    """A client text message -> the message dict, or a one-sentence reason it is malformed.

    Never raises: not JSON, not an object, no string 'type', lone surrogates (which
    could not be sent back as UTF-8) and over-long messages are all reasons.
    """
    if len(text) > MAX_TEXT_CHARS:
        return f"malformed message: longer than {MAX_TEXT_CHARS} characters"
    try:
        msg = json.loads(text)
    except (ValueError, RecursionError):
        return "malformed message: not JSON"
    if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
        return "malformed message: expected an object with a 'type'"
    try:
        json.dumps(msg, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, ValueError, RecursionError):
        return "malformed message: invalid Unicode (a lone surrogate)"
    return msg


def parse_flag(value: Any) -> bool | None:
    """A strict JSON boolean (true/false); None for anything else ("no", 1, "false")."""
    return value if isinstance(value, bool) else None


class LiveSession:
    """The state of one WebSocket client: its stream, voice stage and sender task."""

    def __init__(self, ws: WebSocket, pool: EnginePool, config: ServerConfig) -> None:
        self.ws = ws
        self.pool = pool
        self.config = config
        self.stream: StreamTranslator | None = None
        self.voice_mode = VoiceMode("tts")
        self.voice: Any = None
        self.sample_rate = SAMPLE_RATE
        self.sender: asyncio.Task | None = None
        self.pair: LoadedPair | None = None  # acquired from the pool until the stream stops
        self.closed = False  # the server closed the socket: stop receiving
        self._send_lock = asyncio.Lock()

    async def send(self, message: dict, data: bytes | None = None) -> None:
        """Send a JSON event, and a binary frame right after it when `data` is given."""
        text = json.dumps(message, ensure_ascii=False)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate echoed back: escape it
            text = json.dumps(message, ensure_ascii=True)
        async with self._send_lock:
            await self.ws.send_text(text)
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
                if self.closed:
                    return
        except WebSocketDisconnect:
            return
        finally:
            await self.stop(flush=False)

    async def on_text(self, text: str) -> None:
        msg = parse_message(text)
        if isinstance(msg, str):
            await self.error(msg)
            return
        kind = msg["type"]
        if kind == "start":
            await self.start(msg)
        elif kind == "stop":
            if self.stream is None:
                await self.error("'stop' before 'start'")
                return
            engines = self.stream.engines
            await self.stop(flush=True)
            # what the engines lost so far, e.g. sentences translated by the fallback
            # after the LLM's worker died (counted since the engines loaded)
            await self.send({"type": "stopped", "warnings": engines.warnings()})
        elif kind == "ping":
            await self.send({"type": "pong"})
        else:
            await self.error(f"unknown message type '{kind}'")

    async def start(self, msg: dict) -> None:
        if self.stream is not None:
            await self.error("already started; send 'stop' first")
            return
        source = msg.get("source", self.config.source)
        target = msg.get("target", self.config.target)
        voice_field = msg.get("voice", self.config.voice)
        rate = msg.get("sample_rate", SAMPLE_RATE)
        partials = parse_flag(msg.get("partials", False))
        for name, value in (("source", source), ("target", target)):
            if not isinstance(value, str) or not LANGUAGE.match(value.lower()):
                await self.error(f"{name} must be a language code such as 'en'")
                return
        if isinstance(rate, bool) or not isinstance(rate, int) or not 8_000 <= rate <= 48_000:
            await self.error("sample_rate must be an integer from 8000 to 48000 Hz")
            return
        try:
            voice = named_voice(voice_field)
        except InputError as e:
            await self.error(str(e))
            return
        if partials is None:
            await self.error("partials must be true or false")
            return
        source, target = source.lower(), target.lower()
        try:
            pair = await self.pool.acquire(source, target)
        except (SameLanguageError, PoolBusy) as e:
            # A request the server will never serve, or no room: say why, then close.
            await self.error(str(e))
            await self.ws.close(code=1013 if isinstance(e, PoolBusy) else 1008)
            self.closed = True
            return
        except VoxlateError as e:
            await self.error(str(e))
            return
        try:
            vad = await asyncio.to_thread(self.pool.new_vad)  # loads a model: off the loop
            self.voice = await self.pool.acquire_voice(voice, pair.engines.synthesizer)
        except (VoxlateError, ImportError) as e:
            self.pool.release(pair)
            reason = f"voice mode '{voice}' is not available on this server"
            await self.error(str(e) if isinstance(e, VoxlateError) else reason)
            return
        except BaseException:
            self.pool.release(pair)
            raise
        self.pair = pair
        self.voice_mode = voice
        seg = dataclasses.replace(LIVE_SEGMENTER, end_silence_s=self.config.end_silence_s)
        cfg = StreamConfig(
            segmenter=seg,
            enhance=check_enhance_mode(self.config.enhance_mode),
            partial_every_s=self.config.partial_every_s if partials else 0.0,
        )
        # Heavy engines are shared (their locks too); the voice stage is this session's own.
        locks = dataclasses.replace(pair.locks, voice=threading.Lock())
        self.stream = StreamTranslator(pair.engines, cfg, locks=locks, vad=vad, voice=self.voice)
        self.sample_rate = rate
        names = dict(pair.engines.names, voice=str(voice))
        await self.send(
            {
                "type": "started",
                "source": source,
                "target": target,
                "voice": str(voice),
                "sample_rate": rate,
                "engines": names,
            }
        )
        self.stream.start()
        self.sender = asyncio.create_task(self.forward(self.stream))

    async def forward(self, stream: StreamTranslator) -> None:
        """Send the stream's events; audio as an 'audio' event followed by a binary frame.

        `latency.first_audio` is measured here, from the end of speech (its frame's
        arrival) to the moment the first audio frame was handed to the socket, so any
        queueing inside the server counts.
        """
        sent: dict[int, float] = {}  # utterance index -> first audio sent - end of speech (s)
        async for ev in stream.events():
            if isinstance(ev, AudioOut):
                await self.send(ev.to_json(), ev.audio.to_pcm16())
                if ev.index not in sent and ev.eos_wall is not None:
                    sent[ev.index] = time.perf_counter() - ev.eos_wall
            elif isinstance(ev, Latency) and ev.index in sent:
                await self.send(dataclasses.replace(ev, first_audio_s=sent.pop(ev.index)).to_json())
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
        if sender is not None and not sender.cancelled():
            sender.exception()  # retrieved: a send to a closed socket is not a bug
        await stream.aclose()
        pair, self.pair = self.pair, None
        if pair is not None:  # the engines stay alive for any thread still using them
            self.pool.release(pair)
        voice, self.voice = self.voice, None
        if voice is not None:
            # Threads of this stream (a voice fit, a chunk's conversion) may still run;
            # the stage returns to the pool only once they are done and it is reset, in a
            # worker thread, so neither the event loop nor the next session waits on it.
            task = asyncio.create_task(self._settle(stream, self.voice_mode, voice))
            _SETTLING.add(task)
            task.add_done_callback(_SETTLING.discard)

    async def _settle(self, stream: StreamTranslator, mode: VoiceMode, voice: Any) -> None:
        def wait_and_reset() -> None:
            with stream.locks.voice:  # held by this stream's fitting / converting threads
                voice.reset()

        try:
            await asyncio.to_thread(wait_and_reset)
        except Exception:  # a stage that cannot reset is dropped, not reused
            return
        self.pool.release_voice(mode, voice)
