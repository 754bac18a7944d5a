"""The LLM's evaluated few-shot prefix, kept in the cache so that later runs skip it.

Every translation prompt of a language pair starts with the same tokens: the chat
template's opening, the system message and the fixed examples (`chat_prompt.messages`).
llama.cpp must evaluate them (~240 tokens for en->es with the embedded model) before the
first sentence of a process; every later sentence reuses them from the KV cache
(llama-cpp-python's longest-prefix match). `PrefixCache.ensure` gives a pair its prefix
once per worker process, the cheapest way it can:

- ``kept``: the KV cache already starts with it (the previous sentence was of this pair);
- ``memory``: restored from this process's copy (another pair came in between);
- ``file``: read from the state file in the cache (`state_path`), written by an earlier run;
- ``evaluated``: computed, then written to that file for the next run.

The prefix is found by evaluating two prompts that differ only in the sentence (``A.``
and ``B.``): their common tokens are the prefix, whatever the chat template does. The KV
cache is cut back to those tokens, and llama.cpp's state (`llama_state_get_data`: the KV
cells in use, ~29 kB a token for the embedded model) is saved with them.

A state file is named by the hash of its key and holds the key again: the model file (path,
size, modification time), the prompt (the placeholder messages, the chat template and
format), the pair, n_ctx and n_batch, and llama-cpp-python's version and build (the shared
library's path, size and time, and its system info). It is written to a temp file and
renamed, read with size and SHA-256 checks; a file that is corrupt, truncated or made for
another key is ignored and rebuilt, never loaded. Nothing here raises: a prefix that cannot
be restored is evaluated by the translation itself, as before.

Runs in the worker process only (it touches the loaded `llama_cpp.Llama`).
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import struct
import tempfile
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voxlate.engines.mt.chat_prompt import Prompt, messages

FORMAT = 1  # of the state file; part of the key
MAGIC = b"VOXLATE-LLM-PREFIX\0"
_PLACEHOLDERS = ("A.", "B.")  # two sentences whose prompts differ only after the prefix
_HEADER_MAX = 1 << 20  # bytes of key JSON a state file may declare


@dataclass(frozen=True)
class PrefixEvent:
    """How a language pair got its prefix in the worker (see the module docstring)."""

    source: str
    target: str
    how: str  # kept | memory | file | evaluated | failed
    seconds: float  # wall time it took (evaluated: the evaluation, saving excluded)
    tokens: int = 0  # prefix length
    detail: str = ""  # for 'failed', and for a state file ignored or not written: why


def library_path() -> Path | None:
    """The llama.cpp shared library this process loaded (None when it cannot be told).

    llama-cpp-python keeps its ctypes handle in `llama_cpp.llama_cpp._lib`. (An empty name
    must not become `Path("")`, the working directory: its time would change the key, and
    the prefix would be evaluated again on every run from another folder.)"""
    import llama_cpp

    for module in (getattr(llama_cpp, "llama_cpp", None), llama_cpp):
        name = getattr(getattr(module, "_lib", None), "_name", None)
        if isinstance(name, str) and name:
            return Path(name)
    return None


def build_id() -> dict[str, Any]:
    """What identifies the llama.cpp build loaded in this process."""
    import llama_cpp

    lib = library_path()
    lib_id: list[Any] = ["unknown"]
    if lib is not None:
        try:
            st = lib.stat()
            lib_id = [str(lib), st.st_size, st.st_mtime_ns]
        except OSError:
            lib_id = [str(lib)]
    info = llama_cpp.llama_print_system_info()
    return {
        "llama_cpp": llama_cpp.__version__,
        "library": lib_id,
        "system_info": info.decode("utf-8", "replace") if isinstance(info, bytes) else str(info),
    }


def state_key(
    llm: Any, model_path: str, n_batch: int, source: str, target: str, prompt: Prompt
) -> dict[str, Any]:
    """The key of a pair's prefix state (see the module docstring); JSON-serialisable."""
    st = os.stat(model_path)
    metadata = getattr(llm, "metadata", {}) or {}
    return {
        "format": FORMAT,
        "model": [os.path.realpath(model_path), st.st_size, st.st_mtime_ns],
        "chat_format": str(getattr(llm, "chat_format", "")),
        "chat_template": hashlib.sha256(
            str(metadata.get("tokenizer.chat_template", "")).encode("utf-8")
        ).hexdigest(),
        "prompt": [messages(p, source, target, None, prompt) for p in _PLACEHOLDERS],
        "pair": [source, target],
        "n_ctx": int(llm.n_ctx()),
        "n_batch": n_batch,
        "build": build_id(),
    }


