"""The live WebSocket: a real recording streamed in real time, protocol errors, limits, token."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from voxlate.audio import Audio
from voxlate.server.app import create_app
from voxlate.server.config import ServerConfig

from .conftest import VOICE


def make_client(pool, **kw) -> TestClient:
    kw.setdefault("allow_hosts", ("testserver",))  # TestClient's Host
    return TestClient(create_app(ServerConfig(voice=VOICE, preload=(), **kw), pool))


def receive_until(
    ws, kind: str, limit: int = 10_000
) -> tuple[list[dict], list[tuple[dict, bytes]]]:
    """Events (JSON) and (audio event, PCM) pairs received until an event of type `kind`."""
    events, audio = [], []
    for _ in range(limit):
        msg = ws.receive()
        if msg.get("text") is not None:
            ev = json.loads(msg["text"])
            events.append(ev)
            if ev["type"] == kind:
                return events, audio
        elif msg.get("bytes") is not None:
            assert events and events[-1]["type"] == "audio", "binary frame without an audio event"
            audio.append((events[-1], msg["bytes"]))
        else:
            raise AssertionError(f"connection ended: {msg}")
    raise AssertionError(f"no '{kind}' event")


def stream_pcm(ws, audio: Audio, frame_s: float = 0.02, realtime: bool = True) -> None:
    pcm = audio.to_pcm16()
    n = int(frame_s * audio.sample_rate) * 2
    t0 = time.perf_counter()
    for k, i in enumerate(range(0, len(pcm), n)):
        ws.send_bytes(pcm[i : i + n])
        if realtime:
            time.sleep(max(0.0, t0 + (k + 1) * frame_s - time.perf_counter()))


def test_stream_recording_in_real_time(pool, two_clips):
    with make_client(pool) as client, client.websocket_connect("/v1/live") as ws:
        assert ws.receive_json()["type"] == "ready"
        ws.send_text(
            json.dumps(
                {
                    "type": "start",
                    "source": "en",
                    "target": "es",
                    "voice": VOICE,
                    "sample_rate": 16000,
                }
            )
        )
        started = ws.receive_json()
        assert started["type"] == "started" and started["engines"]["asr"]
        stream_pcm(ws, two_clips)
        ws.send_text(json.dumps({"type": "stop"}))
        events, audio = receive_until(ws, "stopped")
    kinds = [e["type"] for e in events]
    for k in ("speech_started", "speech_ended", "transcript", "translation", "audio", "latency"):
        assert k in kinds, kinds
    assert kinds.count("transcript") == 2 and kinds.count("latency") == 2
    transcripts = [e["text"].lower() for e in events if e["type"] == "transcript"]
    assert "young man" in transcripts[0] and "amiable" in transcripts[1]
    # Every audio event is followed by its PCM, of the announced length.
    assert len(audio) == kinds.count("audio") and audio
    for ev, pcm in audio:
        assert len(pcm) == 2 * ev["samples"] and ev["sample_rate"] > 8000
    lat = [e for e in events if e["type"] == "latency"]
    assert all(e["first_audio"] is not None and e["first_audio"] > 0 for e in lat)
    assert [e["voice"] for e in lat] == ["tts", "tts"]  # which voice spoke it (no stage here)
    # Per utterance: transcript before translation before audio before latency.
    for i in (0, 1):
        seq = [k for e, k in zip(events, kinds) if e.get("index") == i]
        firsts = [
            seq.index(k)
            for k in (
                "speech_started",
                "speech_ended",
                "transcript",
                "translation",
                "audio",
                "latency",
            )
        ]
        assert firsts == sorted(firsts), seq


def test_malformed_messages_get_error_events(pool):
    with (
        make_client(pool, max_frame_bytes=1000) as client,
        client.websocket_connect("/v1/live") as ws,
    ):
        assert ws.receive_json()["type"] == "ready"
        ws.send_text("not json")
        assert ws.receive_json()["type"] == "error"
        ws.send_text(json.dumps([1, 2]))
        assert ws.receive_json()["type"] == "error"
        ws.send_text(json.dumps({"type": "dance"}))
        assert "unknown" in ws.receive_json()["message"]
        ws.send_bytes(b"\0\0" * 10)
        assert "before 'start'" in ws.receive_json()["message"]
        ws.send_text(json.dumps({"type": "stop"}))
        assert ws.receive_json()["type"] == "error"
        ws.send_text(json.dumps({"type": "start", "sample_rate": "fast"}))
        assert "sample_rate" in ws.receive_json()["message"]
        ws.send_text(json.dumps({"type": "start", "source": "en", "target": "xx", "voice": VOICE}))
        assert ws.receive_json()["type"] == "error"
        ws.send_text(json.dumps({"type": "start", "voice": VOICE}))
        assert ws.receive_json()["type"] == "started"
        ws.send_bytes(b"\0" * 2000)
        assert "over the limit" in ws.receive_json()["message"]
        ws.send_bytes(b"\0" * 3)
        assert "odd" in ws.receive_json()["message"]
        ws.send_text(json.dumps({"type": "ping"}))
        assert ws.receive_json()["type"] == "pong"  # still serving


def test_token_required(pool):
    with make_client(pool, token="s3cret") as client:
        with pytest.raises(WebSocketDisconnect) as e, client.websocket_connect("/v1/live") as ws:
            ws.receive_json()
        assert e.value.code == 1008
        with (
            client.websocket_connect("/v1/live?token=wrong") as ws,
            pytest.raises(WebSocketDisconnect),
        ):
            ws.receive_json()
        with client.websocket_connect("/v1/live?token=s3cret") as ws:
            assert ws.receive_json()["type"] == "ready"
        headers = {"Authorization": "Bearer s3cret"}
        with client.websocket_connect("/v1/live", headers=headers) as ws:
            assert ws.receive_json()["type"] == "ready"
        assert client.get("/").status_code == 200  # the page itself is public


def test_client_limit_and_idle_timeout(pool):
    with make_client(pool, max_clients=1, idle_timeout_s=1.0) as client:
        with client.websocket_connect("/v1/live") as first:
            assert first.receive_json()["type"] == "ready"
            with client.websocket_connect("/v1/live") as second:
                ev = second.receive_json()
                assert ev["type"] == "error" and "busy" in ev["message"]
            ev = first.receive_json()  # nothing sent for 1 s
            assert ev["type"] == "error" and "idle" in ev["message"]
        with client.websocket_connect("/v1/live") as again:  # the slot is free again
            assert again.receive_json()["type"] == "ready"


def test_page_and_static_files(pool):
    with make_client(pool) as client:
        page = client.get("/")
        assert page.status_code == 200 and "app.js" in page.text
        assert "http" not in page.text.replace("http-equiv", "")  # no external resources
        js = client.get("/static/app.js")
        assert js.status_code == 200 and "/v1/live" in js.text


def test_two_clients_at_once_keep_their_own_state(pool, librivox):
    """Two sessions stream different sentences concurrently; each hears only its own."""
    import threading

    from .conftest import with_pauses

    clips = {"a": with_pauses([librivox[1][0]]), "b": with_pauses([librivox[4][0]])}
    results: dict[str, list[dict]] = {}
    errors: list[BaseException] = []

    def session(client, name: str) -> None:
        try:
            with client.websocket_connect("/v1/live") as ws:
                assert ws.receive_json()["type"] == "ready"
                ws.send_text(json.dumps({"type": "start", "voice": VOICE}))
                assert ws.receive_json()["type"] == "started"
                stream_pcm(ws, clips[name])
                ws.send_text(json.dumps({"type": "stop"}))
                results[name], _ = receive_until(ws, "stopped")
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    with make_client(pool) as client:
        threads = [threading.Thread(target=session, args=(client, n)) for n in clips]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    assert not errors, errors
    heard = {
        n: " ".join(e["text"].lower() for e in evs if e["type"] == "transcript")
        for n, evs in results.items()
    }
    assert "young man" in heard["a"] and "amiable" not in heard["a"], heard
    assert "amiable" in heard["b"] and "young man" not in heard["b"], heard
    for evs in results.values():
        assert [e["index"] for e in evs if e["type"] == "transcript"] == [0]
