"""Fixtures for the live tests: engines loaded once, real speech with pauses."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from voxlate.audio import Audio, load_audio, save_audio

# The voice stage ('preserve') is optional here: tests use the stock voice so they
# do not depend on it; one test exercises 'preserve' when it is available.
VOICE = "tts"


def with_pauses(paths: list[Path], pause_s: float = 1.0, lead_s: float = 0.5) -> Audio:
    """Real clips joined by `pause_s` of silence, with `lead_s` before the first (16 kHz)."""
    parts = [np.zeros(int(lead_s * 16_000), np.float32)]
    for p in paths:
        parts += [load_audio(p, 16_000).samples, np.zeros(int(pause_s * 16_000), np.float32)]
    return Audio(np.concatenate(parts), 16_000)


@pytest.fixture(scope="session")
def engines():
    from voxlate.pipeline.engines import Engines, EngineSpecs

    return Engines.load(EngineSpecs(voice=VOICE, live=True), "en", "es")


@pytest.fixture(scope="session")
def pool():
    """An EnginePool with en->es loaded, shared by the server tests."""
    from voxlate.pipeline.engines import EngineSpecs
    from voxlate.server.pool import EnginePool

    p = EnginePool(EngineSpecs(voice=VOICE, live=True))
    p.load_now("en", "es")
    return p


@pytest.fixture(scope="session")
def two_clips(librivox) -> Audio:
    """Two real LibriVox sentences (3.0 s and 3.3 s) with a 1 s pause between them."""
    return with_pauses([librivox[1][0], librivox[4][0]])


@pytest.fixture(scope="session")
def short_clip(librivox) -> Path:
    """The 3 s LibriVox sentence 'he was not an ill disposed young man'."""
    return librivox[1][0]


@pytest.fixture(scope="session")
def padded_wav(tmp_path_factory, librivox) -> Path:
    """A wav of one real sentence with 1 s of silence before and 2 s after (16 kHz)."""
    a = with_pauses([librivox[1][0]], pause_s=2.0, lead_s=1.0)
    path = tmp_path_factory.mktemp("live") / "sentence.wav"
    save_audio(path, a)
    return path


@contextmanager
def serving(app: Any, start_timeout_s: float = 60) -> Iterator[str]:
    """Run `app` on a real uvicorn server on 127.0.0.1 (a free port) in a background
    thread; yields its base URL and stops it afterwards."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
