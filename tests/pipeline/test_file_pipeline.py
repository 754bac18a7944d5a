"""The file pipeline on real speech, with the library API (no CLI)."""

from __future__ import annotations

import pytest

from voxlate.audio import Audio, concatenate, load_audio
from voxlate.errors import NoSpeechError
from voxlate.pipeline.engines import Engines, EngineSpecs
from voxlate.pipeline.file import FileTranslator, report


@pytest.fixture(scope="module")
def en_es():
    return FileTranslator(
        Engines.load(EngineSpecs(voice="tts", enhance="none"), "en", "es"), progress=False
    )


def test_two_utterances_aligned_to_source(en_es, librivox):
    a, b = load_audio(librivox[1][0]), load_audio(librivox[4][0])
    gap = Audio.silence(1.5, 16_000)
    audio = concatenate([gap, a, gap, b], 16_000)
    r = en_es.translate(audio)
    assert len(r.segments) == 2
    s0, s1 = r.segments
    assert "joven" in s0.translation.lower()  # "he was not an ill disposed young man"
    assert "amable" in s1.translation.lower()  # "he might even have been made amiable himself"
    assert s0.output_start == pytest.approx(s0.start, abs=0.01)
    assert s1.output_start >= s0.output_end
    assert r.audio.duration >= audio.duration - 0.05
    assert set(r.timings) == {"vad", "enhance", "asr", "mt", "tts", "voice", "diarize", "total"}
    rep = report(r, en_es.engines, "in.wav", "out.wav")
    assert rep["engines"]["tts"] == "kokoro:jf_gongitsune"  # the file default for Spanish
    assert rep["engines"]["mt"] == "apertium:eng-spa"


def test_silence_raises_no_speech(en_es):
    with pytest.raises(NoSpeechError):
        en_es.translate(Audio.silence(3.0, 16_000))


def test_english_tts_round_trip_through_asr():
    """English output is checked by recognising it again with the English ASR."""
    from voxlate.engines import asr, tts
    from voxlate.metrics import wer
    from voxlate.text.normalize import normalize_text

    text = "The weather is nice today and we are going to the park."
    speech = concatenate(list(tts.REGISTRY.create("piper").synthesize(text, "en")), 22_050)
    heard = asr.REGISTRY.create("faster-whisper").transcribe(speech, "en").text
    assert wer([normalize_text(text)], [normalize_text(heard)]) <= 0.1, heard


def test_auto_enhancement_runs_only_on_noisy_speech(librivox):
    """'auto' skips the enhancer on clean speech and runs it under 5 dB white noise."""
    import numpy as np

    from voxlate.pipeline.file import FileTranslator
    from voxlate.pipeline.lazy_enhancer import LazyEnhancer

    engines = Engines.load(EngineSpecs(voice="tts", enhance="deepfilter"), "en", "en")
    t = FileTranslator(engines, progress=False, enhance_mode="auto")
    gap = Audio.silence(1.0, 16_000)
    clean = concatenate([gap, load_audio(librivox[1][0]), gap], 16_000)
    assert t.translate(clean).timings["enhance"] == 0.0
    # DeepFilterNet is loaded on first use only: a clean recording never loads it
    assert isinstance(engines.enhancer, LazyEnhancer) and not engines.enhancer.loaded
    assert engines.names["enhance"] == "deepfilter"
    rng = np.random.default_rng(1)
    speech_rms = np.sqrt(np.mean(load_audio(librivox[1][0]).samples ** 2))
    noise = rng.standard_normal(len(clean.samples)).astype(np.float32) * speech_rms / 10 ** (5 / 20)
    noisy = Audio(clean.samples + noise, 16_000)
    assert t.translate(noisy).timings["enhance"] > 0.0
    assert engines.enhancer.loaded
    assert not FileTranslator(engines, enhance_mode="never").needs_enhancement(noisy, -10.0)
    assert FileTranslator(engines, enhance_mode="always").needs_enhancement(clean, -90.0)


def test_unknown_enhance_mode_is_rejected(en_es):
    """A typo in the mode is an error in both pipelines (it used to mean 'never')."""
    from voxlate.errors import InputError
    from voxlate.pipeline.stream import StreamConfig, StreamTranslator

    with pytest.raises(InputError, match="enhance mode"):
        FileTranslator(en_es.engines, enhance_mode="alway")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="enhance mode"):
        StreamTranslator(en_es.engines, StreamConfig(enhance="sometimes"))  # type: ignore[arg-type]


def test_server_and_cli_build_the_same_voice_stage():
    """The server's voice adapter is configured as the CLI's, so a request sounds the same."""
    from voxlate.pipeline.voice import build_voice_stage as load_voice_stage
    from voxlate.server.pool import EnginePool

    cli = load_voice_stage("preserve")
    server = EnginePool()._new_voice_stage("preserve")
    assert type(server) is type(cli)
    assert vars(server.adapter) == vars(cli.adapter) | {"encoder": server.adapter.encoder}
    assert server.adapter.search is False
