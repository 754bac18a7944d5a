"""The server against the attacks of issue 22 (hardening, round 2).

Loaded language pairs are bounded and same-language pairs refused (1), speech synthesis
stops when its client leaves and cross-site requests are refused (2), only this server's
Host names are answered (5, DNS rebinding), an empty token is refused at start (11), a
value of the wrong JSON type is a 422 (12), float samples far beyond full scale are refused
alike by REST and the CLI (13), and a slow drip is closed after about a minute.

Host, Origin, content-type and validation tests run the real FastAPI app; the engines are
fakes where real ones would only make the tests slow.
"""

from __future__ import annotations

import asyncio
import gc
import http.client
import json
import socket
import threading
import time
import types
import weakref
from urllib.parse import urlsplit

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from voxlate.audio import Audio, load_audio
from voxlate.errors import InputError
from voxlate.pipeline.engines import EngineSpecs
from voxlate.server import pool as pool_module
from voxlate.server.config import ServerConfig, ServeUsageError
from voxlate.server.guard import GuardMiddleware, host_ok, origin_ok
from voxlate.server.pool import EnginePool, PoolBusy, SameLanguageError, default_max_pairs
from voxlate.server.rest import speech_pieces

from .conftest import VOICE, make_app


@pytest.fixture
def light_pool() -> EnginePool:
    """A pool with nothing loaded: the tests below are answered before any engine loads."""
    return EnginePool(EngineSpecs(voice=VOICE), max_pairs=2)


# -- 1. a bounded set of language pairs; no same-language pair; shared heavy engines ------


class FakeEngines:
    """Stands in for `Engines`: builds its shared kinds (the translator too) through
    `create`, and counts warm-ups."""

    loads: list[tuple[str, str]] = []

    def __init__(self, source, target, parts, translator) -> None:
        self.source, self.target = source, target
        self.parts, self.translator = parts, translator
        self.synthesizer, self.recognizer = parts["tts"], parts["asr"]
        self.enhancer = parts["enhance"]

    @classmethod
    def load(cls, specs, source, target, create):
        cls.loads.append((source, target))
        parts = {
            "vad": create("vad", "silero"),
            "enhance": create("enhance", "deepfilter"),
            "asr": create("asr", f"whisper-{source}"),
            "tts": create("tts", f"tts-{target}"),
        }
        return cls(source, target, parts, create("mt", "llm"))

    def warm_up(self, locks=None) -> None:
        assert locks is not None  # shared engines are warmed up under their locks


@pytest.fixture
def fake_pool(monkeypatch) -> EnginePool:
    built: list[tuple[str, str]] = []

    def create(kind, spec):
        built.append((kind, spec))
        return types.SimpleNamespace(kind=kind, spec=spec)

    monkeypatch.setattr(pool_module, "create_engine", create)
    monkeypatch.setattr(pool_module, "Engines", FakeEngines)
    FakeEngines.loads = []
    p = EnginePool(EngineSpecs(voice=VOICE), max_pairs=2)
    p.built = built  # type: ignore[attr-defined]
    return p


def test_pairs_are_capped_lru_and_a_pair_in_use_is_never_evicted(fake_pool):
    p = fake_pool
    en_es = p.acquire_now("en", "es")
    p.release(en_es)
    en_fr = p.acquire_now("en", "fr")  # held, as by a live session
    gone = weakref.ref(en_es.engines)
    del en_es
    es_en = p.acquire_now("es", "en")  # full: evicts en-es (least recently used, unused)
    assert p.loaded_pairs() == [("en", "fr"), ("es", "en")]
    gc.collect()
    assert gone() is None  # the evicted pair's own objects are freed
    with pytest.raises(PoolBusy, match="all 2 loaded language pairs are in use"):
        p.acquire_now("fr", "en")  # both in use: refused, nothing evicted
    assert p.loaded_pairs() == [("en", "fr"), ("es", "en")]
    assert (en_fr.engines.source, en_fr.engines.target) == ("en", "fr")  # holder unaffected
    p.release(es_en)
    p.release(p.acquire_now("fr", "en"))  # es-en is free now: evicted instead
    assert p.loaded_pairs() == [("en", "fr"), ("fr", "en")]
    # Heavy target-independent engines are shared by spec, with one lock each.
    assert p.built.count(("asr", "whisper-en")) == 1 and p.built.count(("vad", "silero")) == 1
    assert p.built.count(("enhance", "deepfilter")) == 1
    # One translator for every pair: with --mt llm, one LLM worker, not one per pair.
    assert p.built.count(("mt", "llm")) == 1
    assert en_fr.engines.translator is es_en.engines.translator
    assert p.shared("mt", "llm")[1] is en_fr.locks.mt is es_en.locks.mt
    again = p.acquire_now("en", "fr")
    assert again is en_fr and FakeEngines.loads.count(("en", "fr")) == 1  # a hit, no reload
    assert p.shared("asr", "whisper-en")[1] is en_fr.locks.asr


