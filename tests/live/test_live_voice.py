"""The server's live voice: Kokoro by default, eSpeak NG on a machine too slow for it."""

from __future__ import annotations

import time

import numpy as np
import pytest

from voxlate.audio import Audio
from voxlate.pipeline.engines import (
    LIVE_FALLBACK_TTS,
    LIVE_MAX_RTF,
    EngineSpecs,
    default_tts,
    live_tts_choice,
)
from voxlate.pipeline.stream_sched import DeadlineLock
from voxlate.server.live_voice import announce, choose_live_voice, real_time_factor
from voxlate.server.pool import EnginePool


class _Timed:
    """A synthesizer that takes `wall_s` to make 0.5 s of audio."""

    def __init__(self, wall_s: float) -> None:
        self.wall_s = wall_s
        self.calls = 0

    def languages(self) -> set[str]:
        return {"es"}

    def synthesize(self, text: str, language: str):
        self.calls += 1
        time.sleep(self.wall_s)
        yield Audio(np.zeros(12_000, np.float32), 24_000)


def _pool_with(synth: _Timed) -> EnginePool:
    pool = EnginePool(EngineSpecs(voice="tts", live=True))
    pool._shared[("tts", "kokoro")] = (synth, DeadlineLock())
    return pool


def test_kokoro_is_the_live_default_where_it_speaks():
    for lang in ("es", "fr", "it", "pt", "hi", "ja"):
        assert default_tts(lang, live=True) == "kokoro"
    assert default_tts("en", live=True) == "piper"
    assert default_tts("de", live=True) == "espeak-ng"


def test_real_time_factor_times_one_call_after_a_warm_up():
    synth = _Timed(0.1)
    rtf = real_time_factor(synth, "es")
    assert synth.calls == 2
    assert 0.2 <= rtf < 0.2 + 0.5  # 0.1 s for 0.5 s of speech, plus scheduling noise


def test_a_slow_machine_falls_back_to_espeak_and_says_so(capsys):
    slow = _Timed(0.5 * LIVE_MAX_RTF + 0.2)  # real-time factor above the limit
    pool = _pool_with(slow)
    choice = choose_live_voice(pool, "es")
    assert choice is not None and choice.spec == LIVE_FALLBACK_TTS and choice.default == "kokoro"
    assert choice.rtf is not None and choice.rtf > LIVE_MAX_RTF
    assert pool.too_slow_tts == {"kokoro"}
    announce(choice)
    err = capsys.readouterr().err
    assert err.startswith("live voice: espeak-ng, not kokoro") and "too slow" in err
    assert choice.to_json()["spec"] == "espeak-ng"


def test_a_fast_machine_keeps_kokoro():
    pool = _pool_with(_Timed(0.01))
    choice = choose_live_voice(pool, "es")
    assert choice is not None and choice.spec == "kokoro" and not pool.too_slow_tts
    assert choice.message.startswith("live voice: kokoro (real-time factor")


def test_a_named_synthesizer_is_not_measured():
    pool = EnginePool(EngineSpecs(voice="tts", live=True, tts="kokoro"))
    assert choose_live_voice(pool, "es") is None
    assert live_tts_choice("espeak-ng", 9.0)[0] == "espeak-ng"


@pytest.mark.slow
def test_server_health_reports_the_fallback_and_sessions_get_espeak():
    from fastapi.testclient import TestClient

    from voxlate.server.app import create_app
    from voxlate.server.config import ServerConfig

    pool = _pool_with(_Timed(0.5 * LIVE_MAX_RTF + 0.2))
    cfg = ServerConfig(specs=pool.specs, voice="tts", allow_hosts=("testserver",))
    app = create_app(cfg, pool)
    with TestClient(app) as client:
        body = client.get("/v1/health").json()
        assert body["live_tts"]["es"]["spec"] == "espeak-ng"
        assert body["live_tts"]["es"]["rtf"] > LIVE_MAX_RTF
        pair = pool.load_now("en", "es")
        assert pair.engines.names["tts"].startswith("espeak-ng")


@pytest.mark.slow
def test_live_sessions_with_kokoro_speak_through_the_fitted_style():
    """The server gives a Kokoro session the styled stage (style fitted in the background,
    looked up at ~0 s), not the WORLD adapter; stages are pooled per synthesizer."""
    pytest.importorskip("resemblyzer")
    import asyncio

    from voxlate.engines.tts.kokoro import KokoroSynthesizer
    from voxlate.pipeline.voice.mode import VoiceMode
    from voxlate.pipeline.voice.styled import StyledVoiceStage

    pool = EnginePool(EngineSpecs(voice="tts", live=True))
    kokoro = KokoroSynthesizer()
    mode = VoiceMode("preserve")
    stage = asyncio.run(pool.acquire_voice(mode, kokoro))
    assert isinstance(stage, StyledVoiceStage) and stage.background
    pool.release_voice(mode, stage)
    assert asyncio.run(pool.acquire_voice(mode, kokoro)) is stage
    assert not isinstance(asyncio.run(pool.acquire_voice(mode)), StyledVoiceStage)


