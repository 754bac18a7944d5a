"""`voxlate live` end to end through the CLI, and its errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import soundfile as sf

from .conftest import VOICE


def voxlate(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "voxlate", *args], capture_output=True, text=True, timeout=timeout
    )


def test_live_file_to_wav(padded_wav, tmp_path):
    out = tmp_path / "out.wav"
    p = voxlate("live", "--input", str(padded_wav), "--voice", VOICE, "-o", str(out), "--json")
    assert p.returncode == 0, p.stderr
    events = [json.loads(line) for line in p.stdout.splitlines()]
    kinds = [e["type"] for e in events]
    assert kinds == ["speech_started", "speech_ended", "transcript", "translation", "latency"]
    assert "young man" in events[2]["text"].lower()
    x, sr = sf.read(out)
    assert len(x) / sr > 1.0 and abs(x).max() > 0.05


def test_live_needs_one_source(padded_wav):
    p = voxlate("live", "--voice", VOICE)
    assert p.returncode != 0 and "exactly one of --mic or --input" in p.stderr
    assert "Traceback" not in p.stderr
    p = voxlate("live", "--input", "/nonexistent.wav", "-o", "x.wav")
    assert p.returncode != 0 and "not found" in p.stderr and "Traceback" not in p.stderr


def _sounddevice_works() -> bool:
    try:
        import sounddevice  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


@pytest.mark.skipif(
    _sounddevice_works(),
    reason="sounddevice and PortAudio are installed; this checks the message when they are missing",
)
def test_mic_without_sounddevice_says_how_to_install():
    p = voxlate("live", "--mic")
    assert p.returncode != 0 and "Traceback" not in p.stderr
    assert "pip install sounddevice" in p.stderr and "libportaudio2" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
