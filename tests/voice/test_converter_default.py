"""The post-step after Kokoro's style when ``--voice`` names none (issue 24, `post.py`): the
trained converter for preserve / REF.wav when it loads (live: adapted in the background),
else the style alone with a note; ``+none`` turns it off; anonymize keeps its own route.

A tiny stand-in registers as the ``converter`` adapter, so no checkpoint is needed."""

from __future__ import annotations

import numpy as np
import pytest

from voxlate.audio import Audio, load_audio
from voxlate.engines.voice import ADAPTERS
from voxlate.pipeline.voice import build_voice_stage, post
from voxlate.pipeline.voice.mode import VoiceMode, parse_voice
from voxlate.pipeline.voice.stages import PreserveVoice, ReferenceVoice


class HalfConverter:
    """Stand-in converter: adapts by remembering the target's length, converts by halving."""

    name = "converter"
    fits = 0

    @classmethod
    def from_spec(cls, arg: str | None) -> HalfConverter:
        return cls()

    def fit(self, speech: Audio, target: Audio, target_embedding=None):  # type: ignore[no-untyped-def]
        HalfConverter.fits += 1
        return {"target_s": target.duration}

    def convert(self, speech: Audio, params) -> Audio:  # type: ignore[no-untyped-def]
        return Audio(speech.samples * 0.5, speech.sample_rate)


class BrokenConverter(HalfConverter):
    @classmethod
    def from_spec(cls, arg: str | None) -> HalfConverter:
        raise FileNotFoundError("converter.pt is unreadable")


class UnshippedConverter(HalfConverter):
    @classmethod
    def from_spec(cls, arg: str | None) -> HalfConverter:
        from voxlate.errors import MissingDependencyError

        raise MissingDependencyError("The voice converter's checkpoint")


class StyledSynth:
    """Stand-in Kokoro: takes a style per call."""

    style_dim = 256

    def languages(self) -> set[str]:
        return {"en"}

    def synthesize(self, text, language, style=None):  # type: ignore[no-untyped-def]
        yield tone(220.0)


class ToneEncoder:
    """Stand-in speaker encoder: the clip's energy in 256 frequency bands (Resemblyzer's
    size, which the shipped style tuner takes)."""

    dim = 256

    def embed(self, audio: Audio) -> np.ndarray:
        spec = np.abs(np.fft.rfft(audio.samples, 1024))[:512]
        e = spec.reshape(256, 2).sum(1) + 1e-3
        return (e / np.linalg.norm(e)).astype(np.float32)


def tone(hz: float, seconds: float = 1.0) -> Audio:
    t = np.arange(int(16_000 * seconds)) / 16_000
    return Audio((0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32), 16_000)


@pytest.fixture
def converter(monkeypatch):
    """Register `cls` as the 'converter' adapter (None: none registered); fresh probe."""
    ADAPTERS.names()  # load the registry's modules first

    def use(cls: type | None) -> None:
        if cls is None:
            monkeypatch.delitem(ADAPTERS._classes, "converter", raising=False)
        else:
            monkeypatch.setitem(ADAPTERS._classes, "converter", cls)
        post.converter_unavailable.cache_clear()
        post._TOLD.clear()

    yield use
    post.converter_unavailable.cache_clear()
    post._TOLD.clear()


def build(voice: str, live: bool = False):  # type: ignore[no-untyped-def]
    return build_voice_stage(voice, StyledSynth(), live=live, encoder=ToneEncoder())  # type: ignore[arg-type]


def test_files_get_the_converter_after_the_style_by_default(converter, librivox_clip) -> None:
    converter(HalfConverter)
    stage = build("preserve")
    assert stage is not None and stage.spec == "preserve:kokoro-style+converter"
    assert isinstance(stage.post, PreserveVoice) and isinstance(stage.post.adapter, HalfConverter)  # type: ignore[attr-defined]
    speech = tone(300.0)
    out = stage.convert(speech, tone(150.0))
    np.testing.assert_allclose(out.samples, speech.samples * 0.5)  # the converter ran
    ref = build(str(librivox_clip))
    assert ref is not None and ref.spec.endswith("+converter")
    assert isinstance(ref.post, ReferenceVoice) and isinstance(ref.post.adapter, HalfConverter)  # type: ignore[attr-defined]


