"""Fitting a speaker's voice ahead, while the sentences are translated (`prepare_voices`)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from voxlate.audio import Audio
from voxlate.pipeline.file import prepare_voices
from voxlate.pipeline.voice.stages import PreparingVoice, PreserveVoice


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


class Adapter:
    """Fits on the target's length; records the thread and the speech it was given."""

    name = "fake"

    def __init__(self, without_speech: bool) -> None:
        self.fits_without_speech = without_speech
        self.fits: list[tuple[float, float, str]] = []

    def fit(self, speech: Audio, target: Audio, emb=None) -> float:
        self.fits.append((speech.duration, target.duration, threading.current_thread().name))
        return target.duration

    def convert(self, speech: Audio, params: float) -> Audio:
        return Audio(np.full(10, params, np.float32), speech.sample_rate)


def _stage(encoder, adapter: Adapter) -> tuple[PreserveVoice, list[Audio]]:
    stage = PreserveVoice(encoder, adapter)
    clips = [Audio(np.zeros(16_000 * k, np.float32), 16_000) for k in (1, 2, 3)]
    stage.assign(["S1", "S2", "S1"], clips, _unit(np.eye(3, 256, dtype=np.float32)))
    return stage, clips


def test_a_converter_is_fitted_ahead_on_a_thread_and_not_again(encoder) -> None:
    adapter = Adapter(without_speech=True)
    stage, clips = _stage(encoder, adapter)
    assert isinstance(stage, PreparingVoice)
    timings: dict[str, float] = {}
    done = prepare_voices(stage, ["S1", "S2", "S1"], timings)
    assert done is not None
    done.result(timeout=30)
    assert [(t, who) for _, t, who in adapter.fits] == [
        (4.0, "voice-prepare"),
        (2.0, "voice-prepare"),
    ]
    assert all(speech == 0.0 for speech, _, _ in adapter.fits)  # no synthesized speech needed
    assert timings["voice_fit"] >= 0.0
    speech = Audio(np.zeros(16_000, np.float32), 16_000)
    out = stage.convert(speech, clips[0], speaker="S1")
    assert out.samples[0] == pytest.approx(4.0)
    assert len(adapter.fits) == 2  # the first convert used the fit made ahead


def test_an_adapter_that_needs_the_synthesized_speech_is_left_to_convert(encoder) -> None:
    adapter = Adapter(without_speech=False)
    stage, clips = _stage(encoder, adapter)
    done = prepare_voices(stage, ["S1", "S2", "S1"], {})
    assert done is not None
    done.result(timeout=30)
    assert adapter.fits == []
    stage.convert(Audio(np.zeros(16_000, np.float32), 16_000), clips[0], speaker="S1")
    assert [t for _, t, _ in adapter.fits] == [4.0]


def test_nothing_is_prepared_without_labels_or_a_preparing_stage(encoder) -> None:
    stage, _ = _stage(encoder, Adapter(without_speech=True))
    assert prepare_voices(stage, ["", ""], {}) is None
    assert prepare_voices(object(), ["S1"], {}) is None


def test_a_failing_fit_ahead_is_left_to_the_first_convert(encoder) -> None:
    from voxlate.errors import InputError

    class Failing(Adapter):
        def fit(self, speech: Audio, target: Audio, emb=None) -> float:
            raise InputError("The target speech is too short to adapt the converter to.")

    stage, clips = _stage(encoder, Failing(without_speech=True))
    prepare_voices(stage, ["S1"], {}).result(timeout=30)  # type: ignore[union-attr]
    with pytest.raises(InputError):
        stage.convert(Audio(np.zeros(16_000, np.float32), 16_000), clips[0], speaker="S1")


def test_the_styled_stage_tells_its_post_step_the_speakers(encoder) -> None:
    """Kokoro's styled stage passes the diarized speakers on to its converter post-step, so
    that the converter is fitted on all of a speaker's speech, ahead of the first convert."""
    from voxlate.pipeline.voice.styled import StyledVoiceStage

    class Fitter:  # the style fit is not what this test is about
        def fit(self, target, how=None, cancel=None):  # noqa: ANN001, ANN201
            raise AssertionError("not called for an unknown mode")

    adapter = Adapter(without_speech=True)
    post, clips = _stage(encoder, adapter)
    stage = StyledVoiceStage("anonymize", Fitter(), encoder, post=post)  # type: ignore[arg-type]
    post.tracker.reset()
    stage.assign(["S1", "S2", "S1"], clips, _unit(np.eye(3, 256, dtype=np.float32)))
    assert set(post.tracker.known) == {"S1", "S2"}
    post.prepare("S1")
    assert [t for _, t, _ in adapter.fits] == [4.0]
