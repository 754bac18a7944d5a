"""`voxlate eval asr-korean`: espeak-ng synthesis settings and the CER bookkeeping."""

from __future__ import annotations

import shutil

import pytest

from voxlate.audio import Audio
from voxlate.engines.asr import Transcript
from voxlate.eval.asr_korean import KOREAN_SENTENCES, KoreanSpeech, evaluate_korean

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")


class _Parrot:
    """A stub recognizer that answers the given texts in turn and records the audio."""

    def __init__(self, answers: list[str]) -> None:
        self.answers, self.durations = list(answers), []

    def transcribe(self, audio: Audio, language: str | None = None) -> Transcript:
        self.durations.append(audio.duration)
        return Transcript(text=self.answers.pop(0), language=language or "ko")


def test_perfect_recognizer_scores_zero_and_settings_reach_espeak():
    sentences = KOREAN_SENTENCES[:2]
    fast, slow = _Parrot(list(sentences)), _Parrot(list(sentences))
    r = evaluate_korean(fast, KoreanSpeech(rate=175), sentences)
    assert r.cer == 0 and r.cer_no_spaces == 0 and r.audio_s > 1
    evaluate_korean(slow, KoreanSpeech(voice="ko+m3", rate=100, word_gap=20), sentences)
    assert all(s > f for s, f in zip(slow.durations, fast.durations, strict=True))
    assert KoreanSpeech("ko+m3", 100, 40, 20).label() == "-v ko+m3 -s 100 -p 40 -g 20"


def test_spacing_errors_count_only_with_spaces():
    sentence = ("안녕하세요 반갑습니다",)
    r = evaluate_korean(_Parrot(["안녕 하세요반갑습니다"]), KoreanSpeech(), sentence)
    assert r.cer_no_spaces == 0 and r.cer > 0
