"""eSpeak NG voices: languages, accent+variant names, and errors."""

from __future__ import annotations

import numpy as np
import pytest

from voxlate.engines.tts.espeak import EspeakSynthesizer
from voxlate.errors import UnsupportedLanguageError


def test_speaks_spanish_sentence_by_sentence():
    chunks = list(EspeakSynthesizer().synthesize("Hola amigo. ¿Cómo estás?", "es"))
    assert len(chunks) == 2 and all(c.duration > 0.3 for c in chunks)


def test_variant_voice_differs_from_its_accent():
    base = next(EspeakSynthesizer("en-us").synthesize("seven", "en"))
    female = next(EspeakSynthesizer("EN-US+f3").synthesize("seven", "en"))
    n = min(len(base.samples), len(female.samples))
    assert not np.allclose(base.samples[:n], female.samples[:n])
    assert EspeakSynthesizer("en-us+f3").languages() == {"en"}


@pytest.mark.parametrize("voice", ["xx-nowhere", "en-us+nosuchvariant"])
def test_unknown_voice_is_one_sentence(voice):
    with pytest.raises(UnsupportedLanguageError, match="has no voice"):
        EspeakSynthesizer(voice)


def test_unknown_language():
    with pytest.raises(UnsupportedLanguageError):
        list(EspeakSynthesizer().synthesize("hello", "xx"))
