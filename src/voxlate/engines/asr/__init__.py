from voxlate.engines.asr.base import Recognizer, Transcript, Word
from voxlate.errors import UnsupportedLanguageError
from voxlate.registry import Registry

REGISTRY: Registry[Recognizer] = Registry(
    "asr", ["voxlate.engines.asr.faster_whisper", "voxlate.engines.asr.vosk"]
)
DEFAULT = "faster-whisper"
MULTILINGUAL = "faster-whisper:base"  # the embedded model for any other Whisper language
# Embedded recognizer per language where it is not `MULTILINGUAL` (chosen by measurement:
# docs/benchmarks.md for English; Korean uses base, whose CER beat Vosk's, docs/asr.md).
EMBEDDED = {"en": "faster-whisper"}
# ISO 639-1 (and Whisper's own) codes of the languages Whisper was trained on.
WHISPER_LANGUAGES = frozenset(
    "af am ar as az ba be bg bn bo br bs ca cs cy da de el en es et eu fa fi fo fr gl gu ha "
    "haw he hi hr ht hu hy id is it ja jw ka kk km kn ko la lb ln lo lt lv mg mi mk ml mn mr ms "
    "mt my ne nl nn no oc pa pl ps pt ro ru sa sd si sk sl sn so sq sr su sv sw ta te tg th tk "
    "tl tr tt uk ur uz vi yi yo yue zh".split()
)


def default_for(language: str | None) -> str:
    """The embedded recognizer spec for `language` (None: unknown, to be detected)."""
    if language is None:
        return MULTILINGUAL
    if language in EMBEDDED:
        return EMBEDDED[language]
    if language in WHISPER_LANGUAGES:
        return MULTILINGUAL
    raise UnsupportedLanguageError(
        f"No embedded speech recognizer for '{language}' (Whisper does not know it); supply one "
        "with --asr vosk:DIR or --asr faster-whisper:DIR."
    )


__all__ = ["DEFAULT", "REGISTRY", "Recognizer", "Transcript", "Word", "default_for"]
