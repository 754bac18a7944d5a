"""The `openai:URL#MODEL` engine against a tiny fake endpoint in the test: request shape,
retries on 5xx, no retry on 4xx, timeouts; and against a real llama.cpp server (slow)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from voxlate.engines.mt import REGISTRY
from voxlate.engines.mt.guard import GuardedTranslator
from voxlate.engines.mt.openai_chat import EndpointConfig, OpenAIChatTranslator
from voxlate.errors import EngineError, InputError


class FakeEndpoint:
    """An OpenAI-style server that answers from a script: each entry is (status, reply
    text or None, delay s); the last entry repeats."""

    def __init__(self, script: list[tuple[int, str | None, float]]) -> None:
        self.script = script
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep the test output clean
                pass

            def do_GET(self):
                self._send(200, {"object": "list", "data": [{"id": "fake-model"}]})

            def do_POST(self):
                n = int(self.headers.get("Content-Length", 0))
                outer.requests.append(json.loads(self.rfile.read(n)))
                status, text, delay = outer.script[min(len(outer.requests), len(outer.script)) - 1]
                time.sleep(delay)
                if status != 200:
                    self._send(status, {"error": {"message": "scripted failure"}})
                else:
                    self._send(
                        200, {"choices": [{"message": {"role": "assistant", "content": text}}]}
                    )

            def _send(self, status, body):
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeEndpoint:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


FAST = EndpointConfig(timeout_s=0.5, retries=2, backoff_s=0.01)


def test_sends_the_prompt_and_reads_the_reply():
    with FakeEndpoint([(200, "La casa es grande.", 0.0)]) as ep:
        t = OpenAIChatTranslator(ep.url, config=FAST)
        assert t.translate("The house is big.", "en", "es") == "La casa es grande."
        assert t.model == "fake-model"  # asked of the server: no #MODEL given
        body = ep.requests[0]
        assert body["model"] == "fake-model" and body["temperature"] == 0.0
        assert body["messages"][0]["role"] == "system"
        assert body["messages"][-1] == {"role": "user", "content": "The house is big."}
        assert 16 < body["max_tokens"] < 64
        t.translate("It is red.", "en", "es")
        # the second request carries the first sentence and its translation as context
        assert {"role": "assistant", "content": "La casa es grande."} in ep.requests[1]["messages"]


def test_retries_server_errors_then_succeeds():
    with FakeEndpoint([(503, None, 0.0), (500, None, 0.0), (200, "Hola.", 0.0)]) as ep:
        t = OpenAIChatTranslator(ep.url, "m", config=FAST)
        assert t.translate("Hello.", "en", "es") == "Hola."
        assert len(ep.requests) == 3


def test_gives_up_after_the_retries_with_one_clear_error():
    with FakeEndpoint([(503, None, 0.0)]) as ep:
        t = OpenAIChatTranslator(ep.url, "m", config=FAST)
        with pytest.raises(EngineError, match="3 attempt"):
            t.translate("Hello.", "en", "es")
        assert len(ep.requests) == 3


def test_does_not_retry_a_client_error():
    with FakeEndpoint([(400, None, 0.0)]) as ep:
        t = OpenAIChatTranslator(ep.url, "m", config=FAST)
        with pytest.raises(EngineError, match="HTTP 400"):
            t.translate("Hello.", "en", "es")
        assert len(ep.requests) == 1


def test_times_out_a_slow_server_and_retries():
    with FakeEndpoint([(200, "Tarde.", 2.0), (200, "Hola.", 0.0)]) as ep:
        t = OpenAIChatTranslator(ep.url, "m", config=FAST)
        t0 = time.perf_counter()
        assert t.translate("Hello.", "en", "es") == "Hola."
        assert time.perf_counter() - t0 < 1.9  # did not wait for the slow answer
        assert len(ep.requests) == 2


def test_unreachable_endpoint_and_bad_spec_are_user_errors():
    t = OpenAIChatTranslator("http://127.0.0.1:9/v1", "m", config=FAST)
    with pytest.raises(EngineError, match="failed after 3"):
        t.translate("Hello.", "en", "es")
    with pytest.raises(InputError):
        OpenAIChatTranslator("localhost:8080")
    with pytest.raises(EngineError, match="needs an endpoint"):
        REGISTRY.create("openai")


def test_spec_builds_a_guarded_engine():
    g = REGISTRY.create("openai:http://127.0.0.1:8080/v1#qwen")
    assert isinstance(g, GuardedTranslator)
    assert g.primary.url == "http://127.0.0.1:8080/v1" and g.primary.model == "qwen"
    assert ("en", "es") in g.pairs()