def test_same_language_pair_is_refused_before_anything_loads(fake_pool):
    with pytest.raises(SameLanguageError, match="both 'fr'"):
        fake_pool.acquire_now("fr", "fr")
    assert FakeEngines.loads == [] and fake_pool.built == []


def test_same_language_refused_by_websocket_and_rest(light_pool, librivox):
    with TestClient(make_app(light_pool)) as c:
        with c.websocket_connect("/v1/live") as ws:
            assert ws.receive_json()["type"] == "ready"
            ws.send_text(json.dumps({"type": "start", "source": "fr", "target": "fr"}))
            ev = ws.receive_json()
            assert ev["type"] == "error" and "two different languages" in ev["message"]
            with pytest.raises(WebSocketDisconnect) as e:
                ws.receive_json()
            assert e.value.code == 1008
        clip = librivox[1][0]
        files = {"file": ("clip.wav", clip.read_bytes(), "audio/wav")}
        r = c.post("/v1/translate", files=files, data={"source": "de", "target": "de",
                                                       "voice": "tts"})  # fmt: skip
        assert r.status_code == 400 and "two different languages" in r.json()["error"]["message"]
    assert light_pool.loaded_pairs() == []


def test_default_max_pairs_follows_the_machine():
    gib = 2**30
    assert default_max_pairs(16 * gib) == 8
    assert default_max_pairs(2 * gib) == 2 and default_max_pairs(1024 * gib) == 16
    assert 2 <= default_max_pairs() <= 16


# -- 2. speech: cancellable, capped per engine, no cross-site requests ------------------


class SlowSynth:
    """A synthesizer that takes `seconds` per call, like Kokoro on a long text."""

    name = "slow"

    def __init__(self, seconds: float = 0.25) -> None:
        self.seconds = seconds
        self.spoken = 0  # sentences synthesised

    def languages(self):
        return {"en", "es"}

    def synthesize(self, text, language):
        for _ in range(max(1, text.count("."))):  # a chunk per sentence, as the engines do
            time.sleep(self.seconds)
            self.spoken += 1
            yield Audio(np.full(2400, 0.1, np.float32), 24_000)


def test_speech_stops_at_the_next_sentence_when_its_client_leaves():
    """Issue 22: a long request whose client left held the engine 187 s for the next one."""
    from live.conftest import serving

    synth = SlowSynth()
    p = EnginePool(EngineSpecs(voice=VOICE, tts="slow"))
    p._shared[("tts", "slow")] = (synth, threading.Lock())
    text = " ".join(f"Sentence number {i} is here." for i in range(60))  # 60 x 0.25 s = 15 s
    with serving(make_app(p, allow_hosts=())) as url:
        port = urlsplit(url).port
        body = json.dumps({"input": text, "response_format": "pcm"}).encode()
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"POST /v1/audio/speech HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      b"Content-Type: application/json\r\n"
                      + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)  # fmt: skip
            time.sleep(1.0)  # the client leaves after about 4 sentences
        t0 = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        short = json.dumps({"input": "Hi.", "response_format": "pcm"})
        conn.request("POST", "/v1/audio/speech", short, {"Content-Type": "application/json"})
        r = conn.getresponse()
        wait = time.perf_counter() - t0
        assert r.status == 200 and r.read()
    assert wait < 2.0, wait  # at most a sentence or two of the old request, not 14 s
    assert synth.spoken < 20, synth.spoken  # it stopped; it did not run to the end


def test_speech_pieces_cut_at_sentences_then_clauses_then_words():
    assert speech_pieces("One. Two! Three?") == ["One.", "Two!", "Three?"]
    long = ", ".join(["word " * 30] * 4)
    assert all(len(x) <= 300 for x in speech_pieces(long)) and len(speech_pieces(long)) >= 2
    assert speech_pieces("これは一。これは二。") == ["これは一。", "これは二。"]
    words = "a " * 1000
    assert all(len(x) <= 300 for x in speech_pieces(words))