def _key_bytes(key: dict[str, Any]) -> bytes:
    return json.dumps(key, sort_keys=True, ensure_ascii=True).encode("ascii")


def state_path(directory: Path, key: dict[str, Any]) -> Path:
    """Where the state of `key` is kept: named by the key's hash."""
    return directory / f"{hashlib.sha256(_key_bytes(key)).hexdigest()[:32]}.kvstate"


def write_state(path: Path, key: dict[str, Any], tokens: list[int], data: bytes) -> None:
    """Write a state file atomically (temp file in the same folder, then rename).

    Layout: MAGIC, the key JSON's length (u32) and the JSON, the token count (u32), the
    state's length (u64), the SHA-256 of tokens + state, then the tokens (i32) and the state.
    """
    header = _key_bytes(key)
    body = struct.pack(f"<{len(tokens)}i", *tokens) + data
    blob = b"".join(
        [
            MAGIC,
            struct.pack("<I", len(header)),
            header,
            struct.pack("<IQ", len(tokens), len(data)),
            hashlib.sha256(body).digest(),
            body,
        ]
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_state(path: Path, key: dict[str, Any], max_tokens: int) -> tuple[list[int], bytes]:
    """The tokens and state in `path`, or `ValueError`/`OSError` saying why it is not
    usable (missing, truncated, corrupt, another key, too long for the context)."""
    with open(path, "rb") as f:
        blob = f.read()
    if not blob.startswith(MAGIC):
        raise ValueError("not a prefix state file")
    at = len(MAGIC)

    def take(n: int) -> bytes:
        nonlocal at
        if at + n > len(blob):
            raise ValueError("truncated")
        out = blob[at : at + n]
        at += n
        return out

    (n_header,) = struct.unpack("<I", take(4))
    if n_header > _HEADER_MAX:
        raise ValueError("corrupt header")
    if take(n_header) != _key_bytes(key):
        raise ValueError("made for another model, prompt or build")
    n_tokens, n_data = struct.unpack("<IQ", take(12))
    if not 0 < n_tokens <= max_tokens:
        raise ValueError(f"{n_tokens} tokens for a context of {max_tokens}")
    digest = take(32)
    if len(blob) - at != 4 * n_tokens + n_data:
        raise ValueError("wrong size")
    body = blob[at:]
    if hashlib.sha256(body).digest() != digest:
        raise ValueError("checksum mismatch")
    tokens = list(struct.unpack(f"<{n_tokens}i", body[: 4 * n_tokens]))
    return tokens, body[4 * n_tokens :]


def capture(llm: Any) -> bytes:
    """llama.cpp's state of `llm`'s context (the KV cells in use)."""
    import llama_cpp

    ctx = llm._ctx.ctx
    size = int(llama_cpp.llama_state_get_size(ctx))
    buf = (ctypes.c_uint8 * size)()
    n = int(llama_cpp.llama_state_get_data(ctx, buf, size))
    if not 0 < n <= size:
        raise RuntimeError("llama_state_get_data failed")
    return bytes(buf[:n])


def restore(llm: Any, tokens: list[int], data: bytes) -> bool:
    """Put a captured state back into `llm` (False, with an empty KV cache, if llama.cpp
    refuses it)."""
    import llama_cpp

    llm.reset()
    buf = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
    if int(llama_cpp.llama_state_set_data(llm._ctx.ctx, buf, len(data))) != len(data):
        llm.reset()  # n_tokens 0: the next eval drops whatever the failed restore left
        return False
    llm.input_ids[: len(tokens)] = tokens
    llm.n_tokens = len(tokens)
    llm._requires_eval = True  # the logits are not those of the last token: evaluate on
    return True


def _common_prefix(a: Any, b: Any) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


@dataclass
class _Held:
    tokens: list[int]
    data: bytes


class PrefixCache:
    """The prefixes of the pairs this worker has translated (see the module docstring).

    directory: where state files are kept (None: none are read or written).
    keep: how many pairs' states stay in memory (~7 MB each for the embedded model).
    """

    def __init__(
        self, llm: Any, model_path: str, n_batch: int, directory: Path | None, keep: int = 4
    ) -> None:
        self.llm = llm
        self.model_path = model_path
        self.n_batch = n_batch
        self.directory = directory
        self.keep = keep
        self._held: OrderedDict[tuple[str, str, Prompt], _Held] = OrderedDict()

    def ensure(self, source: str, target: str, prompt: Prompt) -> PrefixEvent:
        """Give the pair its prefix (never raises: 'failed' says why it could not)."""
        t0 = time.perf_counter()
        pair = (source, target, prompt)
        held = self._held.get(pair)
        try:
            if held is not None:
                self._held.move_to_end(pair)
                n = len(held.tokens)
                if _common_prefix(self.llm.input_ids[: self.llm.n_tokens], held.tokens) == n:
                    return PrefixEvent(source, target, "kept", time.perf_counter() - t0, n)
                if restore(self.llm, held.tokens, held.data):
                    return PrefixEvent(source, target, "memory", time.perf_counter() - t0, n)
            return self._from_file_or_evaluated(source, target, prompt, t0)
        except Exception as e:  # noqa: BLE001 - the translation evaluates the prefix itself
            self.llm.reset()
            why = str(e).splitlines()[0] if str(e) else type(e).__name__
            return PrefixEvent(source, target, "failed", time.perf_counter() - t0, 0, why)

    def _from_file_or_evaluated(
        self, source: str, target: str, prompt: Prompt, t0: float
    ) -> PrefixEvent:
        key = state_key(self.llm, self.model_path, self.n_batch, source, target, prompt)
        path = state_path(self.directory, key) if self.directory is not None else None
        ignored = ""
        if path is not None and path.exists():
            try:
                tokens, data = read_state(path, key, int(self.llm.n_ctx()) - 1)
                if restore(self.llm, tokens, data):
                    self._hold((source, target, prompt), tokens, data)
                    return PrefixEvent(
                        source, target, "file", time.perf_counter() - t0, len(tokens)
                    )
                ignored = f"{path.name} ignored: llama.cpp refused it"
            except (OSError, ValueError, struct.error) as e:
                ignored = f"{path.name} ignored: {e}"
        tokens = self._evaluate(source, target, prompt)
        seconds = time.perf_counter() - t0
        data = capture(self.llm)
        self._hold((source, target, prompt), tokens, data)
        detail = ignored
        if path is not None:
            try:
                write_state(path, key, tokens, data)
            except OSError as e:
                detail = "; ".join(x for x in (ignored, f"not saved: {e}") if x)
        return PrefixEvent(source, target, "evaluated", seconds, len(tokens), detail)

    def _evaluate(self, source: str, target: str, prompt: Prompt) -> list[int]:
        """Evaluate the pair's prefix into the KV cache (and nothing after it); its tokens."""
        llm = self.llm
        llm.reset()
        seen = []
        for text in _PLACEHOLDERS:
            llm.create_chat_completion(
                messages=messages(text, source, target, None, prompt),
                temperature=0.0,
                top_k=1,
                max_tokens=1,
                seed=0,
            )
            seen.append([int(t) for t in llm.input_ids[: llm.n_tokens]])
        n = _common_prefix(*seen)
        if n == 0:
            raise RuntimeError("the two placeholder prompts share no tokens")
        llm._ctx.kv_cache_seq_rm(-1, n, -1)
        llm.n_tokens = n
        llm._requires_eval = True
        return seen[1][:n]

    def _hold(self, pair: tuple[str, str, Prompt], tokens: list[int], data: bytes) -> None:
        self._held[pair] = _Held(tokens, data)
        self._held.move_to_end(pair)
        while len(self._held) > self.keep:
            self._held.popitem(last=False)
