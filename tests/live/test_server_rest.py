"""The OpenAI-compatible REST endpoints and /v1/translate, with real audio and bad input."""

from __future__ import annotations

import base64
import io

import soundfile as sf
from fastapi.testclient import TestClient

from voxlate.server.app import create_app
from voxlate.server.config import ServerConfig

from .conftest import VOICE


def client_for(pool, **kw) -> TestClient:
    kw.setdefault("allow_hosts", ("testserver",))  # TestClient's Host
    return TestClient(create_app(ServerConfig(voice=VOICE, preload=(), **kw), pool))


def upload(path, name="clip.wav", mime="audio/wav"):
    return {"file": (name, path.read_bytes(), mime)}


def test_transcriptions(pool, short_clip):
    with client_for(pool) as c:
        r = c.post(
            "/v1/audio/transcriptions",
            files=upload(short_clip),
            data={"model": "whisper-1", "language": "en"},
        )
        assert r.status_code == 200, r.text
        assert "young man" in r.json()["text"].lower()
        r = c.post(
            "/v1/audio/transcriptions", files=upload(short_clip), data={"response_format": "text"}
        )
        assert r.status_code == 200 and "young man" in r.text.lower()
        r = c.post(
            "/v1/audio/transcriptions",
            files=upload(short_clip),
            data={"response_format": "verbose_json"},
        )
        assert abs(r.json()["duration"] - 2.99) < 0.05


def test_translations_to_english_text(pool, short_clip):
    with client_for(pool) as c:
        r = c.post("/v1/audio/translations", files=upload(short_clip))
        assert r.status_code == 200, r.text
        assert "young man" in r.json()["text"].lower()


def test_speech(pool):
    with client_for(pool) as c:
        r = c.post(
            "/v1/audio/speech",
            json={
                "model": "tts-1",
                "input": "Hola, ¿cómo estás?",
                "voice": "alloy",
                "language": "es",
                "response_format": "wav",
            },
        )
        assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
        x, sr = sf.read(io.BytesIO(r.content))
        assert sr > 8000 and len(x) / sr > 0.5 and abs(x).max() > 0.05
        assert c.post("/v1/audio/speech", json={"input": ""}).status_code == 400
        assert c.post("/v1/audio/speech", content=b"nope").status_code == 415  # no JSON type
        json_type = {"content-type": "application/json"}
        assert c.post("/v1/audio/speech", content=b"nope", headers=json_type).status_code == 400
        r = c.post("/v1/audio/speech", json={"input": "hi", "response_format": "ogg"})
        assert r.status_code == 400 and "response_format" in r.json()["error"]["message"]


def test_translate_file(pool, short_clip):
    with client_for(pool) as c:
        r = c.post(
            "/v1/translate",
            files=upload(short_clip),
            data={"source": "en", "target": "es", "voice": VOICE},
        )
        assert r.status_code == 200, r.text
        body = r.json()
        rep = body["report"]
        assert rep["source_language"] == "en" and rep["target_language"] == "es"
        assert "young man" in rep["segments"][0]["source_text"].lower()
        assert rep["segments"][0]["translation"]
        x, sr = sf.read(io.BytesIO(base64.b64decode(body["audio"]["base64"])))
        assert sr == body["audio"]["sample_rate"] and abs(x).max() > 0.05
        r = c.post(
            "/v1/translate",
            files=upload(short_clip),
            data={"voice": VOICE, "response_format": "wav"},
        )
        assert r.status_code == 200 and r.content[:4] == b"RIFF"


def test_bad_input(pool, short_clip, tmp_path):
    with client_for(pool, max_upload_bytes=200_000) as c:
        r = c.post("/v1/audio/transcriptions", data={"language": "en"})
        assert r.status_code == 400 and "'file'" in r.json()["error"]["message"]
        r = c.post(
            "/v1/audio/transcriptions",
            files={"file": ("notes.txt", b"this is not audio at all" * 40, "text/plain")},
        )
        assert r.status_code == 400 and "not audio" in r.json()["error"]["message"]
        r = c.post("/v1/audio/transcriptions", files={"file": ("empty.wav", b"", "audio/wav")})
        assert r.status_code == 400
        big = tmp_path / "big.wav"
        big.write_bytes(b"\0" * 300_000)
        r = c.post("/v1/audio/transcriptions", files=upload(big))
        assert r.status_code == 413
        r = c.post("/v1/translate", files=upload(short_clip), data={"target": "xx"})
        assert r.status_code == 400 and "xx" in r.json()["error"]["message"]
        r = c.post("/v1/translate", files=upload(short_clip), data={"voice": "/etc/passwd"})
        assert r.status_code == 400 and "voice" in r.json()["error"]["message"]
        silence = tmp_path / "silence.wav"
        sf.write(silence, [0.0] * 16_000, 16_000)
        r = c.post("/v1/translate", files=upload(silence), data={"voice": VOICE})
        assert r.status_code == 422 and "no speech" in r.json()["error"]["message"].lower()


def test_token_auth_on_rest(pool, short_clip):
    with client_for(pool, token="s3cret") as c:
        r = c.post("/v1/audio/transcriptions", files=upload(short_clip))
        assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
        r = c.post(
            "/v1/audio/transcriptions",
            files=upload(short_clip),
            headers={"Authorization": "Bearer wrong"},
        )
        assert r.status_code == 401
        r = c.post(
            "/v1/audio/transcriptions",
            files=upload(short_clip),
            headers={"Authorization": "Bearer s3cret"},
        )
        assert r.status_code == 200