def test_speech_input_is_capped_by_engine_and_says_the_cap(light_pool):
    with TestClient(make_app(light_pool)) as c:
        r = c.post("/v1/audio/speech",
                   json={"input": "a" * 2001, "voice": "jf_alpha", "language": "ja"})  # fmt: skip
        assert r.status_code == 400 and "2000 characters" in r.json()["error"]["message"]
        r = c.post("/v1/audio/speech", json={"input": "a" * 4097, "voice": "espeak-ng"})
        assert r.status_code == 400 and "4096 characters" in r.json()["error"]["message"]


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
     "text/plain; charset=utf-8", None],
)  # fmt: skip
def test_json_endpoint_refuses_cors_simple_content_types(light_pool, content_type):
    """A cross-site page may POST these without a CORS preflight (issue 22: 200 before)."""
    headers = {} if content_type is None else {"content-type": content_type}
    with TestClient(make_app(light_pool)) as c:
        r = c.post("/v1/audio/speech", content=b'{"input": ""}', headers=headers)
    assert r.status_code == 415 and "application/json" in r.json()["error"]["message"]


def test_state_changing_requests_need_the_served_origin(light_pool):
    with TestClient(make_app(light_pool, allow_origins=("https://app.example",))) as c:
        empty = {"input": ""}  # refused by the route (400) once past the Origin check
        for origin in ("https://evil.example", "null", "https://testserver",
                       "http://testserver:8080", "http://testserver.evil.example"):  # fmt: skip
            r = c.post("/v1/audio/speech", json=empty, headers={"Origin": origin})
            assert r.status_code == 403, origin
            r = c.post("/v1/translate", headers={"Origin": origin})
            assert r.status_code == 403, origin
        for origin in ("http://testserver", "http://testserver:80", "https://app.example:443"):
            r = c.post("/v1/audio/speech", json=empty, headers={"Origin": origin})
            assert r.status_code == 400, origin
        assert c.post("/v1/audio/speech", json=empty).status_code == 400  # no Origin: no browser
        assert c.get("/v1/models", headers={"Origin": "https://evil.example"}).status_code == 200


# -- 5. Host allow-list (DNS rebinding); exact Origin ------------------------------------


def test_foreign_host_is_refused_on_http_and_websocket(light_pool):
    with TestClient(make_app(light_pool, allow_hosts=("voxlate.lan",))) as c:
        for host in ("evil.example:8765", "evil.example", "localhost.evil.example", "",
                     "127.0.0.1.nip.io:8000", "bad host"):  # fmt: skip
            r = c.get("/v1/models", headers={"Host": host})
            assert r.status_code == 400, host
            assert "Host" in r.json()["error"]["message"]
        for host in ("localhost:8765", "127.0.0.1", "[::1]:8000", "voxlate.lan:80", "LOCALHOST"):
            assert c.get("/v1/models", headers={"Host": host}).status_code == 200, host
        evil = {"Host": "evil.example:8765", "Origin": "http://evil.example:8765"}
        with pytest.raises(WebSocketDisconnect), c.websocket_connect("/v1/live", headers=evil):
            pass


def test_rebinding_websocket_handshake_is_refused_by_a_real_server(light_pool):
    """The issue's raw handshake (Host and Origin both evil.example:8765) got 101 and ready."""
    from live.conftest import serving

    with serving(make_app(light_pool, allow_hosts=())) as url:
        port = urlsplit(url).port

        def handshake(host: str, origin: str) -> bytes:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(
                    f"GET /v1/live HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\n"
                    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    "Sec-WebSocket-Version: 13\r\n\r\n".encode()
                )
                return s.recv(200)

        refused = handshake("evil.example:8765", "http://evil.example:8765")
        assert refused.startswith(b"HTTP/1.1 403"), refused
        ok = handshake(f"127.0.0.1:{port}", f"http://127.0.0.1:{port}")
        assert ok.startswith(b"HTTP/1.1 101"), ok


def test_websocket_origin_compares_scheme_host_and_port(light_pool):
    with TestClient(make_app(light_pool, allow_origins=("https://app.example",))) as c:
        for origin in ("https://testserver", "http://testserver:8000", "http://app.example",
                       "https://app.example:8443", "null"):  # fmt: skip
            with (
                pytest.raises(WebSocketDisconnect) as e,
                c.websocket_connect("/v1/live", headers={"Origin": origin}) as ws,
            ):
                ws.receive_json()
            assert e.value.code == 1008, origin
        for origin in ("http://testserver", "https://app.example", "https://APP.example:443/"):
            with c.websocket_connect("/v1/live", headers={"Origin": origin}) as ws:
                assert ws.receive_json()["type"] == "ready"


def test_host_rule_for_bound_addresses():
    lan = ServerConfig(bind_host="192.168.1.5", allow_hosts=("my-box",))
    assert host_ok("192.168.1.5:8000", lan) and host_ok("my-box", lan)
    assert not host_ok("10.0.0.2:8000", lan) and not host_ok("evil.example", lan)
    anywhere = ServerConfig(bind_host="0.0.0.0")
    assert host_ok("10.0.0.2:8000", anywhere) and host_ok("[fe80::1]:8000", anywhere)
    assert not host_ok("evil.example:8000", anywhere)  # a name needs --allow-host
    assert host_ok("evil.example", ServerConfig(allow_hosts=("*",)))
    scope = {"scheme": "http"}
    assert origin_ok(scope, {"host": "localhost:8000", "origin": "http://localhost:8000"}, ())
    assert not origin_ok(scope, {"host": "localhost:8000", "origin": "http://localhost"}, ())


