"""Translation through any OpenAI-compatible chat endpoint (llama.cpp server, Ollama, vLLM).

``openai:URL[#MODEL]``: URL is the API base (``http://localhost:8080/v1``; Ollama:
``http://localhost:11434/v1``), MODEL the model name the server knows; without it, the
first model the server lists. The request is ``POST URL/chat/completions`` with the
prompt of `voxlate.engines.mt.chat_prompt`, temperature 0 and a token limit from the
source length. A key, when the server wants one, is read from ``$VOXLATE_OPENAI_API_KEY``
or ``$OPENAI_API_KEY``. Plain HTTP through the standard library: no client package.

Connection failures, timeouts, 429 and 5xx answers are retried with exponential
back-off; other errors, or the last failure, raise `EngineError`. As registered, the
engine is wrapped in `GuardedTranslator` (Apertium replaces replies that fail the guard).
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from voxlate.engines.mt import REGISTRY
from voxlate.engines.mt.chat_prompt import (
    ChatContextTranslator,
    Turn,
    approx_tokens,
    clean_reply,
    max_new_tokens,
    messages,
    pairs,
)
from voxlate.errors import EngineError, InputError

_RETRY_STATUS = {408, 429, 500, 502, 503, 504}


@dataclass(frozen=True)
class EndpointConfig:
    """How requests are sent (per engine, not per call)."""

    timeout_s: float = 30.0  # longest wait for one answer (s)
    retries: int = 2  # further attempts after a failed one (connection, timeout, 429, 5xx)
    backoff_s: float = 0.5  # wait before the first retry (s); doubled for each next one
    context: bool = True  # give the previous sentence and its translation as context


class OpenAIChatTranslator(ChatContextTranslator):
    """Translation by a chat model behind an OpenAI-compatible HTTP API."""

    def __init__(
        self, url: str, model: str | None = None, config: EndpointConfig | None = None
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise InputError(f"The endpoint '{url}' must start with http:// or https://.")
        self.url = url.rstrip("/")
        self.config = config or EndpointConfig()
        self._model = model
        self.name = f"openai:{self.url}" + (f"#{model}" if model else "")
        self._previous: dict[tuple[str, str], Turn] = {}

    @classmethod
    def from_spec(cls, arg: str | None) -> Any:
        """``openai:URL[#MODEL]``, wrapped in the guard."""
        from voxlate.engines.mt.guard import GuardedTranslator

        if not arg:
            raise EngineError(
                "The openai engine needs an endpoint: --mt openai:http://HOST:PORT/v1[#MODEL]."
            )
        url, _, model = arg.partition("#")
        return GuardedTranslator(cls(url.strip(), model.strip() or None))

    def pairs(self) -> set[tuple[str, str]]:
        return pairs()

    @property
    def model(self) -> str:
        """The model name sent with each request (asked of the server once if not given)."""
        if self._model is None:
            listing = self._request("GET", "/models", None)
            models = [m.get("id") for m in listing.get("data", []) if m.get("id")]
            if not models:
                raise EngineError(f"The endpoint {self.url} lists no model; give one: URL#MODEL.")
            self._model = str(models[0])
        return self._model

    def translate_with(self, text: str, source: str, target: str, previous: Turn | None) -> str:
        """Translate `text` given `previous` (None: no context)."""
        if not text.strip():
            return ""
        body = {
            "model": self.model,
            "messages": messages(text, source, target, previous if self.config.context else None),
            "temperature": 0.0,
            "max_tokens": max_new_tokens(approx_tokens(text)),
            "stop": ["\n\n"],
            "seed": 0,
        }
        answer = self._request("POST", "/chat/completions", body)
        try:
            content = answer["choices"][0]["message"].get("content") or ""
        except (KeyError, IndexError, TypeError, AttributeError) as e:
            raise EngineError(f"The endpoint {self.url} gave an answer without a message.") from e
        return clean_reply(content, text)

    def _request(self, method: str, path: str, body: dict | None) -> dict:
        """One API call with retries; the decoded JSON answer."""
        headers = {"Content-Type": "application/json"}
        key = os.environ.get("VOXLATE_OPENAI_API_KEY") or os.environ.get("OPENAI_API_KEY")
        if key:
            headers["Authorization"] = f"Bearer {key}"
        data = json.dumps(body).encode("utf-8") if body is not None else None
        wait = self.config.backoff_s
        last = ""
        for attempt in range(self.config.retries + 1):
            if attempt:
                time.sleep(wait)
                wait *= 2
            req = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
            try:
                with urllib.request.urlopen(req, timeout=self.config.timeout_s) as resp:
                    return dict(json.loads(resp.read().decode("utf-8")))
            except urllib.error.HTTPError as e:
                last = f"HTTP {e.code}"
                if e.code not in _RETRY_STATUS:
                    break
            except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
                last = str(getattr(e, "reason", e)) or type(e).__name__
            except json.JSONDecodeError:
                last = "an answer that is not JSON"
                break
        raise EngineError(
            f"The endpoint {self.url}{path} failed after {attempt + 1} attempt(s): {last}."
        )


REGISTRY.register("openai")(OpenAIChatTranslator)
