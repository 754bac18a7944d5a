import pytest

from voxlate.metrics import bleu, cer, wer


def test_wer_cer():
    assert wer(["a b c d"], ["a b x d"]) == pytest.approx(0.25)
    assert cer(["abcd"], ["abd"]) == pytest.approx(0.25)
    assert wer(["a b", "c"], ["a b", "c"]) == 0.0
    assert cer(["ab", ""], ["ab", "junk"]) == 0.0  # empty references are skipped
    with pytest.raises(ValueError):
        wer(["a"], [])


def test_bleu():
    assert bleu(["the cat sat on the mat"], ["the cat sat on the mat"]) == pytest.approx(100.0)
    assert bleu(["the cat sat on the mat"], ["dog"]) < 5
