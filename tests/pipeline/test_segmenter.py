"""Endpointing rules on known probability sequences and on real speech."""

from __future__ import annotations

import numpy as np

from voxlate.audio import Audio, Span, concatenate, load_audio
from voxlate.engines.vad import REGISTRY
from voxlate.pipeline.segmenter import Endpointer, SegmenterConfig, segment_audio

FRAME = 0.032


def spans(probs, config):
    ep = Endpointer(config, FRAME)
    out = [s for p in probs if (s := ep.push(p)) is not None]
    if (s := ep.flush()) is not None:
        out.append(s)
    return out


def test_two_utterances_split_at_long_silence():
    cfg = SegmenterConfig(end_silence_s=0.3, min_speech_s=0.1)
    probs = [0.0] * 5 + [0.9] * 20 + [0.0] * 15 + [0.9] * 10 + [0.0] * 3
    out = spans(probs, cfg)
    assert len(out) == 2
    assert out[0] == Span(5 * FRAME, 25 * FRAME)
    assert out[1].start == 40 * FRAME


def test_short_pause_does_not_split():
    cfg = SegmenterConfig(end_silence_s=0.3, min_speech_s=0.1)
    probs = [0.9] * 20 + [0.0] * 5 + [0.9] * 20
    assert len(spans(probs, cfg)) == 1


def test_short_burst_is_dropped():
    cfg = SegmenterConfig(end_silence_s=0.3, min_speech_s=0.25)
    assert spans([0.0] * 5 + [0.9] * 3 + [0.0] * 20, cfg) == []


def test_long_utterance_is_cut_at_its_quietest_point():
    cfg = SegmenterConfig(end_silence_s=1.0, max_utterance_s=3.0, min_speech_s=0.1)
    probs = [0.9] * 60 + [0.3, 0.2, 0.3] + [0.9] * 100
    out = spans(probs, cfg)
    assert len(out) >= 2
    assert all(s.end - s.start <= 3.0 + FRAME for s in out)
    assert abs(out[0].end - 61 * FRAME) <= 2 * FRAME  # cut in the dip, not mid-word


def test_real_speech_with_pauses(librivox):
    a = load_audio(librivox[1][0])
    b = load_audio(librivox[4][0])
    gap = Audio.silence(1.0, 16_000)
    audio = concatenate([gap, a, gap, b, gap], 16_000)
    got = segment_audio(audio, REGISTRY.create("silero"), SegmenterConfig())
    assert len(got) == 2
    assert abs(got[0].start - 1.0) < 0.5
    assert got[0].end < 1.0 + a.duration + 0.3
    assert got[1].start > 1.0 + a.duration + 0.5


def test_silence_has_no_speech():
    audio = Audio(np.zeros(16_000 * 2, dtype=np.float32), 16_000)
    assert segment_audio(audio, REGISTRY.create("silero"), SegmenterConfig()) == []