# -- 8 / 11, 12, 13: empty token, typed validation, samples far beyond full scale --------


def test_empty_token_is_refused_at_start(monkeypatch, capsys):
    from voxlate.cli import main

    for argv, env in ((["serve", "--token", ""], None), (["serve", "--token", "  "], None),
                      (["serve"], "")):  # fmt: skip
        if env is None:
            monkeypatch.delenv("VOXLATE_TOKEN", raising=False)
        else:
            monkeypatch.setenv("VOXLATE_TOKEN", env)
        t0 = time.perf_counter()
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 2 and time.perf_counter() - t0 < 5  # before loading anything
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: The token is empty") and "\n" not in err, err
    with pytest.raises(ServeUsageError):
        ServerConfig(token="")


def test_wrong_json_types_give_422_never_500(light_pool):
    with TestClient(make_app(light_pool), raise_server_exceptions=False) as c:
        for field, value in (("response_format", ["mp3"]), ("response_format", {"a": 1}),
                             ("input", ["hi"]), ("speed", [1]), ("speed", True),
                             ("voice", ["alloy"]), ("language", 5)):  # fmt: skip
            body = {"input": "hi", field: value}
            r = c.post("/v1/audio/speech", json=body)
            assert r.status_code == 422, (field, value, r.text)
            error = r.json()["error"]
            assert field in error["message"] and error["code"] == 422


@pytest.fixture(scope="module")
def loud_wav(tmp_path_factory, librivox):
    """Real speech scaled by 1e20, as 32-bit float WAV (the issue's attack)."""
    speech = load_audio(librivox[1][0], 16_000).samples
    path = tmp_path_factory.mktemp("loud") / "loud.wav"
    sf.write(path, speech * np.float32(1e20), 16_000, subtype="FLOAT")
    return path


def test_samples_far_beyond_full_scale_refused_alike_by_rest_and_cli(light_pool, loud_wav,
                                                                     tmp_path, capsys):  # fmt: skip
    with pytest.raises(InputError, match="far beyond full scale"):
        load_audio(loud_wav, 16_000)
    with TestClient(make_app(light_pool)) as c:
        files = {"file": ("loud.wav", loud_wav.read_bytes(), "audio/wav")}
        r = c.post("/v1/audio/transcriptions", files=files)
    assert r.status_code == 400 and "far beyond full scale" in r.json()["error"]["message"]
    from voxlate.cli import main

    with pytest.raises(SystemExit) as e:
        main(["transcribe", str(loud_wav), "-l", "en", "-o", str(tmp_path / "t.txt")])
    assert e.value.code != 0 and "far beyond full scale" in capsys.readouterr().err
    # Headroom past ±1 (a float file after processing) is kept as it is, up to a peak of 16.
    ok = tmp_path / "hot.wav"
    sf.write(ok, np.full(1600, 1.5, np.float32), 16_000, subtype="FLOAT")
    assert load_audio(ok, 16_000).samples.max() == pytest.approx(1.5, abs=0.01)
    sf.write(ok, np.full(1600, 20.0, np.float32), 16_000, subtype="FLOAT")
    with pytest.raises(InputError, match="peak 20, at most 16 accepted"):
        load_audio(ok, 16_000)


# -- also noted: a slow drip is closed after about a minute, not 600 s -------------------


def test_slow_drip_is_closed_by_the_least_rate():
    async def never(scope, receive, send):
        raise AssertionError("reached the route")

    cfg = ServerConfig(body_timeout_s=30, request_timeout_s=600, body_grace_s=0.5,
                       min_body_rate=1000)  # fmt: skip
    guard = GuardMiddleware(never, cfg)
    out: list[dict] = []

    async def main():
        async def receive():  # one byte every 0.1 s: never stalls for 30 s
            await asyncio.sleep(0.1)
            return {"type": "http.request", "body": b"x", "more_body": True}

        async def send(m):
            out.append(m)

        scope = {"type": "http", "path": "/v1/x", "method": "POST",
                 "headers": [(b"host", b"localhost")], "query_string": b""}  # fmt: skip
        await asyncio.wait_for(guard(scope, receive, send), 10)

    t0 = time.perf_counter()
    asyncio.run(main())
    assert out[0]["status"] == 408 and time.perf_counter() - t0 < 2