def test_anonymize_and_plus_none_keep_the_style_alone(converter, capsys) -> None:
    converter(HalfConverter)
    for voice, live in (("anonymize", True), ("anonymize", False), ("preserve+none", True)):
        stage = build(voice, live)
        assert stage is not None and stage.post is None, voice  # type: ignore[attr-defined]
        assert stage.later is None, voice  # type: ignore[attr-defined]
        assert stage.spec.endswith(":kokoro-style"), (voice, stage.spec)
        speech = tone(300.0)
        if voice != "anonymize":
            assert stage.convert(speech, tone(150.0)) is speech
    explicit = build("preserve+world", live=True)
    assert explicit is not None and explicit.spec.endswith("+world")
    assert build("preserve+converter", live=True).spec.endswith("+converter")  # type: ignore[union-attr]
    assert capsys.readouterr().err == ""  # no note when the converter loads


def test_live_preserve_adapts_the_converter_in_the_background(converter) -> None:
    """Live, preserve's default converter is adapted off the caller's thread (`adapt_later`):
    the style alone until it is ready, then converted."""
    from voxlate.pipeline.voice.adapt_later import BackgroundAdapter

    converter(HalfConverter)
    stage = build("preserve", live=True)
    assert stage is not None and stage.post is None  # type: ignore[attr-defined]
    assert isinstance(stage.later, BackgroundAdapter)  # type: ignore[attr-defined]
    assert isinstance(stage.later.adapter, HalfConverter)  # type: ignore[attr-defined]
    assert stage.spec == "preserve:kokoro-style+converter"
    speech, source = tone(300.0), tone(150.0, seconds=6.0)
    assert stage.convert(speech, source) is speech  # 6 s heard: adapting meanwhile
    stage.wait(60)  # type: ignore[attr-defined]
    np.testing.assert_allclose(stage.convert(speech, source).samples, speech.samples * 0.5)


def test_without_a_loadable_converter_the_style_alone_with_one_note(converter, capsys) -> None:
    for cls, why in ((None, "no voice adapter 'converter' is installed"),
                     (UnshippedConverter, "no converter checkpoint is installed"),
                     (BrokenConverter, "did not load (converter.pt is unreadable)")):  # fmt: skip
        converter(cls)
        for _ in range(2):
            stage = build("preserve")
            assert stage is not None and stage.post is None  # type: ignore[attr-defined]
            assert stage.spec == "preserve:kokoro-style"
        err = capsys.readouterr().err
        assert err.count("note:") == 1 and why in err, err  # said once per process


def test_plus_none_reads_back_and_other_synthesizers_keep_world(converter) -> None:
    from voxlate.engines.voice.world import WorldAdapter

    converter(HalfConverter)
    assert parse_voice("preserve+none") == VoiceMode("preserve", post="none")
    assert parse_voice(str(VoiceMode("preserve", post="none"))) == VoiceMode(
        "preserve", post="none"
    )
    assert parse_voice("Preserve+NONE") == VoiceMode("preserve", post="none")
    # without a styled synthesizer the adapter stage is the voice: WORLD, as before
    for voice in ("preserve", "preserve+none"):
        stage = build_voice_stage(voice, None, encoder=ToneEncoder())  # type: ignore[arg-type]
        assert isinstance(stage, PreserveVoice) and isinstance(stage.adapter, WorldAdapter)


def test_the_converter_adapts_on_the_reference_clip(converter, librivox_clip) -> None:
    converter(HalfConverter)
    HalfConverter.fits = 0
    stage = build(str(librivox_clip))
    assert stage is not None
    for _ in range(3):
        stage.convert(tone(300.0), tone(150.0))
    assert HalfConverter.fits == 1  # adapted once on the clip, then reused
    assert stage.post._params == {"target_s": load_audio(librivox_clip).duration}  # type: ignore[attr-defined]


def test_anonymize_refuses_the_converter(converter) -> None:
    """Its pseudo-speaker is WORLD parameters: the converter has no speech to adapt to."""
    from voxlate.errors import InputError

    converter(HalfConverter)
    with pytest.raises(InputError, match=r"anonymize re-voices with WORLD only .* not \+converter"):
        parse_voice("anonymize+converter")
    assert parse_voice("anonymize+none") == VoiceMode("anonymize", post="none")
