"""Server limits and error hygiene (issue 15): bodies, timeouts, time box, docs, errors."""

from __future__ import annotations

import asyncio
import re
import threading
import time

import pytest
from fastapi.testclient import TestClient

from voxlate.server.config import ServerConfig
from voxlate.server.guard import Checked, Deadline, GuardMiddleware, RequestCancelled
from voxlate.server.rest import redact_paths

from .conftest import make_app


def upload(path, name="clip.wav"):
    return {"file": (name, path.read_bytes(), "audio/wav")}


def test_upload_cannot_read_server_files(pool, hls_playlist):
    with TestClient(make_app(pool)) as c:
        for route in ("/v1/audio/transcriptions", "/v1/translate"):
            r = c.post(route, files=upload(hls_playlist, "x.wav"), data={"voice": "tts"})
            assert r.status_code == 400, r.text
            assert "young" not in r.text.lower() and "not a supported audio format" in r.text


def test_flac_bomb_and_nan_upload_refused_fast(pool, flac_bomb, nan_wav):
    with TestClient(make_app(pool, max_audio_minutes=30)) as c:
        for path in (flac_bomb, nan_wav):
            t0 = time.perf_counter()
            r = c.post("/v1/audio/transcriptions", files=upload(path, path.name))
            assert r.status_code == 400, r.text
            assert time.perf_counter() - t0 < 5
        assert (
            "30 minutes"
            in c.post("/v1/audio/transcriptions", files=upload(flac_bomb, "b.flac")).json()[
                "error"
            ]["message"]
        )


def _asgi_call(app, messages, timeout=5.0, headers=()):
    """Run an ASGI app once; `messages` is what the client sends (a list, or a function
    giving the next message); returns the messages the app sent back."""
    out: list[dict] = []

    async def main():
        queue = list(messages) if isinstance(messages, list) else None

        async def receive():
            if queue is None:
                return messages()
            if queue:
                return queue.pop(0)
            await asyncio.sleep(3600)  # the client sends nothing more

        async def send(m):
            out.append(m)

        scope = {"type": "http", "path": "/v1/x", "method": "POST",
                 "headers": [(b"host", b"127.0.0.1:8000"), *headers],
                 "query_string": b""}  # fmt: skip
        await asyncio.wait_for(app(scope, receive, send), timeout)

    asyncio.run(main())
    return out


def test_chunked_and_plain_bodies_capped_before_the_route(pool):
    """The body is counted as it arrives (TestClient would buffer it, so ASGI directly)."""
    read = {"n": 0}

    async def route(scope, receive, send):
        raise AssertionError("reached the route")

    guard = GuardMiddleware(route, ServerConfig(max_upload_bytes=1 << 20))

    def chunk():
        read["n"] += 1  # 10,000 chunks of 64 KiB (640 MB) are on offer
        return {"type": "http.request", "body": b"x" * 65_536, "more_body": read["n"] < 10_000}

    out = _asgi_call(guard, chunk)
    assert out[0]["status"] == 413 and b"request body" in out[1]["body"]
    assert read["n"] * 65_536 < 2 << 20  # refused after about 1 MiB, not after 640 MB
    # A Content-Length over the limit is refused before any byte is read.
    read["n"] = 0
    headers = [(b"content-length", b"600000000")]
    out = _asgi_call(guard, chunk, headers=headers)
    assert out[0]["status"] == 413 and read["n"] == 0


def test_stalled_body_gets_408():
    async def never(scope, receive, send):  # the route must not run
        raise AssertionError("reached the route")

    guard = GuardMiddleware(never, ServerConfig(body_timeout_s=0.2))
    out = _asgi_call(guard, [{"type": "http.request", "body": b"{", "more_body": True}])
    assert out[0]["status"] == 408


def test_slow_drip_body_gets_408():
    async def never(scope, receive, send):
        raise AssertionError("reached the route")

    guard = GuardMiddleware(never, ServerConfig(body_timeout_s=0.3, request_timeout_s=0.6))
    out: list[dict] = []

    async def main():
        async def receive():  # one byte every 0.1 s, forever
            await asyncio.sleep(0.1)
            return {"type": "http.request", "body": b"x", "more_body": True}

        async def send(m):
            out.append(m)

        scope = {"type": "http", "path": "/v1/x", "method": "POST",
                 "headers": [(b"host", b"localhost:8000")], "query_string": b""}  # fmt: skip
        await asyncio.wait_for(guard(scope, receive, send), 5)

    t0 = time.perf_counter()
    asyncio.run(main())
    assert out[0]["status"] == 408 and time.perf_counter() - t0 < 3


