"""Neural MT through CTranslate2: NLLB-200, M2M100 and OPUS-MT (Marian) model directories.

`ctranslate2:DIR` loads a model converted with CTranslate2's converter, its tokenizer
files copied beside ``model.bin``::

    ct2-transformers-converter --model facebook/nllb-200-distilled-600M --output_dir DIR \\
        --copy_files tokenizer.json sentencepiece.bpe.model tokenizer_config.json
    ct2-transformers-converter --model facebook/m2m100_418M --output_dir DIR \\
        --copy_files sentencepiece.bpe.model tokenizer_config.json
    ct2-transformers-converter --model Helsinki-NLP/opus-mt-en-es --output_dir opus-mt-en-es \\
        --copy_files source.spm target.spm tokenizer_config.json

The family is read from the directory: NLLB-200 (Costa-jussà et al., 2022) has language
tokens such as ``eng_Latn`` in its vocabulary, M2M100 (Fan et al., 2021) tokens such as
``__en__``, and OPUS-MT (Tiedemann & Thottingal, 2020) ships ``source.spm``. Text is cut
into subwords with SentencePiece (``*.spm``, ``sentencepiece.bpe.model``) or, failing
that, the Hugging Face ``tokenizer.json``; transformers is not needed at run time.
Licences: NLLB-200 CC-BY-NC-4.0, M2M100 MIT, OPUS-MT CC-BY-4.0 (see docs/engines.md).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from voxlate.engines.mt import REGISTRY
from voxlate.engines.threads import default_threads
from voxlate.errors import EngineError, MissingDependencyError, UnsupportedLanguageError
from voxlate.languages import from_639_3

NLLB, M2M100, MARIAN = "nllb", "m2m100", "marian"
_FAMILY_NAMES = {NLLB: "NLLB-200", M2M100: "M2M100", MARIAN: "OPUS-MT"}

# ISO 639-1 (voxlate's codes) -> NLLB-200 code (FLORES-200: ISO 639-3 + script).
NLLB_CODES: dict[str, str] = {
    "af": "afr_Latn", "ak": "aka_Latn", "am": "amh_Ethi", "ar": "arb_Arab", "as": "asm_Beng",
    "ast": "ast_Latn", "az": "azj_Latn", "ba": "bak_Cyrl", "be": "bel_Cyrl", "bg": "bul_Cyrl",
    "bm": "bam_Latn", "bn": "ben_Beng", "bo": "bod_Tibt", "bs": "bos_Latn", "ca": "cat_Latn",
    "ceb": "ceb_Latn", "cs": "ces_Latn", "cy": "cym_Latn", "da": "dan_Latn", "de": "deu_Latn",
    "dz": "dzo_Tibt", "ee": "ewe_Latn", "el": "ell_Grek", "en": "eng_Latn", "eo": "epo_Latn",
    "es": "spa_Latn", "et": "est_Latn", "eu": "eus_Latn", "fa": "pes_Arab", "ff": "fuv_Latn",
    "fi": "fin_Latn", "fj": "fij_Latn", "fo": "fao_Latn", "fr": "fra_Latn", "ga": "gle_Latn",
    "gd": "gla_Latn", "gl": "glg_Latn", "gn": "grn_Latn", "gu": "guj_Gujr", "ha": "hau_Latn",
    "he": "heb_Hebr", "hi": "hin_Deva", "hr": "hrv_Latn", "ht": "hat_Latn", "hu": "hun_Latn",
    "hy": "hye_Armn", "id": "ind_Latn", "ig": "ibo_Latn", "ilo": "ilo_Latn", "is": "isl_Latn",
    "it": "ita_Latn", "ja": "jpn_Jpan", "jv": "jav_Latn", "ka": "kat_Geor", "kg": "kon_Latn",
    "ki": "kik_Latn", "kk": "kaz_Cyrl", "km": "khm_Khmr", "kn": "kan_Knda", "ko": "kor_Hang",
    "ks": "kas_Arab", "ku": "kmr_Latn", "ky": "kir_Cyrl", "lb": "ltz_Latn", "lg": "lug_Latn",
    "li": "lim_Latn", "ln": "lin_Latn", "lo": "lao_Laoo", "lt": "lit_Latn", "lv": "lvs_Latn",
    "mi": "mri_Latn", "mk": "mkd_Cyrl", "ml": "mal_Mlym", "mn": "khk_Cyrl", "mr": "mar_Deva",
    "ms": "zsm_Latn", "mt": "mlt_Latn", "my": "mya_Mymr", "nb": "nob_Latn", "ne": "npi_Deva",
    "nl": "nld_Latn", "nn": "nno_Latn", "ny": "nya_Latn", "oc": "oci_Latn", "om": "gaz_Latn",
    "or": "ory_Orya", "pa": "pan_Guru", "pl": "pol_Latn", "ps": "pbt_Arab", "pt": "por_Latn",
    "qu": "quy_Latn", "rn": "run_Latn", "ro": "ron_Latn", "ru": "rus_Cyrl", "rw": "kin_Latn",
    "sa": "san_Deva", "sc": "srd_Latn", "sd": "snd_Arab", "sg": "sag_Latn", "si": "sin_Sinh",
    "sk": "slk_Latn", "sl": "slv_Latn", "sm": "smo_Latn", "sn": "sna_Latn", "so": "som_Latn",
    "sq": "als_Latn", "sr": "srp_Cyrl", "ss": "ssw_Latn", "st": "sot_Latn", "su": "sun_Latn",
    "sv": "swe_Latn", "sw": "swh_Latn", "ta": "tam_Taml", "te": "tel_Telu", "tg": "tgk_Cyrl",
    "th": "tha_Thai", "ti": "tir_Ethi", "tk": "tuk_Latn", "tl": "tgl_Latn", "tn": "tsn_Latn",
    "tr": "tur_Latn", "ts": "tso_Latn", "tt": "tat_Cyrl", "tw": "twi_Latn", "ug": "uig_Arab",
    "uk": "ukr_Cyrl", "ur": "urd_Arab", "uz": "uzn_Latn", "vi": "vie_Latn", "wo": "wol_Latn",
    "xh": "xho_Latn", "yi": "ydd_Hebr", "yo": "yor_Latn", "zh": "zho_Hans", "zu": "zul_Latn",
}  # fmt: skip

_NLLB_TOKEN = re.compile(r"[a-z]{3}_[A-Z][a-z]{3}")  # eng_Latn
_M2M_TOKEN = re.compile(r"__([a-z]{2,3})__")  # __en__
_MARIAN_TOKEN = re.compile(r">>([a-z]{2,3})(?:_[A-Za-z]+)?<<")  # >>es<<, >>por<<, >>pt_BR<<
_OPUS_NAME = re.compile(r"opus-mt-(?:tc-(?:big|base)-)?([a-z]{2,3})-([a-z]{2,3})(?![a-z])")
_SPECIALS = {"<s>", "</s>", "<pad>", "<unk>"}
_SPM_NAMES = ("sentencepiece.bpe.model", "spm.model", "sentencepiece.model")


def _iso(code: str) -> str:
    """'eng' -> 'en', 'es' -> 'es', 'pt_BR' -> 'pt'."""
    return from_639_3(code.replace("-", "_").split("_")[0].lower())


def _read_json(file: Path) -> Any:
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise EngineError(f"Cannot read {file}: {e}") from e


def read_vocabulary(path: Path, side: str = "source") -> list[str]:
    """The token list CTranslate2 stored beside model.bin (shared, or one `side`'s)."""
    for stem in ("shared_vocabulary", f"{side}_vocabulary", "vocabulary"):
        if (path / f"{stem}.json").is_file():
            return list(_read_json(path / f"{stem}.json"))
        if (path / f"{stem}.txt").is_file():
            return (path / f"{stem}.txt").read_text(encoding="utf-8").splitlines()
    raise EngineError(
        f"No vocabulary in {path} (expected shared_vocabulary.json beside model.bin)."
    )


def _tokenizer_config(path: Path) -> dict[str, Any]:
    f = path / "tokenizer_config.json"
    return dict(_read_json(f)) if f.is_file() else {}


def detect_family(path: Path, vocabulary: list[str]) -> str:
    """'nllb', 'm2m100' or 'marian', from the tokenizer files and the vocabulary in `path`."""
    tokenizer_class = str(_tokenizer_config(path).get("tokenizer_class") or "")
    if (path / "source.spm").is_file() or tokenizer_class.startswith("Marian"):
        return MARIAN
    if any(_NLLB_TOKEN.fullmatch(t) for t in vocabulary):
        return NLLB
    if any(_M2M_TOKEN.fullmatch(t) for t in vocabulary):
        return M2M100
    if tokenizer_class.startswith(("M2M100", "Nllb")):
        raise EngineError(
            f"The vocabulary of the model in {path} has no language tokens (such as __en__); "
            "convert it again with transformers 4.x (see docs/engines.md)."
        )
    raise EngineError(
        f"Cannot tell which kind of translation model is in {path}: expected NLLB-200 language "
        "tokens (eng_Latn), M2M100 tokens (__en__) or the source.spm of an OPUS-MT model."
    )


class SubwordCodec:
    """Text <-> subword tokens, by SentencePiece models or a Hugging Face tokenizer.json."""

    def __init__(self, encode: Callable[[str], list[str]], decode: Callable[[list[str]], str]):
        self.encode = encode
        self.decode = decode

    @classmethod
    def sentencepiece(cls, source: Path, target: Path) -> SubwordCodec:
        try:
            import sentencepiece as spm
        except ImportError as e:
            raise MissingDependencyError("SentencePiece", pip="sentencepiece") from e
        src = spm.SentencePieceProcessor(model_file=str(source))
        tgt = src if target == source else spm.SentencePieceProcessor(model_file=str(target))
        return cls(lambda text: src.encode(text, out_type=str), lambda pieces: tgt.decode(pieces))

    @classmethod
    def tokenizer_json(cls, file: Path) -> SubwordCodec:
        try:
            from tokenizers import Tokenizer
        except ImportError as e:
            raise MissingDependencyError("Hugging Face tokenizers", pip="tokenizers") from e
        tok = Tokenizer.from_file(str(file))

        def decode(tokens: list[str]) -> str:
            ids = [i for i in map(tok.token_to_id, tokens) if i is not None]
            return tok.decode(ids, skip_special_tokens=True)

        return cls(lambda text: tok.encode(text, add_special_tokens=False).tokens, decode)


def load_codec(path: Path, family: str) -> SubwordCodec:
    """The tokenizer in `path`: source.spm/target.spm for OPUS-MT, else the SentencePiece
    model or tokenizer.json copied from the Hugging Face repository."""
    if family == MARIAN:
        if not (path / "source.spm").is_file():
            raise EngineError(
                f"No tokenizer in {path}: an OPUS-MT model needs source.spm and target.spm "
                "beside model.bin (convert with --copy_files source.spm target.spm)."
            )
        target = path / "target.spm"
        return SubwordCodec.sentencepiece(
            path / "source.spm", target if target.is_file() else path / "source.spm"
        )
    for name in _SPM_NAMES:
        if (path / name).is_file():
            return SubwordCodec.sentencepiece(path / name, path / name)
    if (path / "tokenizer.json").is_file():
        return SubwordCodec.tokenizer_json(path / "tokenizer.json")
    raise EngineError(
        f"No tokenizer in {path}: copy sentencepiece.bpe.model or tokenizer.json beside model.bin "
        "(convert with --copy_files sentencepiece.bpe.model tokenizer.json)."
    )


def marian_pair(path: Path) -> tuple[str, str]:
    """An OPUS-MT model's (source, target) from tokenizer_config.json or a name like opus-mt-en-es."""
    config = _tokenizer_config(path)
    src, tgt = config.get("source_lang"), config.get("target_lang")
    if not (src and tgt):
        m = _OPUS_NAME.search(path.resolve().name.lower())
        if m is None:
            raise EngineError(
                f"Cannot tell the languages of the OPUS-MT model in {path}: name the directory "
                "like opus-mt-en-es or copy its tokenizer_config.json beside model.bin."
            )
        src, tgt = m.groups()
    return _iso(str(src)), _iso(str(tgt))


@REGISTRY.register("ctranslate2")
class CTranslate2Translator:
    """A CTranslate2 NLLB-200, M2M100 or OPUS-MT model.

    beam_size: 1 is greedy (fastest); 4 is what these models are usually scored with.
    max_decoding_length: the most target tokens per sentence.
    device / compute_type: CTranslate2's (``"cpu"``/``"cuda"``/``"auto"``; ``"int8"`` is
    fastest on CPU, ``"default"`` keeps the stored precision).
    """

    def __init__(
        self,
        model_dir: str | os.PathLike,
        beam_size: int = 4,
        max_decoding_length: int = 256,
        max_batch_size: int = 16,
        device: str = "cpu",
        compute_type: str = "default",
        cpu_threads: int = 0,
    ) -> None:
        path = Path(model_dir).expanduser()
        if not path.is_dir():
            raise EngineError(f"Translation model directory not found: {path}.")
        if not (path / "model.bin").is_file():
            raise EngineError(
                f"No CTranslate2 model in {path} (expected model.bin there; "
                "convert one with ct2-transformers-converter, see docs/engines.md)."
            )
        vocabulary = read_vocabulary(path)
        self.family = detect_family(path, vocabulary)
        self._codec = load_codec(path, self.family)
        # ISO 639-1 -> the token that names the language in the model (None: no token).
        self._source_tokens: dict[str, str | None]
        self._target_tokens: dict[str, str | None]
        if self.family == NLLB:
            present = set(vocabulary)
            self._source_tokens = {k: v for k, v in NLLB_CODES.items() if v in present}
            self._target_tokens = dict(self._source_tokens)
        elif self.family == M2M100:
            codes = [m.group(1) for m in map(_M2M_TOKEN.fullmatch, vocabulary) if m]
            self._source_tokens = {c: f"__{c}__" for c in codes}
            self._target_tokens = dict(self._source_tokens)
        else:
            src, tgt = marian_pair(path)
            self._source_tokens = {src: None}
            # Multi-target OPUS-MT models pick the target with a >>xx<< token before the text.
            targets = {
                _iso(m.group(1)): m.group(0) for m in map(_MARIAN_TOKEN.fullmatch, vocabulary) if m
            }
            self._target_tokens = dict(targets) or {tgt: None}
        language_tokens = {
            t for t in [*self._source_tokens.values(), *self._target_tokens.values()] if t
        }
        self._drop = _SPECIALS | language_tokens
        try:
            import ctranslate2
        except ImportError as e:
            raise MissingDependencyError("CTranslate2", pip="ctranslate2") from e
        try:
            self._model = ctranslate2.Translator(
                str(path),
                device=device,
                compute_type=compute_type,
                intra_threads=cpu_threads or default_threads(),
            )
        except (RuntimeError, ValueError, OSError) as e:
            raise EngineError(f"Cannot load the CTranslate2 model in {path}: {e}") from e
        self.beam_size = beam_size
        self.max_decoding_length = max_decoding_length
        self.max_batch_size = max_batch_size
        self.name = f"ctranslate2:{path.resolve().name}"

    @classmethod
    def from_spec(cls, arg: str | None) -> CTranslate2Translator:
        if not arg:
            raise EngineError(
                "The ctranslate2 translator needs a model directory, e.g. "
                "--mt ctranslate2:/models/nllb-200-distilled-600M (see docs/engines.md)."
            )
        return cls(arg)

    def pairs(self) -> set[tuple[str, str]]:
        return {(s, t) for s in self._source_tokens for t in self._target_tokens if s != t}

    def _check(self, source: str, target: str) -> None:
        if (
            source == target
            or source not in self._source_tokens
            or target not in self._target_tokens
        ):
            if self.family == MARIAN:
                have = ", ".join(f"{s}->{t}" for s, t in sorted(self.pairs()))
            else:
                have = "any two of " + ", ".join(sorted(self._source_tokens))
            raise UnsupportedLanguageError(
                f"The {_FAMILY_NAMES[self.family]} model {self.name} has no {source}->{target} "
                f"pair (it translates {have})."
            )

    def source_tokens(self, text: str, source: str, target: str) -> list[str]:
        """The subword tokens the model reads for `text`, language tokens and </s> included."""
        pieces = self._codec.encode(text)
        if self.family == MARIAN:
            tag = self._target_tokens[target]
            return ([tag] if tag else []) + pieces + ["</s>"]
        return [str(self._source_tokens[source])] + pieces + ["</s>"]

    def target_prefix(self, target: str) -> list[str]:
        """The tokens the decoder is forced to start with (NLLB/M2M100: the target language)."""
        tag = self._target_tokens[target]
        return [tag] if tag and self.family != MARIAN else []

    def translate(self, text: str, source: str, target: str) -> str:
        return self.translate_batch([text], source, target)[0]

    def translate_batch(self, texts: list[str], source: str, target: str) -> list[str]:
        """Translate several texts (one each) in batches of `max_batch_size`."""
        self._check(source, target)
        clean = [" ".join(t.split()) for t in texts]
        todo = [i for i, c in enumerate(clean) if c]
        out = ["" for _ in texts]
        if not todo:
            return out
        prefix = self.target_prefix(target)
        try:
            results = self._model.translate_batch(
                [self.source_tokens(clean[i], source, target) for i in todo],
                target_prefix=[prefix for _ in todo] if prefix else None,
                beam_size=self.beam_size,
                max_batch_size=self.max_batch_size,
                max_decoding_length=self.max_decoding_length,
            )
        except RuntimeError as e:  # e.g. a text longer than the model's position table
            raise EngineError(f"CTranslate2 failed on {self.name}: {e}") from e
        for i, r in zip(todo, results):  # hypotheses start with the prefix: dropped below
            words = [
                t for t in r.hypotheses[0] if t not in self._drop and not t.startswith("madeupword")
            ]
            out[i] = self._codec.decode(words).strip()
        return out