def test_voxlate_live_falls_back_to_espeak_replacing_only_the_synthesizer(monkeypatch, capsys):
    """`voxlate live` probes its default synthesizer as the server does: too slow here ->
    eSpeak NG takes its place, with the voice stage rebuilt for it (sharing the speaker
    encoder); the VAD, enhancer, recognizer and translator are not loaded again."""
    import voxlate.pipeline.engines as pe
    import voxlate.server.live_voice as live_voice
    from voxlate.cli.live import live_voice_or_fallback
    from voxlate.pipeline.engines import Engines

    class _Synth:
        def __init__(self, name: str) -> None:
            self.name = name

        @classmethod
        def from_spec(cls, arg):
            return cls(arg)

        def languages(self) -> set[str]:
            return {"es"}

    class _Stage:
        spec = "preserve:kokoro-style+converter"
        encoder = object()

    probed: list[str] = []
    created: list[tuple[str, str]] = []
    built: list[tuple] = []

    def slow(synthesizer, language, text="x"):
        probed.append(synthesizer.name)
        return LIVE_MAX_RTF + 1.0

    def create(kind, spec):
        created.append((kind, spec))
        return _Synth(spec)

    def build(voice, synthesizer, live=False, encoder=None):
        built.append((voice, synthesizer.name, live, encoder))
        return type("W", (), {"spec": "preserve:world+resemblyzer"})()

    def no_reload(*a, **k):
        raise AssertionError("the engines were loaded again")

    monkeypatch.setattr(live_voice, "real_time_factor", slow)
    monkeypatch.setattr(pe, "create_engine", create)
    monkeypatch.setattr("voxlate.pipeline.voice.build_voice_stage", build)
    monkeypatch.setattr(Engines, "load", no_reload)
    old = Engines(
        "en",
        "es",
        "vad",
        "enh",
        "asr",
        "mt",
        _Synth("kokoro"),
        _Stage(),  # type: ignore[arg-type]
        {"vad": "silero", "asr": "faster-whisper:tiny.en", "tts": "kokoro", "voice": _Stage.spec},
        {"tts": "kokoro", "voice": "preserve"},
    )
    engines = live_voice_or_fallback(old, EngineSpecs(live=True, voice="preserve"), "en", "es")
    assert probed == ["kokoro"] and created == [("tts", LIVE_FALLBACK_TTS)]
    assert built == [("preserve", LIVE_FALLBACK_TTS, True, _Stage.encoder)]
    assert engines.synthesizer.name == LIVE_FALLBACK_TTS
    assert (engines.vad, engines.enhancer, engines.recognizer, engines.translator) == (
        "vad",
        "enh",
        "asr",
        "mt",
    )
    assert engines.names["tts"] == "espeak-ng:es" and engines.names["asr"] == old.names["asr"]
    assert engines.names["voice"] == "preserve:world+resemblyzer"
    assert engines.specs == {"tts": LIVE_FALLBACK_TTS, "voice": "preserve"}
    assert "live voice: espeak-ng, not kokoro" in capsys.readouterr().err


def test_a_kokoro_pair_has_espeak_as_its_late_voice_with_its_own_lock(pool):
    """The server's en->es pair speaks Kokoro, and eSpeak NG for pieces that cannot have
    Kokoro in time; each has its own shared lock (the late voice's lock is not Kokoro's)."""
    pair = pool.load_now("en", "es")
    engines, locks = pair.engines, pair.locks
    if not engines.names["tts"].startswith("kokoro"):
        pytest.skip("this machine's probe chose eSpeak NG live: no late voice")
    assert engines.late is not None and engines.late.languages() >= {"es"}
    kokoro_lock = pool.shared("tts", engines.specs["tts"])[1]
    assert locks.tts is kokoro_lock
    assert locks.late_tts is pool.shared("tts", LIVE_FALLBACK_TTS)[1]
    assert locks.late_tts is not locks.tts
    from voxlate.pipeline.engines import late_synthesizer

    assert late_synthesizer(engines.late, "es") is None  # eSpeak NG needs no late voice
