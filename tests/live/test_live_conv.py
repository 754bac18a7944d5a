"""The converter live: adapted per speaker in the background, switched to once ready
(`pipeline/voice/adapt_later.py`, `StyledVoiceStage.later`), and which voice spoke each
utterance (`Latency.voice`)."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import threading

import numpy as np
import pytest

from voxlate.audio import Audio
from voxlate.engines.voice.style_fit import FitResult
from voxlate.pipeline.voice.adapt_later import NICE, BackgroundAdapter
from voxlate.pipeline.voice.styled import StyledVoiceStage

from .conftest import with_pauses

RATE = 16_000


class _Encoder:
    """Every clip is the same speaker."""

    name = "fake-encoder"
    dim = 4

    def embed(self, audio: Audio) -> np.ndarray:
        return np.array([1.0, 0.0, 0.0, 0.0], np.float32)


class _Fitter:
    """Styles at once; the background fit waits for `release` (so 'pack' is seen first)."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def fit(self, target, method=None, cancel=None) -> FitResult:  # type: ignore[no-untyped-def]
        if method != "pack":
            self.release.wait(60)
        z = np.zeros(8, np.float32)
        return FitResult(
            z, np.full((510, 256), 0.1 if method else 0.2, np.float32), None, 0.9, 0, 0
        )


class _Converter:
    """A fast stand-in for the converter: halves the speech; records how it was adapted."""

    name = "converter"

    def __init__(self) -> None:
        self.fit_seconds = 12.0
        self.fitted_on: list[float] = []
        self.nice: list[int] = []
        self.torch_threads: list[int] = []

    def fit(self, speech: Audio, target: Audio, target_embedding=None) -> dict:  # type: ignore[no-untyped-def]
        import torch

        self.fitted_on.append(target.duration)
        self.nice.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        self.torch_threads.append(torch.get_num_threads())
        return {"gain": 0.5}

    def convert(self, speech: Audio, params: dict) -> Audio:
        return Audio(speech.samples * params["gain"], speech.sample_rate)


def _clip(seconds: float, seed: int = 0) -> Audio:
    rng = np.random.default_rng(seed)
    return Audio((0.1 * rng.standard_normal(int(seconds * RATE))).astype(np.float32), RATE)


def _stage(mode: str = "preserve", adapt_after_s: float = 5.0):  # type: ignore[no-untyped-def]
    conv = _Converter()
    later = BackgroundAdapter(conv, adapt_after_s=adapt_after_s)  # type: ignore[arg-type]
    fitter = _Fitter()
    stage = StyledVoiceStage(mode, fitter, _Encoder(), background=True, later=later)  # type: ignore[arg-type]
    return stage, fitter, conv


def test_background_adaptation_switches_the_voice_after_enough_speech():
    """2 s utterances, adaptation after 5 s heard: utterances 1-3 in the style alone (the
    first in the nearest pack), the adaptation runs niced on one torch thread on the 6 s
    heard, and utterance 4 on is converted."""
    stage, fitter, conv = _stage()
    speech = _clip(1.0, 9)
    labels, outs = [], []
    for k in range(5):
        outs.append(stage.convert(speech, _clip(2.0, k)))
        labels.append(stage.last_voice)
        if k == 0:
            fitter.release.set()
        stage.wait(60)
    assert labels == ["pack", "style", "style", "style+converter", "style+converter"]
    assert all(o is speech for o in outs[:3])
    assert np.allclose(outs[3].samples, speech.samples * 0.5)
    assert conv.fitted_on == [pytest.approx(6.0)]  # once, on the speech heard so far
    assert conv.nice == [NICE] and conv.torch_threads == [1]
    assert conv.fit_seconds >= 300  # a background adaptation is not cut at the caller's 12 s
    assert stage.spec == "preserve:kokoro-style+converter"
    assert len(stage.later.done) == 1 and stage.later.done[0].speech_s == pytest.approx(6.0)


