"""The LLM's cold start (issue 26): the worker loads in the background, and the evaluated
prompt prefix is kept in a state file that later runs restore instead of evaluating it; a
corrupt or mismatched state file is ignored and rebuilt; a bad GGUF is still one sentence."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest

from voxlate.engines.mt.guard import GuardedTranslator
from voxlate.engines.mt.llm_prefix import MAGIC, read_state, write_state
from voxlate.errors import EngineError

needs_llama = pytest.mark.skipif(
    find_spec("llama_cpp") is None, reason="llama-cpp-python ([llm] extra) is not installed"
)

KEY = {"format": 1, "model": ["/m.gguf", 10, 1], "pair": ["en", "es"], "n_ctx": 1024}


def _key_of(path: Path) -> dict:
    blob = path.read_bytes()
    (n,) = struct.unpack("<I", blob[len(MAGIC) : len(MAGIC) + 4])
    return json.loads(blob[len(MAGIC) + 4 : len(MAGIC) + 4 + n])


def test_state_file_round_trip_and_every_damage_is_refused(tmp_path):
    path = tmp_path / "s.kvstate"
    write_state(path, KEY, [1, 2, 3], b"kv" * 100)
    assert read_state(path, KEY, 1023) == ([1, 2, 3], b"kv" * 100)
    assert _key_of(path) == KEY
    assert [p.name for p in tmp_path.iterdir()] == ["s.kvstate"]  # no temp file left
    with pytest.raises(ValueError, match="another"):
        read_state(path, {**KEY, "n_ctx": 2048}, 1023)
    with pytest.raises(ValueError, match="tokens"):
        read_state(path, KEY, 2)  # longer than the context
    good = path.read_bytes()
    flipped = bytearray(good)
    flipped[-5] ^= 0xFF
    path.write_bytes(bytes(flipped))
    with pytest.raises(ValueError, match="checksum"):
        read_state(path, KEY, 1023)
    path.write_bytes(good[:-1])
    with pytest.raises(ValueError, match="size"):
        read_state(path, KEY, 1023)
    path.write_bytes(good[:30])
    with pytest.raises(ValueError):
        read_state(path, KEY, 1023)
    path.write_bytes(b"GGUF" + good)
    with pytest.raises(ValueError, match="not a prefix state"):
        read_state(path, KEY, 1023)


def test_the_guard_passes_prepare_to_its_primary():
    seen = []

    class Primary:
        name = "fake"

        def pairs(self):
            return {("en", "es")}

        def prepare(self, source, target):
            seen.append((source, target))

        def translate(self, text, source, target):
            return text

    GuardedTranslator(Primary()).prepare("en", "es")
    assert seen == [("en", "es")]

    class Plain(Primary):
        prepare = None  # type: ignore[assignment]

    GuardedTranslator(Plain()).prepare("en", "es")  # nothing to do, no error


def test_the_guard_loads_its_language_identifier_while_the_primary_answers():
    """The first reply's check does not pay langid's ~1 s load after the reply: the load
    starts when the primary is asked (and runs while it answers)."""
    import threading

    from voxlate.engines.mt import guard

    loading: list[bool] = []

    class Primary:
        name = "fake"

        def pairs(self):
            return {("en", "es")}

        def translate(self, text, source, target):
            loading.append(any(t.name == "langid-load" for t in threading.enumerate()))
            return "Buenos días a todos."

    guard._identifier.cache_clear()
    guard._loader_started.clear()
    out = GuardedTranslator(Primary()).translate("Good morning everyone.", "en", "es")
    assert out == "Buenos días a todos."
    assert loading == [True] or guard._identifier.cache_info().currsize == 1
    assert guard._loader_started.is_set()


def test_the_build_key_names_the_llama_library_not_the_working_directory(tmp_path, monkeypatch):
    """The key once held `Path("")`'s stat, the working directory's: any file written there
    changed the key, and the prefix was evaluated again (11 s) on the next run."""
    pytest.importorskip("llama_cpp")
    from voxlate.engines.mt.llm_prefix import build_id, library_path

    lib = library_path()
    assert lib is not None and lib.is_file() and lib.name.startswith("libllama")
    monkeypatch.chdir(tmp_path)
    before = build_id()
    (tmp_path / "new-file").write_text("x")
    assert build_id() == before
    assert before["library"][0] == str(lib)
