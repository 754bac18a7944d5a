import pytest

from voxlate.text import Tokenizer, compose_jamo, decompose_hangul, normalize_text
from voxlate.text.tokenizers import BLANK, BOS, EOS


def test_jamo_round_trip_all_syllables():
    every = "".join(chr(c) for c in range(0xAC00, 0xAC00 + 11172))
    jamo = decompose_hangul(every)
    assert all(0x1100 <= ord(c) <= 0x11FF for c in jamo)
    assert compose_jamo(jamo) == every


def test_jamo_mixed_text_and_stray_jamo():
    text = "한국어 ASR 2024년!"
    assert decompose_hangul("한") == "\u1112\u1161\u11ab"
    assert compose_jamo(decompose_hangul(text)) == text
    assert compose_jamo("\u1161\u1100") == "\u1161\u1100"  # no syllable to form: kept as is


@pytest.mark.parametrize("kind", ["char", "ko-syllable", "ko-jamo"])
def test_tokenizer_round_trip(kind):
    texts = ["안녕하세요 여러분", "한국어 음성 인식"]
    tok = Tokenizer.build(texts, kind)
    for t in texts:
        ids = tok.encode(t)
        assert BLANK not in ids and BOS not in ids and EOS not in ids
        assert tok.decode(ids) == t
    assert Tokenizer.from_dict(tok.to_dict()) == tok
    if kind == "ko-jamo":
        assert tok.vocab_size < Tokenizer.build(texts, "ko-syllable").vocab_size + 10
        assert len(tok.encode("한")) == 3


def test_tokenizer_skips_unknown_and_specials():
    tok = Tokenizer.build(["abc"])
    assert tok.encode("abxz") == tok.encode("ab")
    assert tok.decode([BLANK, BOS] + tok.encode("cab") + [EOS]) == "cab"
    with pytest.raises(ValueError):
        Tokenizer("words", ())


def test_normalize_text():
    assert normalize_text("Ale co s tím budeme dělat?") == "ale co s tím budeme dělat"
    assert normalize_text("Don’t  stop... é, vodu!") == "don't stop é vodu"
    assert normalize_text("'quoted' 3.5") == "quoted 3 5"
