"""A dead LLM worker loses nothing (issue 21): the worker kills itself with SIGSEGV in the
middle of a file translation, a WebSocket session and a REST request (fault injection,
VOXLATE_LLM_FAULT=segv:N, as a crash in llama.cpp's native code would), and each run
completes with Apertium's translations and a warning; the engine restarts its worker at
most once per interval; and early exits never print a traceback of the worker pool."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from importlib.util import find_spec

import numpy as np
import pytest

from voxlate.audio import Audio, save_audio
from voxlate.errors import EngineCrashedError

if find_spec("llama_cpp") is None or shutil.which("apertium") is None:
    pytest.skip("needs the [llm] extra and apertium", allow_module_level=True)

pytestmark = pytest.mark.slow


def voxlate(*args: str, env: dict | None = None, timeout: float = 600):
    import os

    return subprocess.run(
        [sys.executable, "-m", "voxlate", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def three_sentences(tmp_path_factory, librivox):
    """Three real LibriVox sentences with 1 s pauses (three utterances)."""
    from voxlate.audio import load_audio

    parts = [np.zeros(8000, np.float32)]
    for path, _ in librivox[1:4]:
        parts += [load_audio(path, 16000).samples, np.zeros(16000, np.float32)]
    out = tmp_path_factory.mktemp("crash") / "three.wav"
    save_audio(out, Audio(np.concatenate(parts), 16000))
    return out


def test_file_translation_goes_on_with_apertium_after_a_segfault(
    three_sentences, tmp_path, llm_model
):
    out, rep = tmp_path / "out.wav", tmp_path / "out.json"
    p = voxlate(
        "translate", str(three_sentences), "-o", str(out), "--report", str(rep),
        "--voice", "tts", "--tts", "espeak-ng", "--mt", "llm", "--quiet",
        env={"VOXLATE_LLM_FAULT": "segv:2"},
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr
    report = json.loads(rep.read_text())
    engines = [s["mt_engine"] for s in report["segments"]]
    assert len(engines) == 3 and engines[0].startswith("llm"), engines
    assert engines[1:] == ["apertium", "apertium"], engines
    assert all(s["translation"] for s in report["segments"])
    (key, count), *_ = [(k, v) for k, v in report["warnings"].items() if "SIGSEGV" in k]
    assert count == 2 and "apertium" in key
    warned = [ln for ln in p.stderr.splitlines() if "SIGSEGV" in ln]
    assert len(warned) == 1, p.stderr


def test_worker_restarts_at_most_once_per_interval(monkeypatch, llm_model):
    from voxlate.engines.mt.llm import LlamaTranslator, LlmConfig

    monkeypatch.setenv("VOXLATE_LLM_FAULT", "segv:2")  # each worker dies at its 2nd sentence
    engine = LlamaTranslator(llm_model, LlmConfig(restart_interval_s=0.0))
    try:
        assert engine.translate_with("The cat sleeps.", "en", "es", None)
        with pytest.raises(EngineCrashedError, match="SIGSEGV"):
            engine.translate_with("The dog runs.", "en", "es", None)
        with pytest.raises(EngineCrashedError, match="restarting"):
            engine.translate_with("The dog runs.", "en", "es", None)  # at once, no waiting
        deadline = time.monotonic() + 120
        while engine.restarts == 0 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert engine.restarts == 1
        assert engine.translate_with("The dog runs.", "en", "es", None)
    finally:
        engine.close()
    slow = LlamaTranslator(llm_model, LlmConfig(restart_interval_s=3600.0))
    try:
        slow.translate_with("The cat sleeps.", "en", "es", None)
        with pytest.raises(EngineCrashedError):
            slow.translate_with("The dog runs.", "en", "es", None)
        with pytest.raises(EngineCrashedError, match="not restarted yet"):
            slow.translate_with("The dog runs.", "en", "es", None)
        assert slow.restarts == 0
    finally:
        slow.close()


def test_early_exits_never_print_a_traceback(tmp_path, llm_model):
    """Noise only (exit 3, after the LLM worker started), three times, and Ctrl-C while
    models load (exit 130): one sentence each time, never a traceback."""
    import os
    import signal

    rng = np.random.default_rng(0)
    noise = tmp_path / "noise.wav"
    save_audio(noise, Audio((0.01 * rng.standard_normal(16000 * 3)).astype(np.float32), 16000))
    args = ["translate", str(noise), "-o", str(tmp_path / "o.wav"), "--voice", "tts",
            "--tts", "espeak-ng", "--mt", "llm", "--quiet"]  # fmt: skip
    for _ in range(3):
        p = voxlate(*args)
        assert p.returncode == 3, p.stderr
        assert p.stderr.strip().startswith("error: No speech found"), p.stderr
        assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    for delay in (4.0,):
        proc = subprocess.Popen(
            [sys.executable, "-m", "voxlate", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            stdin=subprocess.DEVNULL, env=dict(os.environ),
        )  # fmt: skip
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        assert "Traceback" not in err and "Error" not in err, err
        assert proc.returncode in (3, 130), (proc.returncode, err)


def test_the_worker_ends_when_its_parent_is_killed(llm_model, three_sentences, tmp_path):
    """`kill -9` of the command runs no clean-up: the worker notices within ~1 s and exits
    instead of holding 1.2 GB of RAM as an orphan."""
    import os
    import signal

    psutil = pytest.importorskip("psutil")
    proc = subprocess.Popen(
        [sys.executable, "-m", "voxlate", "translate", str(three_sentences), "-o",
         str(tmp_path / "o.wav"), "--voice", "tts", "--tts", "espeak-ng", "--mt", "llm", "--quiet"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=dict(os.environ),
    )  # fmt: skip
    workers: list = []
    deadline = time.monotonic() + 120
    while not workers and time.monotonic() < deadline:
        time.sleep(0.5)
        workers = [
            c for c in psutil.Process(proc.pid).children(recursive=True)
            if "spawn_main" in " ".join(c.cmdline())
        ]  # fmt: skip
    assert workers, "the LLM worker never started"
    time.sleep(2.0)  # let it load and start its watch
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    gone, alive = psutil.wait_procs(workers, timeout=15)
    assert not alive, f"orphaned workers: {[p.pid for p in alive]}"
