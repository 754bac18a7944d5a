"""Speech anonymization without translation: `revoice` and `voxlate voice anonymize`."""

from __future__ import annotations

import numpy as np

from voxlate.audio import Audio, Span, concatenate, load_audio, save_audio
from voxlate.pipeline.voice.revoice import revoice


class Doubler:
    """A stand-in voice stage: scales the speech by 2 and records what it was given."""

    spec = "double"

    def __init__(self) -> None:
        self.calls: list[tuple[Audio, Audio]] = []

    def convert(self, speech: Audio, source: Audio) -> Audio:
        self.calls.append((speech, source))
        return Audio(speech.samples * 2.0, speech.sample_rate)

    def reset(self) -> None:
        pass


def test_revoice_converts_spans_only(librivox_clip):
    audio = load_audio(librivox_clip).slice(0.0, 3.0)
    stage = Doubler()
    out = revoice(audio, stage, [Span(0.5, 1.0), Span(2.0, 2.5)])
    assert len(out.samples) == len(audio.samples) and out.sample_rate == audio.sample_rate
    sr = audio.sample_rate
    inside = slice(int(0.6 * sr), int(0.9 * sr))
    outside = slice(int(1.1 * sr), int(1.9 * sr))
    np.testing.assert_allclose(out.samples[inside], 2 * audio.samples[inside], atol=1e-6)
    np.testing.assert_array_equal(out.samples[outside], audio.samples[outside])
    assert len(stage.calls) == 2 and all(s is src for s, src in stage.calls)


def test_cli_anonymize_keeps_words_and_changes_voice(run_cli, tmp_path, librivox, encoder):
    from voxlate.engines.asr import REGISTRY as ASR
    from voxlate.metrics import wer
    from voxlate.tasks.speakers.privacy import scoring_text

    (a, text_a), (b, text_b) = librivox[0], librivox[1]
    pause = Audio.silence(0.8, 16_000)
    src = concatenate([load_audio(a, 16_000), pause, load_audio(b, 16_000)], 16_000)
    save_audio(tmp_path / "in.wav", src)
    code, out, err = run_cli(
        "voice", "anonymize", str(tmp_path / "in.wav"), "-o", str(tmp_path / "out.wav"), "-q"
    )
    assert code == 0, err
    assert "re-voiced" in out
    y = load_audio(tmp_path / "out.wav")
    assert abs(y.duration - src.duration) < 0.01
    assert float(encoder.embed(y) @ encoder.embed(src)) < 0.7  # another voice
    hyp = ASR.create("faster-whisper").transcribe(y, "en").text
    assert wer([scoring_text(f"{text_a} {text_b}")], [scoring_text(hyp)]) < 0.25  # same words


def test_revoice_gives_each_speaker_their_own_pseudo_voice(librivox, cards, encoder):
    from voxlate.engines.vad import REGISTRY as VADS
    from voxlate.pipeline.segmenter import SegmenterConfig, segment_audio
    from voxlate.pipeline.voice.stages import build_world_stage as build_voice_stage

    pause = Audio.silence(1.0, 16_000)
    clips = [load_audio(librivox[0][0], 16_000), load_audio(cards[0][0], 16_000)]
    clips.append(load_audio(librivox[1][0], 16_000))
    src = concatenate([clips[0], pause, clips[1], pause, clips[2]], 16_000)
    spans = segment_audio(src, VADS.create("silero"), SegmenterConfig())
    stage = build_voice_stage("anonymize", encoder, revoice_source=True)
    out = revoice(src, stage, spans)
    assert len(stage.tracker.speakers) == 2  # the LibriVox reader and the cards speaker
    params = [s.params for s in stage.tracker.speakers]
    assert all(p is not None for p in params) and params[0] != params[1]
    assert abs(out.duration - src.duration) < 1e-3


def test_cli_anonymize_bad_input(run_cli, tmp_path):
    save_audio(tmp_path / "quiet.wav", Audio.silence(2.0, 16_000))
    code, _, err = run_cli(
        "voice", "anonymize", str(tmp_path / "quiet.wav"), "-o", str(tmp_path / "o.wav")
    )
    assert code != 0 and "No speech" in err
    assert not (tmp_path / "o.wav").exists()
    code, _, err = run_cli(
        "voice", "anonymize", str(tmp_path / "none.wav"), "-o", str(tmp_path / "o.wav")
    )
    assert code != 0 and "not found" in err
