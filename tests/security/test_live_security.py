"""The live WebSocket (issue 15): Origin, strict messages, no stalls, honest latency."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import threading
import time
import types

import numpy as np
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from voxlate.audio import Audio
from voxlate.pipeline.stream import StreamTranslator
from voxlate.pipeline.stream_events import AudioOut, Latency
from voxlate.pipeline.stream_stages import EngineLocks
from voxlate.server.config import ServerConfig
from voxlate.server.live_ws import LiveSession

from .conftest import VOICE, make_app


def test_websocket_origin_must_be_the_served_one(pool):
    with TestClient(make_app(pool, allow_origins=("https://app.example",))) as c:
        evil = {"Origin": "https://evil.example"}
        with (
            pytest.raises(WebSocketDisconnect) as e,
            c.websocket_connect("/v1/live", headers=evil) as ws,
        ):
            ws.receive_json()
        assert e.value.code == 1008
        for origin in ("http://testserver", "https://app.example"):
            with c.websocket_connect("/v1/live", headers={"Origin": origin}) as ws:
                assert ws.receive_json()["type"] == "ready"
        with c.websocket_connect("/v1/live") as ws:  # no Origin: not a browser
            assert ws.receive_json()["type"] == "ready"


def test_strict_messages_and_lone_surrogates(pool):
    with TestClient(make_app(pool)) as c, c.websocket_connect("/v1/live") as ws:
        assert ws.receive_json()["type"] == "ready"
        ws.send_text('{"type": "\\ud800"}')
        assert "surrogate" in ws.receive_json()["message"]
        ws.send_text('{"type": "start", "voice": "tts", "partials": "no"}')
        assert "partials must be true or false" in ws.receive_json()["message"]
        ws.send_text('{"type": "start", "source": {"a": 1}}')
        assert "source" in ws.receive_json()["message"]
        ws.send_text(json.dumps({"type": "x" * 5000}))
        assert "longer than" in ws.receive_json()["message"]
        ws.send_text('{"type": "ping"}')
        assert ws.receive_json()["type"] == "pong"  # still serving


def test_busy_error_and_latency_fields_match_the_docs(pool):
    with TestClient(make_app(pool, max_clients=1)) as c, c.websocket_connect("/v1/live") as first:
        assert first.receive_json()["type"] == "ready"
        with c.websocket_connect("/v1/live") as second:
            ev = second.receive_json()
            assert ev["type"] == "error" and "index" in ev and ev["index"] is None
    lat = Latency(0, 0.4, 0.3, {"asr": 0.1}, voice_ready=False).to_json()
    assert lat["voice_ready"] is False


class FakeWS:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list = []
        self.fail = fail

    async def send_text(self, text: str) -> None:
        if self.fail:
            raise RuntimeError("socket closed")
        self.sent.append(json.loads(text))

    async def send_bytes(self, data: bytes) -> None:
        self.sent.append(len(data))


class FakePool:
    def __init__(self) -> None:
        self.released: list = []

    def release_voice(self, mode, stage) -> None:
        self.released.append(stage)


class BusyVoice:
    """A voice stage whose fit holds the session's voice lock for `seconds`."""

    spec = "fake"

    def __init__(self) -> None:
        self.resets = 0

    def reset(self) -> None:
        self.resets += 1

    def convert(self, speech, source):
        return speech


def _stream(voice) -> StreamTranslator:
    engines = types.SimpleNamespace(vad=None, voice=None)
    locks = EngineLocks()
    return StreamTranslator(engines, locks=locks, vad=types.SimpleNamespace(), voice=voice)


def test_closing_a_session_never_blocks_the_loop_nor_hands_on_its_voice():
    """The old session's fit still runs: close at once; the stage is reset off the loop and
    returns to the pool only when the fit is done (issue 15, live stalls)."""

    async def main():
        voice = BusyVoice()
        stream = _stream(voice)
        fitting = threading.Thread(target=lambda: (stream.locks.voice.acquire(), time.sleep(1.0),
                                                   stream.locks.voice.release()))  # fmt: skip
        fitting.start()
        await asyncio.sleep(0.05)
        pool = FakePool()
        session = LiveSession(FakeWS(), pool, ServerConfig())
        session.stream, session.voice, session.voice_mode = stream, voice, "preserve"
        lags = []

        async def ticker():
            while True:
                t0 = time.perf_counter()
                await asyncio.sleep(0.02)
                lags.append(time.perf_counter() - t0 - 0.02)

        tick = asyncio.create_task(ticker())
        t0 = time.perf_counter()
        await session.stop(flush=False)
        assert time.perf_counter() - t0 < 0.2  # closing did not wait for the fit
        assert pool.released == [] and voice.resets == 0  # not handed on while fitting
        await asyncio.sleep(1.5)
        tick.cancel()
        fitting.join()
        assert pool.released == [voice] and voice.resets == 1
        assert max(lags) < 0.2

    asyncio.run(main())


def test_first_audio_is_measured_when_the_frame_is_sent():
    async def main():
        ws = FakeWS()
        session = LiveSession(ws, FakePool(), ServerConfig())
        eos = time.perf_counter() - 1.0  # the end of speech arrived 1 s ago
        events = [AudioOut(0, Audio.silence(0.1, 16_000), eos), Latency(0, 0.1, 0.3)]

        class Stream:
            async def events(self):
                for ev in events:
                    yield ev

        await session.forward(Stream())
        latency = [m for m in ws.sent if isinstance(m, dict) and m["type"] == "latency"][0]
        assert latency["first_audio"] >= 1.0  # not the 0.1 s the pipeline saw

    asyncio.run(main())


def test_abrupt_disconnect_leaves_no_unretrieved_task(caplog):
    async def main():
        session = LiveSession(FakeWS(fail=True), FakePool(), ServerConfig())
        stream = _stream(None)
        session.stream = stream
        await stream._events.put(Latency(0, 0.1, 0.3))
        session.sender = asyncio.create_task(session.forward(stream))
        await asyncio.sleep(0.05)  # the send fails: the socket is gone
        assert session.sender.done()
        await session.stop(flush=False)

    with caplog.at_level(logging.ERROR, logger="asyncio"):
        asyncio.run(main())
        gc.collect()
    assert "never retrieved" not in caplog.text


def test_sessions_never_share_voice_state(pool):
    """A stage handed back is reset before anyone else gets it."""
    voice = BusyVoice()

    async def main():
        session = LiveSession(FakeWS(), FakePool(), ServerConfig())
        session.stream, session.voice, session.voice_mode = _stream(voice), voice, "preserve"
        await session.stop(flush=False)
        for _ in range(50):
            if session.pool.released:
                break
            await asyncio.sleep(0.02)
        return session.pool.released

    assert asyncio.run(main()) == [voice] and voice.resets == 1
    assert VOICE == "tts"


def test_server_start_fits_the_voice_stage_once_before_serving():
    """The first fit's one-off costs (imports, JIT) hold the GIL ~0.5 s: paid at start-up."""
    from voxlate.server.app import warm_voice_stage

    calls = []

    class Stage(BusyVoice):
        def convert(self, speech, source):
            calls.append((speech.duration, source.sample_rate))
            return speech

    class Synth:
        def synthesize(self, text, language):
            yield Audio.silence(0.0, 22_050)
            yield Audio(np.full(22_050, 0.1, np.float32), 22_050)

    stage = Stage()
    warm_voice_stage(stage, types.SimpleNamespace(synthesizer=Synth(), target="es"))
    assert calls == [(1.0, 16_000)] and stage.resets == 1
