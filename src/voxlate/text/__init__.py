"""Text processing for speech recognition: normalisation, Hangul jamo, tokenizers."""

from voxlate.text.hangul import compose_jamo, decompose_hangul
from voxlate.text.normalize import normalize_text
from voxlate.text.tokenizers import Tokenizer

__all__ = ["Tokenizer", "compose_jamo", "decompose_hangul", "normalize_text"]
