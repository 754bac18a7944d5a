"""CTC speech recognition: DeepSpeech 2-style encoder, CTC loss, greedy and beam decoding."""

from voxlate.tasks.ctc.encoder import EncoderConfig, SpeechEncoder
from voxlate.tasks.ctc.model import CTCConfig, CTCModel, load_ctc, save_ctc
from voxlate.tasks.ctc.train import evaluate_ctc, train_ctc

__all__ = [
    "CTCConfig",
    "CTCModel",
    "EncoderConfig",
    "SpeechEncoder",
    "evaluate_ctc",
    "load_ctc",
    "save_ctc",
    "train_ctc",
]
