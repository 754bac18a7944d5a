"""The CTranslate2 translator on tiny random NLLB-200, M2M100 and OPUS-MT models built here.

Each model is a randomly initialised transformers model (d_model 16, one layer) with a
tokenizer trained on a few sentences, converted with CTranslate2's TransformersConverter
exactly as a user converts a real one. The decoder is rigged to score one target word
highest at every step (`_say_one_word`), so a translation is that word repeated: a known
answer that checks the wiring (family detection, language codes, the target prefix
dropped, detokenization, batching with empty texts) and the error messages.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("ctranslate2")
transformers = pytest.importorskip("transformers")
spm = pytest.importorskip("sentencepiece")
pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:Recommended. pip install sacremoses")

from voxlate.engines.mt import REGISTRY, Translator  # noqa: E402
from voxlate.engines.mt.ctranslate2 import NLLB_CODES, CTranslate2Translator  # noqa: E402
from voxlate.errors import EngineError, UnsupportedLanguageError  # noqa: E402
from voxlate.languages import LANGUAGES  # noqa: E402

CORPUS = """\
The quick brown fox jumps over the lazy dog near the river bank.
El rápido zorro marrón salta sobre el perro perezoso cerca del río.
Good morning, how are you today? I am fine, thank you very much.
Buenos días, ¿cómo estás hoy? Estoy bien, muchas gracias.
We are going to the market to buy bread, cheese and fresh fruit.
Vamos al mercado a comprar pan, queso y fruta fresca.
The meeting starts at nine and ends before noon on Friday.
La reunión empieza a las nueve y termina antes del mediodía del viernes.
"""
TINY = dict(d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
            decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32,
            max_position_embeddings=512)  # fmt: skip


def _train_spm(root: Path, name: str, model_type: str) -> Path:
    (root / "corpus.txt").write_text(CORPUS * 4, encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(root / "corpus.txt"), model_prefix=str(root / name), vocab_size=120,
        model_type=model_type, character_coverage=1.0, hard_vocab_limit=False,
        unk_id=0, bos_id=-1, eos_id=-1, pad_id=-1, minloglevel=2,
    )  # fmt: skip
    return root / f"{name}.model"


WORDS: dict[str, str] = {}  # family -> the word its rigged model says


def _say_one_word(model, pieces: dict[str, int], family: str) -> None:
    """Make `model` (transformers seq2seq, tied output embedding) score one word piece
    highest at every decoding step, whatever the input; records that word in WORDS.

    The decoder's last layer norm is set to output a constant vector v, and the piece's
    output embedding to 20 v: its logit is 20, every other one about 0.
    """
    import re

    import torch

    piece = next(p for p in sorted(pieces) if re.fullmatch("\u2581[a-z]{3,}", p))
    WORDS[family] = piece[1:]
    dec = model.model.decoder
    norm = (
        dec.layer_norm
        if getattr(dec, "layer_norm", None) is not None
        else dec.layers[-1].final_layer_norm
    )
    v = torch.zeros(TINY["d_model"])
    v[0] = 1.0
    with torch.no_grad():
        norm.weight.zero_()
        norm.bias.copy_(v)
        model.get_output_embeddings().weight[pieces[piece]] = 20 * v


def _convert(hf: Path, out: Path, copy_files: list[str]) -> Path:
    from ctranslate2.converters import TransformersConverter

    TransformersConverter(str(hf), copy_files=copy_files).convert(str(out), force=True)
    return out


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """family -> a converted CTranslate2 model directory, built once per session."""
    import torch

    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("ct2")
    return {"marian": _marian(root), "m2m100": _m2m100(root), "nllb": _nllb(root)}


def _marian(root: Path) -> Path:
    """OPUS-MT layout: vocab.json + source.spm + target.spm; </s> 0, <unk> 1, <pad> last."""
    sp_file = _train_spm(root, "marian", "unigram")
    sp = spm.SentencePieceProcessor(model_file=str(sp_file))
    vocab = {"</s>": 0, "<unk>": 1}
    for i in range(sp.get_piece_size()):
        vocab.setdefault(sp.id_to_piece(i), len(vocab))
    vocab["<pad>"] = len(vocab)
    hf = root / "marian-hf"
    hf.mkdir()
    (hf / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    shutil.copy(sp_file, hf / "source.spm")
    shutil.copy(sp_file, hf / "target.spm")
    transformers.MarianTokenizer(
        source_spm=str(hf / "source.spm"), target_spm=str(hf / "target.spm"),
        vocab=str(hf / "vocab.json"), source_lang="en", target_lang="es",
    ).save_pretrained(hf)  # fmt: skip
    pad = vocab["<pad>"]
    config = transformers.MarianConfig(
        vocab_size=len(vocab),
        pad_token_id=pad,
        eos_token_id=0,
        decoder_start_token_id=pad,
        forced_eos_token_id=0,
        **TINY,
    )
    model = transformers.MarianMTModel(config)
    _say_one_word(model, vocab, "marian")
    model.save_pretrained(hf)
    return _convert(
        hf, root / "opus-mt-en-es", ["source.spm", "target.spm", "tokenizer_config.json"]
    )


def _m2m100(root: Path) -> Path:
    """M2M100 layout: vocab.json + sentencepiece.bpe.model, language tokens __xx__."""
    sp_file = _train_spm(root, "m2m", "bpe")
    sp = spm.SentencePieceProcessor(model_file=str(sp_file))
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for i in range(sp.get_piece_size()):
        vocab.setdefault(sp.id_to_piece(i), len(vocab))
    # Built from scratch, transformers 5's M2M100Tokenizer leaves its language tokens out of
    # get_vocab(), so CTranslate2's converter would drop them: put them in vocab.json.
    for code in ("en", "es", "fr", "de", "ast"):
        vocab[f"__{code}__"] = len(vocab)
    hf = root / "m2m100-hf"
    hf.mkdir()
    (hf / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    shutil.copy(sp_file, hf / "sentencepiece.bpe.model")
    tok = transformers.M2M100Tokenizer(
        vocab_file=str(hf / "vocab.json"), spm_file=str(hf / "sentencepiece.bpe.model")
    )
    tok.save_pretrained(hf)
    config = transformers.M2M100Config(
        vocab_size=len(vocab) + tok.num_madeup_words,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        decoder_start_token_id=2,
        **TINY,
    )
    model = transformers.M2M100ForConditionalGeneration(config)
    _say_one_word(model, vocab, "m2m100")
    model.save_pretrained(hf)
    return _convert(hf, root / "m2m100_tiny", ["sentencepiece.bpe.model", "tokenizer_config.json"])


def _nllb(root: Path) -> Path:
    """NLLB layout: an M2M100 model with an NllbTokenizer (tokenizer.json, FLORES-200 codes)."""
    from tokenizers import SentencePieceBPETokenizer

    bpe = SentencePieceBPETokenizer()
    bpe.train_from_iterator(
        CORPUS.splitlines(), vocab_size=150, special_tokens=["<s>", "<pad>", "</s>", "<unk>"]
    )
    model = json.loads(bpe.to_str())["model"]
    hf = root / "nllb-hf"
    hf.mkdir()
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    tok = transformers.NllbTokenizer(vocab=model["vocab"], merges=merges)
    tok.save_pretrained(hf)
    config = transformers.M2M100Config(
        vocab_size=len(tok),
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        decoder_start_token_id=2,
        **TINY,
    )
    model = transformers.M2M100ForConditionalGeneration(config)
    _say_one_word(model, tok.get_vocab(), "nllb")
    model.save_pretrained(hf)
    return _convert(hf, root / "nllb-tiny", ["tokenizer.json", "tokenizer_config.json"])


@pytest.fixture(scope="session")
def translators(models: dict[str, Path]) -> dict[str, CTranslate2Translator]:
    # One thread: OpenMP threads spin badly when the CPU is shared with other jobs.
    return {k: CTranslate2Translator(v, cpu_threads=1) for k, v in models.items()}


@pytest.mark.parametrize("family", ["marian", "m2m100", "nllb"])
def test_registry_builds_it(models, family: str) -> None:
    t = REGISTRY.create(f"ctranslate2:{models[family]}")
    assert isinstance(t, CTranslate2Translator) and isinstance(t, Translator)
    assert t.family == family
    assert ("en", "es") in t.pairs()


@pytest.mark.parametrize("family", ["marian", "m2m100", "nllb"])
def test_translates(translators, family: str) -> None:
    """The rigged model says one word over and over: the translation must be exactly that
    word repeated, with no language tag, <unk> or </s> left in, for single texts and for
    batches (empty texts stay empty, the others keep their places)."""
    t = translators[family]
    word = WORDS[family]
    out = t.translate("The quick brown fox jumps over the dog.", "en", "es")
    assert out.split() and set(out.split()) == {word}, out[:80]
    batch = t.translate_batch(
        ["Good morning.", "", "   ", "We are going to the market."], "en", "es"
    )
    assert batch[1] == batch[2] == "" and len(batch) == 4
    assert set(batch[0].split()) == set(batch[3].split()) == {word}
    assert t.translate("Good morning.", "en", "es") == batch[0]  # batched as when alone


def test_names(translators, models) -> None:
    assert translators["marian"].name == "ctranslate2:opus-mt-en-es"
    assert translators["nllb"].name == f"ctranslate2:{models['nllb'].name}"


def test_marian_pair_from_tokenizer_config(translators) -> None:
    t = translators["marian"]
    assert t.pairs() == {("en", "es")}
    assert t.source_tokens("hello", "en", "es")[-1] == "</s>"
    assert t.target_prefix("es") == []
    with pytest.raises(UnsupportedLanguageError, match="en->es"):
        t.translate("hello", "es", "en")


def test_marian_pair_from_directory_name(models, tmp_path) -> None:
    d = tmp_path / "opus-mt-de-fr"
    shutil.copytree(models["marian"], d)
    (d / "tokenizer_config.json").unlink()
    assert CTranslate2Translator(d).pairs() == {("de", "fr")}
    shutil.move(d, tmp_path / "my-model")
    with pytest.raises(EngineError, match="opus-mt-en-es"):
        CTranslate2Translator(tmp_path / "my-model")


def test_marian_multi_target(models, tmp_path) -> None:
    """Models such as opus-mt-en-ROMANCE pick the target with a >>xx<< token."""
    d = tmp_path / "opus-mt-en-ROMANCE"
    shutil.copytree(models["marian"], d)
    vocab = json.loads((d / "shared_vocabulary.json").read_text())
    vocab[-2:] = [">>es<<", ">>fra<<"]  # keep the size the model was built with
    (d / "shared_vocabulary.json").write_text(json.dumps(vocab))
    t = CTranslate2Translator(d, cpu_threads=1)
    assert t.pairs() == {("en", "es"), ("en", "fr")}
    assert t.source_tokens("hello", "en", "fr")[0] == ">>fra<<"
    assert isinstance(t.translate("hello", "en", "es"), str)


def test_m2m100_language_tokens(translators) -> None:
    t = translators["m2m100"]
    langs = {"en", "es", "fr", "de", "ast"}
    assert t.pairs() == {(s, g) for s in langs for g in langs if s != g}
    tokens = t.source_tokens("Good morning.", "en", "es")
    assert tokens[0] == "__en__" and tokens[-1] == "</s>" and len(tokens) > 2
    assert t.target_prefix("es") == ["__es__"]
    with pytest.raises(UnsupportedLanguageError, match="any two of"):
        t.translate("hello", "en", "ja")


def test_nllb_language_codes(translators) -> None:
    t = translators["nllb"]
    assert ("en", "es") in t.pairs() and ("es", "en") in t.pairs()
    assert ("en", "en") not in t.pairs()
    tokens = t.source_tokens("Good morning.", "es", "en")
    assert tokens[0] == "spa_Latn" and tokens[-1] == "</s>"
    assert t.target_prefix("zh") == ["zho_Hans"]
    assert t.target_prefix("fa") == ["pes_Arab"]
    with pytest.raises(UnsupportedLanguageError):
        t.translate("hello", "en", "xx")


def test_nllb_codes_cover_voxlate_languages() -> None:
    missing = set(LANGUAGES) - set(NLLB_CODES)
    assert missing <= {"an", "br"}  # Aragonese and Breton are not among NLLB's 200
    assert len(set(NLLB_CODES.values())) == len(NLLB_CODES)


def test_missing_directory() -> None:
    with pytest.raises(EngineError, match="not found"):
        REGISTRY.create("ctranslate2:/nonexistent/nllb")


def test_no_argument() -> None:
    with pytest.raises(EngineError, match="needs a model directory"):
        REGISTRY.create("ctranslate2")


def test_no_model_bin(models, tmp_path) -> None:
    d = tmp_path / "empty"
    d.mkdir()
    with pytest.raises(EngineError, match="model.bin"):
        CTranslate2Translator(d)


@pytest.mark.parametrize("family,files", [
    ("marian", ["source.spm"]),
    ("m2m100", ["sentencepiece.bpe.model"]),
    ("nllb", ["tokenizer.json"]),
])  # fmt: skip
def test_missing_tokenizer(models, tmp_path, family: str, files: list[str]) -> None:
    d = tmp_path / models[family].name
    shutil.copytree(models[family], d)
    for f in files:
        (d / f).unlink()
    with pytest.raises(EngineError, match="No tokenizer"):
        CTranslate2Translator(d)


def test_unknown_family(models, tmp_path) -> None:
    d = tmp_path / "model"
    shutil.copytree(models["m2m100"], d)
    vocab = json.loads((d / "shared_vocabulary.json").read_text())
    (d / "shared_vocabulary.json").write_text(
        json.dumps([f"x{t}" if "__" in t else t for t in vocab])
    )
    (d / "tokenizer_config.json").unlink()
    with pytest.raises(EngineError, match="Cannot tell which kind"):
        CTranslate2Translator(d)


def test_m2m100_without_language_tokens(models, tmp_path) -> None:
    d = tmp_path / "model"
    shutil.copytree(models["m2m100"], d)
    vocab = json.loads((d / "shared_vocabulary.json").read_text())
    (d / "shared_vocabulary.json").write_text(json.dumps([t.strip("_") for t in vocab]))
    with pytest.raises(EngineError, match="no language tokens"):
        CTranslate2Translator(d)
