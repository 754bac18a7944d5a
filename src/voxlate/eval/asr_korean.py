"""Korean recognition measured on speech synthesised by espeak-ng (`voxlate eval asr-korean`).

No real Korean speech installs offline (neither PyPI nor Debian ships any), so the sentences
below are spoken by espeak-ng's Korean voice, a formant synthesiser; `KoreanSpeech` holds the
synthesis settings (voice variant, rate, pitch, word gap) whose effect the eval measures.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from voxlate.audio import Audio, load_audio
from voxlate.engines.asr.base import Recognizer
from voxlate.errors import MissingDependencyError
from voxlate.metrics import cer
from voxlate.text import normalize_text

# Everyday phrases, 4-12 syllables.
KOREAN_SENTENCES = (
    "안녕하세요 반갑습니다",
    "오늘 날씨가 정말 좋네요",
    "지금 몇 시예요",
    "저는 학교에 갑니다",
    "이것은 얼마입니까",
    "감사합니다 또 만나요",
    "화장실이 어디에 있어요",
    "커피 한 잔 주세요",
    "내일 아침에 전화할게요",
    "한국어를 공부하고 있어요",
)


@dataclass(frozen=True)
class KoreanSpeech:
    """espeak-ng settings for the Korean test sentences."""

    voice: str = "ko"  # espeak-ng voice, optionally with a variant: "ko+m3", "ko+f2", ...
    rate: int = 140  # words per minute (espeak-ng -s)
    pitch: int = 50  # 0-99 (espeak-ng -p)
    word_gap: int = 0  # extra pause between words, units of 10 ms (espeak-ng -g)

    def label(self) -> str:
        extra = (f" -p {self.pitch}" if self.pitch != 50 else "") + (
            f" -g {self.word_gap}" if self.word_gap else ""
        )
        return f"-v {self.voice} -s {self.rate}{extra}"


@dataclass(frozen=True)
class KoreanResult:
    """Scores of one recognizer on the synthesised sentences."""

    speech: KoreanSpeech
    refs: list[str]
    hyps: list[str]
    audio_s: float  # seconds of synthesised speech
    decode_s: float  # seconds spent recognising

    @property
    def cer(self) -> float:
        """Corpus CER (fraction), spaces included."""
        return cer(self.refs, self.hyps)

    @property
    def cer_no_spaces(self) -> float:
        """Corpus CER (fraction) ignoring word spacing, which the models segment their own way."""
        return cer([r.replace(" ", "") for r in self.refs], [h.replace(" ", "") for h in self.hyps])


def synthesize(text: str, speech: KoreanSpeech, wav: Path) -> Audio:
    """`text` spoken by espeak-ng with `speech` settings, written to `wav` and returned."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise MissingDependencyError("espeak-ng", apt="espeak-ng")
    cmd = [espeak, "-v", speech.voice, "-s", str(speech.rate), "-p", str(speech.pitch)]
    if speech.word_gap:
        cmd += ["-g", str(speech.word_gap)]
    subprocess.run([*cmd, "-w", str(wav), text], check=True)
    return load_audio(wav)


def evaluate_korean(
    recognizer: Recognizer,
    speech: KoreanSpeech | None = None,
    sentences: Sequence[str] = KOREAN_SENTENCES,
) -> KoreanResult:
    """Transcribe each sentence as synthesised with `speech` (default: `KoreanSpeech()`)."""
    speech = speech or KoreanSpeech()
    hyps, decode_s, audio_s = [], 0.0, 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for i, s in enumerate(sentences):
            a = synthesize(s, speech, Path(tmp) / f"{i}.wav")
            t0 = time.perf_counter()
            text = recognizer.transcribe(a, "ko").text
            decode_s += time.perf_counter() - t0
            audio_s += a.duration
            hyps.append(normalize_text(text.replace("[", " ").replace("]", " ")))
    return KoreanResult(speech, [normalize_text(s) for s in sentences], hyps, audio_s, decode_s)
