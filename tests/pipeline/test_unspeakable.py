"""Bad input: a translation with nothing speakable gives a silent segment and a counted
warning in the report, not a crash."""

from __future__ import annotations

import dataclasses

from voxlate.audio import load_audio
from voxlate.pipeline.engines import Engines, EngineSpecs
from voxlate.pipeline.file import FileTranslator, report


class Unspeakable:
    """A translator whose every output is punctuation only."""

    name = "unspeakable"

    def pairs(self) -> set[tuple[str, str]]:
        return {("en", "es")}

    def translate(self, text: str, source: str, target: str) -> str:
        return "¡¡... !!"


def test_unspeakable_translation_is_silent_and_counted(librivox):
    engines = Engines.load(EngineSpecs(voice="tts", enhance="none", tts="kokoro"), "en", "es")
    engines = dataclasses.replace(engines, translator=Unspeakable())
    r = FileTranslator(engines, progress=False).translate(load_audio(librivox[1][0]))
    (seg,) = r.segments
    assert seg.translation == "¡¡... !!" and "young man" in seg.source_text.lower()
    assert seg.output_end - seg.output_start < 0.01  # nothing spoken
    assert abs(r.audio.samples).max() == 0.0
    rep = report(r, engines, "in.wav", "out.wav")
    assert rep["warnings"] == {"kokoro:jf_gongitsune: unspeakable_sentences": 2}
