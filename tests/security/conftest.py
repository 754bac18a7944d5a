"""Fixtures for the security regression tests: hostile files and a server app."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

VOICE = "tts"  # the stock voice: these tests do not depend on the voice stage


@pytest.fixture(scope="session")
def pool():
    """An EnginePool with en->es loaded."""
    from voxlate.pipeline.engines import EngineSpecs
    from voxlate.server.pool import EnginePool

    p = EnginePool(EngineSpecs(voice=VOICE))
    p.load_now("en", "es")
    return p


def make_app(pool, **kw):
    from voxlate.server.app import create_app
    from voxlate.server.config import ServerConfig

    kw.setdefault("allow_hosts", ("testserver",))  # TestClient's Host
    return create_app(ServerConfig(voice=VOICE, preload=(), **kw), pool)


@pytest.fixture(scope="session")
def secret_mp3(tmp_path_factory, librivox) -> Path:
    """A 'server-side' media file: real speech that an upload must never be able to read."""
    path = tmp_path_factory.mktemp("secret") / "secret.mp3"
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(librivox[1][0]), str(path)]
    subprocess.run(cmd, check=True)
    return path


@pytest.fixture(scope="session")
def hls_playlist(tmp_path_factory, secret_mp3) -> Path:
    """An HLS playlist named .wav pointing at the local mp3 (the file-disclosure attack)."""
    path = tmp_path_factory.mktemp("hls") / "x.wav"
    path.write_text(
        f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile://{secret_mp3}\n#EXT-X-ENDLIST\n"
    )
    return path


def flac_with_length(path: Path, seconds: float, total_samples: int | None, sr=16_000) -> Path:
    """A FLAC of `seconds` of silence whose header claims `total_samples` (0: unknown)."""
    sf.write(path, np.zeros(int(seconds * sr), np.float32), sr, format="FLAC")
    if total_samples is not None:
        b = bytearray(path.read_bytes())
        assert b[:4] == b"fLaC"
        # STREAMINFO: the 36-bit total sample count ends the 8 bytes at offset 18.
        v = int.from_bytes(b[18:26], "big")
        v = (v & ~((1 << 36) - 1)) | total_samples
        b[18:26] = v.to_bytes(8, "big")
        path.write_bytes(bytes(b))
    return path


@pytest.fixture(scope="session")
def flac_bomb(tmp_path_factory) -> Path:
    """A FLAC whose header says 2 hours (the real 2 h bomb is in scripts/bench_hardening.py)."""
    d = tmp_path_factory.mktemp("bomb")
    return flac_with_length(d / "bomb.flac", 1.0, 2 * 3600 * 16_000)


@pytest.fixture(scope="session")
def hidden_length_flac(tmp_path_factory) -> Path:
    """Three minutes of silence in a FLAC whose header does not state its length."""
    d = tmp_path_factory.mktemp("bomb0")
    return flac_with_length(d / "hidden.flac", 180.0, 0)


@pytest.fixture(scope="session")
def long_webm(tmp_path_factory) -> Path:
    """Three minutes of silence as Opus in WebM (decoded by ffmpeg, not libsndfile)."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg not installed")
    path = tmp_path_factory.mktemp("webm") / "long.webm"
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono"]
    subprocess.run([*cmd, "-t", "180", "-c:a", "libopus", "-b:a", "8k", str(path)], check=True)
    return path


@pytest.fixture(scope="session")
def nan_wav(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("nan") / "nan.wav"
    x = np.full(16_000, np.nan, np.float32)
    sf.write(path, x, 16_000, subtype="FLOAT")
    return path
