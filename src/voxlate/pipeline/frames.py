"""Typed records that pipeline stages exchange."""

from __future__ import annotations

from dataclasses import dataclass

from voxlate.audio import Audio

STAGES = ("vad", "enhance", "asr", "mt", "tts", "voice")


@dataclass(frozen=True)
class Utterance:
    """One stretch of speech cut from the input; times in seconds from the input's start."""

    index: int
    start: float
    end: float
    audio: Audio


@dataclass(frozen=True)
class TranslatedUtterance:
    """An utterance after recognition, translation and synthesis."""

    utterance: Utterance
    source_text: str
    translation: str
    speech: Audio | None  # None when there was nothing to say
    mt_engine: str = ""  # the engine that made `translation` (a guarded LLM may fall back)


@dataclass(frozen=True)
class PlacedSegment:
    """A translated utterance placed on the output timeline (seconds)."""

    start: float
    end: float
    source_text: str
    translation: str
    output_start: float
    output_end: float
    mt_engine: str = ""  # the engine that made `translation`, e.g. "apertium:eng-spa"
    speaker: str = ""  # the source speaker's label ("S1", ...; '' when not diarized)
    speed: float = 1.0  # how much the clip was sped up to fit its slot (x)
    shift_s: float = 0.0  # output_start - start: how late it plays (s)
    shortened: bool = False  # whether the translator gave a shorter line to fit the slot
    voice: str = ""  # a voice for this segment alone (a `--voice` value; '': the speaker's)
