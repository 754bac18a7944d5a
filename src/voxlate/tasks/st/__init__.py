"""End-to-end speech translation: shared speech encoder, transcript and translation decoders."""

from voxlate.tasks.st.model import DecoderConfig, STConfig, STModel, TextTranslator
from voxlate.tasks.st.train import evaluate_st, load_st, train_st, train_text_mt

__all__ = [
    "DecoderConfig",
    "STConfig",
    "STModel",
    "TextTranslator",
    "evaluate_st",
    "load_st",
    "train_st",
    "train_text_mt",
]
