"""The server loses nothing when the LLM's worker dies (issue 21): a WebSocket session and a
REST request whose worker kills itself with SIGSEGV (VOXLATE_LLM_FAULT=segv:N, as a crash in
llama.cpp's native code would) complete with Apertium's translations and say so."""

from __future__ import annotations

import json
import shutil
from importlib.util import find_spec

import pytest

from .conftest import with_pauses
from .test_server_ws import receive_until, stream_pcm

if find_spec("llama_cpp") is None or shutil.which("apertium") is None:
    pytest.skip("needs the [llm] extra and apertium", allow_module_level=True)

pytestmark = pytest.mark.slow


@pytest.fixture
def crashing_pool(monkeypatch, llm_model):
    """A server engine pool for en->es whose LLM worker dies at its second call (the
    first is the warm-up)."""
    from voxlate.pipeline.engines import EngineSpecs
    from voxlate.server.pool import EnginePool

    monkeypatch.setenv("VOXLATE_LLM_FAULT", "segv:2")
    pool = EnginePool(EngineSpecs(voice="tts", live=True, mt="llm"))
    pool.load_now("en", "es")
    yield pool
    from voxlate.engines.mt.llm import close_all

    close_all()


def test_websocket_session_goes_on_after_a_segfault(crashing_pool, librivox):
    from fastapi.testclient import TestClient

    from voxlate.server.app import create_app
    from voxlate.server.config import ServerConfig

    audio = with_pauses([librivox[1][0], librivox[4][0]])
    app = create_app(
        ServerConfig(voice="tts", preload=(), allow_hosts=("testserver",)), crashing_pool
    )
    with TestClient(app) as client, client.websocket_connect("/v1/live") as ws:
        assert ws.receive_json()["type"] == "ready"
        ws.send_text(json.dumps({"type": "start", "source": "en", "target": "es", "voice": "tts"}))
        assert ws.receive_json()["type"] == "started"
        stream_pcm(ws, audio, realtime=False)
        ws.send_text(json.dumps({"type": "stop"}))
        events, pcm = receive_until(ws, "stopped")
    translations = [e["text"] for e in events if e["type"] == "translation"]
    assert len(translations) == 2 and all(translations), translations
    assert pcm, "no audio"
    warnings = events[-1]["warnings"]
    # each utterance once, and a speculative translation in the end-of-speech silence may
    # add one; all under one cause
    (key, count), *rest = warnings.items()
    assert not rest and "SIGSEGV" in key and count >= 2, warnings


def test_rest_request_goes_on_after_a_segfault(crashing_pool, librivox):
    from fastapi.testclient import TestClient

    from voxlate.server.app import create_app
    from voxlate.server.config import ServerConfig

    app = create_app(
        ServerConfig(voice="tts", preload=(), allow_hosts=("testserver",)), crashing_pool
    )
    with TestClient(app) as client, open(librivox[1][0], "rb") as f:
        r = client.post(
            "/v1/translate",
            files={"file": ("clip.wav", f, "audio/wav")},
            data={"source": "en", "target": "es", "voice": "tts"},
        )
    assert r.status_code == 200, r.text
    rep = r.json()["report"]
    assert [s["mt_engine"] for s in rep["segments"]] == ["apertium"]
    assert rep["segments"][0]["translation"]
    assert any("SIGSEGV" in k for k in rep["warnings"]), rep["warnings"]
