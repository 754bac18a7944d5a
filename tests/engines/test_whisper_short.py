"""Whisper's short-window path for live utterances, on real speech."""

from __future__ import annotations

import pytest

from voxlate.audio import Audio, load_audio
from voxlate.engines.asr.base import ShortContextRecognizer
from voxlate.metrics import wer
from voxlate.text.normalize import normalize_text


@pytest.fixture(scope="module")
def whisper():
    from voxlate.engines.asr import REGISTRY

    return REGISTRY.create("faster-whisper")


def test_short_window_matches_full_decoding(whisper, librivox, cards):
    assert isinstance(whisper, ShortContextRecognizer)
    clips = [load_audio(p, 16_000) for p, _ in [*librivox, *cards]]
    refs = [normalize_text(t) for _, t in [*librivox, *cards]]
    full = [normalize_text(whisper.transcribe(a, "en").text) for a in clips]
    short = [normalize_text(whisper.transcribe_short(a, "en").text) for a in clips]
    assert wer(refs, short) <= wer(refs, full) + 0.03  # measured: 17.4 % vs 18.5 %
    assert wer(full, short) <= 0.05


def test_early_stop_falls_back_to_full_decoding(whisper, librivox, monkeypatch):
    audio = load_audio(librivox[0][0], 16_000)  # 7 s, 22 words
    real = whisper._model.model

    class OneWord:  # the CTranslate2 model, but decoding stops after one token
        def __getattr__(self, name):
            return getattr(real, name)

        def generate(self, features, prompts, **kw):
            return real.generate(features, prompts, **{**kw, "max_length": len(prompts[0]) + 1})

    monkeypatch.setattr(whisper._model, "model", OneWord())
    calls = []
    real_transcribe = whisper.transcribe
    monkeypatch.setattr(
        whisper, "transcribe", lambda a, lang=None: calls.append(1) or real_transcribe(a, lang)
    )
    whisper.transcribe_short(audio, "en")
    assert calls, "a one-word result for 7 s of speech must be decoded again"


def test_long_clips_use_the_full_window(whisper, librivox, monkeypatch):
    import numpy as np

    audio = load_audio(librivox[0][0], 16_000)
    long = Audio(np.tile(audio.samples, 5), 16_000)  # 35 s: no shorter window exists
    calls = []
    monkeypatch.setattr(whisper, "transcribe", lambda a, lang=None: calls.append(1))
    whisper.transcribe_short(long, "en")
    assert calls == [1]


def test_a_batch_decodes_each_utterance_as_on_its_own(whisper, librivox, cards):
    """Live utterances (all under the 10 s window) come out of one batched call exactly as
    they do one by one, in order, whatever their lengths."""
    clips = [load_audio(p, 16_000) for p, _ in [*librivox[:3], *cards[:2]]]
    alone = [whisper.transcribe_short(a, "en").text for a in clips]
    together = [t.text for t in whisper.transcribe_short_batch(clips, "en")]
    assert together == alone
    assert whisper.transcribe_short_batch([], "en") == []


def test_the_recognizer_leaves_a_core_to_the_other_engines(monkeypatch):
    """On 2 cores the recognizer decodes on 1 thread (the synthesizer has the other)."""
    import types

    import faster_whisper

    from voxlate.engines.asr.faster_whisper import FasterWhisperRecognizer

    seen = {}

    def model(path, **kw):
        seen.update(kw)
        return types.SimpleNamespace(model=types.SimpleNamespace(is_multilingual=False))

    monkeypatch.setattr(faster_whisper, "WhisperModel", model)
    monkeypatch.setattr("voxlate.engines.threads.default_threads", lambda: 2)
    FasterWhisperRecognizer()
    assert seen["cpu_threads"] == 1
    monkeypatch.setattr("voxlate.engines.threads.default_threads", lambda: 4)
    FasterWhisperRecognizer()
    assert seen["cpu_threads"] == 3
    FasterWhisperRecognizer(cpu_threads=2)
    assert seen["cpu_threads"] == 2
