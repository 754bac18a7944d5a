"""Synthesis in the chosen voice: the one place file and live pipelines ask for a style.

A voice stage that chooses styles (`StyledVoice`, e.g. Kokoro's fitted style for the
speaker) and a synthesizer that takes them (`StyledSynthesizer`) meet here; any other
combination synthesizes in the synthesizer's own voice (and the voice stage re-voices
it afterwards, e.g. WORLD).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from voxlate.audio import Audio
from voxlate.engines.tts.base import StyledSynthesizer, Synthesizer
from voxlate.pipeline.voice.styled import StyledVoice


def synthesize_in_voice(
    synthesizer: Synthesizer,
    voice: Any,
    text: str,
    language: str,
    source: Audio,
    speaker: str | None = None,
) -> Iterator[Audio]:
    """`synthesizer.synthesize(text, language)`, with the style `voice` picks for `source`
    when both support styles (the style is chosen before the first chunk).

    speaker: the source speaker's label when the voice stage was told the speakers up
    front (`SpeakerVoice.assign`); None: the stage finds the speaker itself."""
    if isinstance(voice, StyledVoice) and isinstance(synthesizer, StyledSynthesizer):
        style = voice.style_for(source) if speaker is None else voice.style_for(source, speaker)
        if style is not None:
            return synthesizer.synthesize(text, language, style=style)
    return synthesizer.synthesize(text, language)
