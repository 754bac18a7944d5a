"""Apertium on known sentences, and the clean-up of its output."""

from __future__ import annotations

import shutil

import pytest

from voxlate.engines.mt.apertium import ApertiumTranslator, tidy
from voxlate.errors import MissingDependencyError, UnsupportedLanguageError

pytestmark = pytest.mark.skipif(
    shutil.which("apertium") is None, reason="apertium is not installed"
)


@pytest.fixture(scope="module")
def apertium():
    return ApertiumTranslator()


def test_discovers_installed_pairs(apertium):
    assert {("en", "es"), ("es", "en")} <= apertium.pairs()


@pytest.mark.parametrize(
    ("source", "target", "text", "expected"),
    [
        ("en", "es", "The house is big.", "La casa es grande."),
        ("en", "es", "I have two dogs.", "Tengo dos perros."),
        ("es", "en", "El perro come pan.", "The dog eats bread."),
    ],
)
def test_known_sentences(apertium, source, target, text, expected):
    assert apertium.translate(text, source, target) == expected


def test_clean_output_keeps_names_and_sentence_case(apertium):
    out = apertium.translate(
        "Hello world. Mr. John Dashwood met Mary in London, said zorblax.", "en", "es"
    )
    assert "*" not in out and "#" not in out and "@" not in out
    assert " ," not in out and " ." not in out
    for name in ("John", "Dashwood", "Mary", "Londres"):  # names kept, place names translated
        assert name in out
    assert out[0].isupper()
    assert "Mundo" not in out  # Apertium capitalises it; sentence case does not


def test_batch_matches_single_calls(apertium):
    texts = ["The cat sleeps.", "", "We go to the market tomorrow."]
    batch = apertium.translate_batch(texts, "en", "es")
    assert batch[1] == ""
    assert batch[0] == apertium.translate(texts[0], "en", "es")
    assert batch[2] == apertium.translate(texts[2], "en", "es")


def test_unsupported_pair_lists_installed(apertium):
    with pytest.raises(UnsupportedLanguageError, match="en->es"):
        apertium.translate("Hello.", "en", "xx")


def test_missing_program_gives_apt_line(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    with pytest.raises(MissingDependencyError, match="apt-get install apertium"):
        ApertiumTranslator()


def test_tidy_sentence_case():
    assert tidy("Hola Allí , amigo .", "Hello there, friend.", "es") == "Hola allí, amigo."
    assert (
        tidy("Hola Allí en Londres", "Hello there in London", "es", {"Allí"})
        == "Hola allí en Londres"
    )
    assert (
        tidy("I think that Madrid is big", "Creo que Madrid es grande", "en")
        == "I think that Madrid is big"
    )


def test_stream_escaping_round_trip():
    from voxlate.engines.mt.apertium_pipe import escape, unescape

    text = r"Costs $5 [net] ^a/b@c <d> {e} \ end"
    assert unescape(escape(text)) == text
    assert unescape("Hola[][\n]") == "Hola  "  # superblanks become spaces


def test_persistent_pipeline_matches_the_apertium_program(apertium):
    texts = [
        "He was not an ill-disposed young man.",
        "Seven of clubs, four of hearts; costs $5 [net].",
        "Hello world. Mr. John Dashwood met Mary in London.",
    ]
    piped = apertium.translate_batch(texts, "en", "es")
    assert apertium._pipes.get("eng-spa") is not None, "the persistent pipeline was not used"
    one_shot = apertium._one_shot_batch("eng-spa", texts)
    common = apertium._common_words(one_shot, "es")
    from voxlate.engines.mt.apertium import tidy

    assert piped == [tidy(o, t, "es", common) for o, t in zip(one_shot, texts)]


def test_broken_pipeline_falls_back_to_one_shot_calls(monkeypatch):
    import voxlate.engines.mt.apertium as ap

    fresh = ApertiumTranslator()
    monkeypatch.setattr(ap, "mode_commands", lambda f: [["false"]])  # exits at once
    assert fresh.translate("The house is big.", "en", "es") == "La casa es grande."
    assert fresh._pipes["eng-spa"] is None  # not tried again
