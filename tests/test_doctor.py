"""`voxlate doctor`: each default checked in its own process; a broken one (a worker that
dies with SIGSEGV, a missing program) is reported with its fix and exit 1; the defaults
then avoid what it found broken."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from voxlate import health
from voxlate.health import Finding


def voxlate(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "voxlate", *args],
        capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


@pytest.mark.skipif(shutil.which("apertium") is None, reason="apertium is not installed")
def test_working_engines_pass_and_the_table_says_so():
    p = voxlate("doctor", "--only", "mt apertium", "--only", "tts espeak-ng", "--no-record")
    assert p.returncode == 0, p.stdout + p.stderr
    rows = [ln for ln in p.stdout.splitlines() if ln.startswith("| ")]
    assert rows[0].split("|")[1:6] == [" engine ", " status ", " seconds ", " result ", " fix "]
    assert [r.split("|")[2].strip() for r in rows[1:]] == ["ok", "ok"]
    assert "pairs" in rows[1] and "s of speech" in rows[2]


def test_a_missing_program_is_broken_with_its_fix(tmp_path):
    """Apertium and ffmpeg off PATH: both broken, each with its apt-get line, exit 1."""
    bare = tmp_path / "bin"
    bare.mkdir()
    p = voxlate(
        "doctor", "--only", "mt apertium", "--only", "ffmpeg", "--no-record",
        env={"PATH": str(bare)},
    )  # fmt: skip
    assert p.returncode == 1, p.stdout + p.stderr
    rows = {ln.split("|")[1].strip(): ln for ln in p.stdout.splitlines() if ln.startswith("| ")}
    assert "| broken |" in rows["mt apertium"] and "apt-get install apertium" in rows["mt apertium"]
    assert "| broken |" in rows["ffmpeg"] and "apt-get install ffmpeg" in rows["ffmpeg"]
    assert "Traceback" not in p.stdout + p.stderr
    assert p.stderr.strip().splitlines()[-1].startswith("error: 2 engine(s) broken")


@pytest.mark.slow
def test_an_llm_that_dies_with_sigsegv_is_broken(llm_model):
    p = voxlate("doctor", "--only", "mt llm", "--no-record", env={"VOXLATE_LLM_FAULT": "segv:1"})
    assert p.returncode == 1, p.stdout + p.stderr
    row = next(ln for ln in p.stdout.splitlines() if ln.startswith("| mt llm"))
    assert "| broken |" in row and "SIGSEGV" in row and "--mt apertium" in row


def test_unknown_check_is_one_sentence():
    p = voxlate("doctor", "--only", "mt nonsense")
    assert p.returncode == 2 or p.returncode == 1
    assert p.stderr.strip().startswith("error: Unknown check 'mt nonsense'")


def test_defaults_avoid_an_engine_the_doctor_found_broken(tmp_path, monkeypatch):
    from voxlate.pipeline import engines

    monkeypatch.setattr(health, "record_path", lambda: tmp_path / "doctor.json")
    monkeypatch.setattr("voxlate.engines.mt.llm.embedded_available", lambda: True)
    monkeypatch.setattr(health, "llama_cpu_missing", lambda flags=None: [])
    assert engines.default_engine("mt") == "llm"
    health.save_findings([Finding("mt llm", "broken", 9.5, "the process died with signal SIGILL")])
    notes: list[str] = []
    assert engines.default_engine("mt", notes=notes) == "apertium"
    assert len(notes) == 1 and "SIGILL" in notes[0] and "apertium" in notes[0]
    # a record made on another machine (or before an upgrade) is ignored
    monkeypatch.setattr(health, "fingerprint", lambda: "elsewhere")
    assert engines.default_engine("mt") == "llm"


def test_a_cpu_without_avx2_never_starts_the_llm(monkeypatch):
    from voxlate.pipeline import engines

    monkeypatch.setattr("voxlate.engines.mt.llm.embedded_available", lambda: True)
    old_cpu = {"fpu", "sse2", "sse4_2", "avx"}  # e.g. Sandy Bridge: AVX but no AVX2/FMA/F16C
    monkeypatch.setattr(health, "cpu_flags", lambda: old_cpu)
    assert health.llama_cpu_missing() == ["avx2", "fma", "f16c"]
    notes: list[str] = []
    assert engines.default_engine("mt", notes=notes) == "apertium"
    assert "AVX2" in notes[0]


def test_this_machine_fingerprint_is_stable():
    assert health.fingerprint() == health.fingerprint()
    assert Path(health.record_path()).name == "doctor.json"


def test_a_broken_default_voice_or_recognizer_is_replaced(tmp_path, monkeypatch, capsys):
    from voxlate.pipeline import engines

    monkeypatch.setattr(health, "record_path", lambda: tmp_path / "doctor.json")
    monkeypatch.setattr(engines, "_TOLD", set())
    assert engines.default_tts("es") == "kokoro"
    assert engines.default_asr("en") == "faster-whisper"  # tiny.en
    health.save_findings(
        [
            Finding("tts kokoro", "broken", 2.0, "the process died with signal SIGSEGV"),
            Finding("asr faster-whisper:tiny.en", "broken", 1.0, "model.bin is corrupt"),
        ]
    )
    assert engines.default_tts("es") == "espeak-ng"
    assert engines.default_tts("es") == "espeak-ng"
    assert engines.default_asr("en") == "faster-whisper:base"
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and "SIGSEGV" in err[0] and "corrupt" in err[1]