def test_request_time_box_cancels_the_route():
    state = {}

    async def slow(scope, receive, send):
        state["deadline"] = scope["voxlate.deadline"]
        await asyncio.sleep(30)

    guard = GuardMiddleware(slow, ServerConfig(request_timeout_s=0.3))
    t0 = time.perf_counter()
    out = _asgi_call(guard, [{"type": "http.request", "body": b"", "more_body": False}])
    assert out[0]["status"] == 503 and time.perf_counter() - t0 < 3
    assert state["deadline"].cancelled


def test_disconnect_cancels_the_route():
    state = {"cancelled": False}

    async def slow(scope, receive, send):
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            state["cancelled"] = True
            raise

    guard = GuardMiddleware(slow, ServerConfig(request_timeout_s=60))
    msgs = [{"type": "http.request", "body": b"", "more_body": False}, {"type": "http.disconnect"}]
    out = _asgi_call(guard, msgs)
    assert state["cancelled"] and out == []


def test_cancelled_request_releases_the_engine_lock():
    """A worker thread stops at its next engine call once the request is cancelled."""
    lock = threading.Lock()

    class SlowEngine:
        def work(self):
            time.sleep(0.2)

    deadline = Deadline(60)
    engine = Checked(SlowEngine(), deadline, lock)
    calls = {"n": 0}

    def worker():
        try:
            while True:
                engine.work()
                calls["n"] += 1
        except RequestCancelled:
            pass

    t = threading.Thread(target=worker)
    t.start()
    time.sleep(0.3)
    deadline.cancel()
    t.join(timeout=2)
    assert not t.is_alive() and not lock.locked() and calls["n"] <= 3


def test_docs_and_schema_need_the_token_and_no_cdn(pool):
    with TestClient(make_app(pool, token="s3cret")) as c:
        assert c.get("/docs").status_code == 401
        assert c.get("/openapi.json").status_code == 401
        auth = {"Authorization": "Bearer s3cret"}
        r = c.get("/docs", headers=auth)
        assert r.status_code == 200 and "/v1/audio/speech" in r.text
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", r.text)
        assert c.get("/openapi.json", headers=auth).json()["paths"]


def test_malformed_headers_and_bodies_never_give_500(pool):
    with TestClient(make_app(pool, token="s3cret"), raise_server_exceptions=False) as c:
        r = c.get("/v1/health", headers={"Authorization": b"Bearer \xff\xfe"})
        assert r.status_code == 401
        r = c.get("/v1/health", headers={"X-Odd": b"\xc3\x28\xa0"}, params={"token": "s3cret"})
        assert r.status_code == 200
    with TestClient(make_app(pool), raise_server_exceptions=False) as c:
        bodies = (b"\xff\xfe{", b'{"input": "\\ud800"', b"[1, 2", b"null",
                  b'{"input": "\\ud800 hi"}')  # fmt: skip
        wrong_types = (b'{"input": 5}', b'{"input": "hi", "language": {"x": 1}}',
                       b'{"input": "hi", "speed": "fast"}', b'{"input": "hi", "voice": 3}')  # fmt: skip
        for body, status in [*((b, 400) for b in bodies), *((b, 422) for b in wrong_types)]:
            r = c.post(
                "/v1/audio/speech", content=body, headers={"content-type": "application/json"}
            )
            assert r.status_code == status, (body, r.text)
        r = c.post("/v1/audio/transcriptions", content=b"--x\r\nbroken", headers={
            "content-type": "multipart/form-data; boundary=x"})  # fmt: skip
        assert r.status_code == 400


def test_errors_name_no_server_path(pool, tmp_path):
    bad = tmp_path / "notes.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" * 50)
    with TestClient(make_app(pool)) as c:
        r = c.post("/v1/audio/transcriptions", files=upload(bad, "notes.wav"))
        assert r.status_code == 400
        msg = r.json()["error"]["message"]
        assert "/tmp" not in msg and str(tmp_path) not in msg and "the uploaded file" in msg
    assert redact_paths("Checkpoint not found: /srv/models/x.pt (see /a/b)") == (
        "Checkpoint not found: <path> (see <path>)"
    )


@pytest.mark.slow
def test_serve_ctrl_c_prints_and_exits_cleanly(tmp_path):
    import os
    import signal
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "voxlate", "serve", "--port", str(port), "--voice", "tts"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
                assert proc.poll() is None, proc.stderr.read().decode()
        # A half-sent request head is closed by the header timeout, not held open.
        t0 = time.monotonic()
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n")
            s.settimeout(30)
            assert s.recv(100) == b""
        assert time.monotonic() - t0 < 20
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = err.decode()
    assert proc.returncode == 0, text
    assert "server stopped" in text and "Traceback" not in text
    assert "never retrieved" not in text
