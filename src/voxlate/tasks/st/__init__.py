"""End-to-end speech translation: shared speech encoder, transcript and translation decoders."""

from voxlate.tasks.st.decoder import AttentionDecoder, DecoderConfig
from voxlate.tasks.st.decoding import DecodingOptions, beam_search
from voxlate.tasks.st.evaluate import evaluate_st
from voxlate.tasks.st.model import STConfig, STModel, TextTranslator
from voxlate.tasks.st.train import load_st, train_st, train_text_mt

__all__ = [
    "AttentionDecoder",
    "DecoderConfig",
    "DecodingOptions",
    "STConfig",
    "STModel",
    "TextTranslator",
    "beam_search",
    "evaluate_st",
    "load_st",
    "train_st",
    "train_text_mt",
]
