"""One contract test per engine interface, over every registered engine that runs here.

Engines that need a model path (ctranslate2, xtts, ...) are exercised with tiny
models in their own test files; here they must at least fail with a clear error.
"""

from __future__ import annotations

import numpy as np
import pytest

from voxlate.audio import Audio, load_audio
from voxlate.engines import asr, enhance, mt, tts, vad
from voxlate.engines.asr.base import Transcript
from voxlate.errors import VoxlateError
from voxlate.metrics import wer
from voxlate.text.normalize import normalize_text

_SPOKEN = {"mr": "mister", "mrs": "missus", "dr": "doctor"}


def norm(text: str) -> str:
    """Normalised English for scoring: lower case, no punctuation, titles spelled out."""
    return " ".join(_SPOKEN.get(w, w) for w in normalize_text(text).split())


def _buildable(registry, name):
    try:
        return registry.create(name)
    except VoxlateError as e:  # needs a model path or a package not installed here
        pytest.skip(f"{registry.kind} engine '{name}' cannot run without arguments here: {e}")


def si_sdr(est: np.ndarray, ref: np.ndarray) -> float:
    ref = ref - ref.mean()
    est = est - est.mean()
    a = np.dot(est, ref) / np.dot(ref, ref)
    t = a * ref
    return float(10 * np.log10(np.sum(t**2) / np.sum((est - t) ** 2)))


@pytest.mark.parametrize("name", vad.REGISTRY.names())
def test_vad_contract(name, librivox_clip):
    v = _buildable(vad.REGISTRY, name)
    assert isinstance(v, vad.VAD)
    speech = load_audio(librivox_clip)
    silence = Audio.silence(2.0, 16_000)
    p_speech = vad.frame_probabilities(v, speech)
    p_silence = vad.frame_probabilities(v, silence)
    assert len(p_speech) == len(speech.resample(v.sample_rate).samples) // v.frame_size
    assert np.all((p_speech >= 0) & (p_speech <= 1))
    assert p_silence.max() < 0.5
    assert np.mean(p_speech >= 0.5) > 0.5  # a read sentence is mostly speech


@pytest.mark.parametrize("name", enhance.REGISTRY.names())
def test_enhancer_contract(name, librivox_clip):
    e = _buildable(enhance.REGISTRY, name)
    assert isinstance(e, enhance.Enhancer)
    clean = load_audio(librivox_clip, 16_000)
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(len(clean.samples)).astype(np.float32)
    noise *= np.sqrt(np.mean(clean.samples**2) / np.mean(noise**2)) / 10 ** (5 / 20)  # 5 dB SNR
    noisy = Audio(clean.samples + noise, 16_000)
    out = e.enhance(noisy)
    assert out.sample_rate == noisy.sample_rate
    assert len(out.samples) == len(noisy.samples)
    assert np.isfinite(out.samples).all()
    before, after = si_sdr(noisy.samples, clean.samples), si_sdr(out.samples, clean.samples)
    if name == "none":
        assert after == pytest.approx(before)
    else:
        assert after > before + 1.0, f"{name}: SI-SDR {before:.1f} -> {after:.1f} dB"


# Embedded models that a plain name does not load are checked by their spec too.
@pytest.mark.parametrize("name", [*asr.REGISTRY.names(), "faster-whisper:base"])
def test_recognizer_contract(name, librivox):
    r = _buildable(asr.REGISTRY, name)
    assert isinstance(r, asr.Recognizer)
    if r.languages is not None and "en" not in r.languages:
        pytest.skip(f"{name} (default model) does not recognise English")
    refs, hyps = [], []
    for path, ref in librivox:
        t = r.transcribe(load_audio(path), "en")
        assert isinstance(t, Transcript) and t.language == "en"
        refs.append(norm(ref))
        hyps.append(norm(t.text))
    # Whisper tiny.en, greedy: about 5-15% on these five LibriVox sentences.
    assert wer(refs, hyps) < 0.25, list(zip(refs, hyps))


@pytest.mark.parametrize("name", mt.REGISTRY.names())
def test_translator_contract(name):
    t = _buildable(mt.REGISTRY, name)
    assert isinstance(t, mt.Translator)
    pairs = t.pairs()
    assert pairs, f"{name} offers no language pair"
    src, tgt = sorted(pairs)[0]
    out = t.translate("Hello.", src, tgt)
    assert isinstance(out, str) and out


@pytest.mark.parametrize("name", tts.REGISTRY.names())
def test_synthesizer_contract(name):
    s = _buildable(tts.REGISTRY, name)
    assert isinstance(s, tts.Synthesizer)
    lang = "en" if "en" in s.languages() else sorted(s.languages())[0]
    chunks = list(s.synthesize("Good morning. How are you today?", lang))
    assert len(chunks) >= 1
    for c in chunks:
        assert isinstance(c, Audio) and c.sample_rate > 0
        assert 0.2 < c.duration < 5.0
        assert np.abs(c.samples).max() > 0.01
    assert list(s.synthesize("", lang)) == []


def test_every_engine_class_has_the_base_contract():
    """`Engine`: a report name and `from_spec`, on every registered class of every kind;
    optional capabilities are Protocols an isinstance check can see."""
    from voxlate.engines import voice
    from voxlate.engines.asr.base import ShortContextRecognizer
    from voxlate.engines.base import Engine
    from voxlate.engines.mt.base import BatchTranslator

    kinds = [vad.REGISTRY, enhance.REGISTRY, asr.REGISTRY, mt.REGISTRY, tts.REGISTRY,
             voice.ENCODERS, voice.ADAPTERS]  # fmt: skip
    for registry in kinds:
        for name in registry.names():
            cls = registry.get(name)
            assert isinstance(cls.name, str) and cls.name.startswith(name), (registry.kind, name)
            assert callable(cls.from_spec), (registry.kind, name)
    assert issubclass(asr.REGISTRY.get("faster-whisper"), ShortContextRecognizer)
    assert issubclass(mt.REGISTRY.get("apertium"), BatchTranslator)
    assert not issubclass(asr.REGISTRY.get("vosk"), ShortContextRecognizer)
    v = vad.REGISTRY.create("energy")
    assert isinstance(v, Engine) and v.name == "energy"