def test_the_adaptation_waits_for_the_utterance_being_spoken():
    """While the live pipeline speaks an utterance (`speaking(True)`), the adaptation it
    triggered waits; it runs once that utterance's audio is out."""
    stage, fitter, conv = _stage(adapt_after_s=1.0)
    fitter.release.set()
    stage.speaking(True)
    stage.convert(_clip(0.5), _clip(2.0))
    threading.Event().wait(0.5)
    assert conv.fitted_on == [] and not stage.later.ready(0)
    stage.speaking(False)
    stage.wait(60)
    assert conv.fitted_on == [pytest.approx(2.0)] and stage.later.ready(0)


def test_a_reference_clip_adapts_at_once_and_is_kept_across_sessions():
    conv = _Converter()
    fitter = _Fitter()
    fitter.release.set()
    ref = _clip(3.0, 7)
    stage = StyledVoiceStage(
        "reference", fitter, _Encoder(), reference=ref, background=True,  # type: ignore[arg-type]
        later=BackgroundAdapter(conv),  # type: ignore[arg-type]
    )  # fmt: skip
    speech = _clip(0.5)
    assert stage.convert(speech, _clip(0.3, 1)) is speech  # adapting on the clip meanwhile
    stage.wait(60)
    assert conv.fitted_on == [pytest.approx(3.0)]
    stage.reset()  # a new session: the reference's adaptation is kept
    stage.convert(speech, _clip(0.3, 2))
    assert stage.last_voice == "style+converter" and len(conv.fitted_on) == 1


def test_reset_forgets_the_adaptation():
    stage, fitter, conv = _stage(adapt_after_s=1.0)
    fitter.release.set()
    stage.convert(_clip(0.5), _clip(2.0))
    stage.wait(60)
    stage.convert(_clip(0.5), _clip(2.0, 1))
    assert stage.last_voice == "style+converter"
    stage.reset()
    stage.convert(_clip(0.5), _clip(0.5, 2))  # 0.5 s heard: below the threshold again
    assert stage.last_voice != "style+converter" and len(conv.fitted_on) == 1


def test_a_failed_adaptation_keeps_the_style_and_is_not_retried():
    stage, fitter, conv = _stage(adapt_after_s=1.0)
    fitter.release.set()

    def broken(*a, **k):  # type: ignore[no-untyped-def]
        conv.fitted_on.append(0.0)
        raise RuntimeError("no")

    conv.fit = broken  # type: ignore[method-assign]
    for k in range(3):
        stage.convert(_clip(0.5), _clip(2.0, k))
        stage.wait(60)
    assert stage.last_voice == "style" and conv.fitted_on == [0.0]
    assert stage.later.errors == ["RuntimeError: no"]


def test_anonymize_refuses_the_converter_live():
    """anonymize keeps its guarantees live as in files: no converter, by default or named."""
    from voxlate.errors import InputError
    from voxlate.pipeline.voice import parse_voice
    from voxlate.pipeline.voice.post import default_post

    assert default_post("anonymize", live=True) is None
    with pytest.raises(InputError):
        parse_voice("anonymize+converter")
    with pytest.raises(ValueError):
        _stage("anonymize")


def test_live_default_post_is_the_converter_for_preserve_and_reference(monkeypatch):
    import voxlate.pipeline.voice.post as post

    monkeypatch.setattr(post, "converter_unavailable", lambda name="converter": "")
    assert post.default_post("preserve", live=True) == post.LIVE_DEFAULT_POST
    assert post.default_post("reference", live=True) == post.LIVE_DEFAULT_POST
    assert post.default_post("tts", live=True) is None


class _StyledSynth:
    """A StyledSynthesizer stand-in: 1.2 s of tone per sentence, in any style."""

    name = "fake-kokoro"
    style_dim = 256

    def languages(self) -> set[str]:
        return {"es"}

    def synthesize(self, text: str, language: str, style=None):  # type: ignore[no-untyped-def]
        t = np.arange(int(1.2 * 24_000)) / 24_000
        yield Audio((0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 24_000)


def test_latency_events_say_which_voice_spoke_each_utterance(engines, librivox):
    """A live stream of four LibriVox lines: the first in the stock voice (the warm-up), the
    voice never goes back, the last ones are converted once adapted (after 5 s of speech;
    the last two lines are fed once the adaptation is done)."""
    from voxlate.pipeline.stream import StreamConfig, StreamTranslator
    from voxlate.pipeline.stream_events import AudioOut, Latency
    from voxlate.pipeline.stream_io import file_frames

    stage, fitter, conv = _stage()
    fitter.release.set()
    eng = dataclasses.replace(engines, synthesizer=_StyledSynth(), voice=stage)
    first = with_pauses([p for p, _ in librivox[:2]], pause_s=1.5)
    rest = with_pauses([p for p, _ in librivox[2:4]], pause_s=1.5)

    async def frames():  # type: ignore[no-untyped-def]
        async for f in file_frames(first, realtime=False):
            yield f
        for _ in range(1200):  # the niced adaptation may wait for CPU on a busy machine
            if stage.later.ready(0):
                break
            await asyncio.sleep(0.1)
        async for f in file_frames(rest, realtime=False):
            yield f

    async def go():  # type: ignore[no-untyped-def]
        s = StreamTranslator(eng, StreamConfig(speculate_speech=False))
        return [ev async for ev in s.run(frames())]

    events = asyncio.run(go())
    lat = [e for e in events if isinstance(e, Latency) and e.first_audio_s is not None]
    voices = [e.voice for e in lat]
    order = ["stock", "pack", "style", "style+converter"]
    assert len(lat) >= 3 and voices[0] == "stock" and voices[-1] == "style+converter", voices
    assert [order.index(v) for v in voices] == sorted(order.index(v) for v in voices)
    assert all(e.to_json()["voice"] == e.voice for e in lat)
    last = [e.audio for e in events if isinstance(e, AudioOut) and e.index == lat[-1].index]
    assert max(float(np.abs(a.samples).max()) for a in last) < 0.2  # halved by the converter
    assert conv.fitted_on and conv.fitted_on[0] >= 5.0


@pytest.mark.slow
def test_real_converter_adapts_in_the_background_and_moves_the_voice(librivox):
    """Kokoro + the shipped converter, live: LibriVox lines (one reader) spoken in Spanish;
    after the first 7 s line the converter adapts in the background, and the converted
    speech of the next lines is closer (Resemblyzer) to the reader's other lines than the
    style alone (measured: +0.06 to +0.08)."""
    pytest.importorskip("resemblyzer")
    from voxlate.audio import load_audio
    from voxlate.engines.tts.kokoro import KokoroSynthesizer
    from voxlate.engines.voice import ENCODERS
    from voxlate.pipeline.voice import build_voice_stage
    from voxlate.pipeline.voice.post import converter_unavailable
    from voxlate.pipeline.voicing import synthesize_in_voice

    if converter_unavailable():
        pytest.skip(converter_unavailable())
    kokoro = KokoroSynthesizer()
    enc = ENCODERS.create("resemblyzer")
    stage = build_voice_stage("preserve", kokoro, live=True, encoder=enc)
    assert isinstance(stage, StyledVoiceStage) and stage.later is not None
    src = [load_audio(p, RATE) for p, _ in librivox[:3]]
    emb = [enc.embed(a) for a in src]
    lines = [
        "No era un joven mal dispuesto.",
        "El tiempo pasaba despacio en la casa vieja.",
    ]

    def sim(a: Audio, k: int) -> float:
        c = np.mean([e for j, e in enumerate(emb) if j != k], axis=0)
        return float(enc.embed(a.resample(RATE)) @ (c / np.linalg.norm(c)))

    def spoken(text: str, source: Audio) -> Audio:
        chunks = list(synthesize_in_voice(kokoro, stage, text, "es", source))
        return Audio(np.concatenate([c.samples for c in chunks]), chunks[0].sample_rate)

    first = spoken("Hola, esto es una prueba.", src[0])
    assert stage.convert(first, src[0]) is first  # 7 s heard: adapting, the style meanwhile
    stage.wait(600)
    assert stage.later.ready(0) and stage.later.done[0].speech_s > 5.0
    gains = []
    for k, text in zip((1, 2), lines, strict=True):
        speech = spoken(text, src[k])
        out = stage.convert(speech, src[k])
        assert stage.last_voice == "style+converter" and out.duration == speech.duration
        gains.append(sim(out, k) - sim(speech, k))
    assert np.mean(gains) > 0.02, gains
