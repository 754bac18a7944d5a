"""Resemblyzer speaker encoder: the GE2E d-vector (Wan et al., 2018), 256-d, offline.

The model weights ship inside the `Resemblyzer` package. Audio is resampled to
16 kHz and trimmed of silence by Resemblyzer's own preprocessing (webrtcvad).
"""

from __future__ import annotations

import threading

import numpy as np

from voxlate.audio import Audio
from voxlate.engines.voice import ENCODERS
from voxlate.errors import MissingDependencyError

_LOCK = threading.Lock()
_MODEL = None  # the VoiceEncoder, loaded once per process


def _load_model():  # -> resemblyzer.VoiceEncoder
    global _MODEL
    with _LOCK:
        if _MODEL is None:
            try:
                from resemblyzer import VoiceEncoder
            except ImportError as e:
                raise MissingDependencyError(
                    "Resemblyzer (the speaker encoder)", pip="resemblyzer webrtcvad-wheels"
                ) from e
            _MODEL = VoiceEncoder("cpu", verbose=False)
    return _MODEL


@ENCODERS.register("resemblyzer")
class ResemblyzerEncoder:
    """GE2E speaker embeddings: `embed(audio)` -> unit vector of shape (256,)."""

    dim = 256
    sample_rate = 16_000  # Hz the model works at

    def __init__(self) -> None:
        self._model = _load_model()

    @classmethod
    def from_spec(cls, arg: str | None) -> ResemblyzerEncoder:
        return cls()

    def embed(self, audio: Audio) -> np.ndarray:
        """L2-normalised embedding of `audio` (any rate, any length), float32 (256,).

        Silence is trimmed first; a clip with no speech left is embedded untrimmed.
        """
        from resemblyzer import preprocess_wav

        x = audio.resample(self.sample_rate).samples
        wav = preprocess_wav(x, source_sr=self.sample_rate)
        if len(wav) < self.sample_rate // 4:
            wav = x
        if len(wav) < self.sample_rate // 4:  # too short to embed: pad with silence
            wav = np.pad(wav, (0, self.sample_rate // 4 - len(wav)))
        import torch

        with _LOCK:
            # One thread: this small LSTM runs ~4x faster than with torch's default
            # pool, which stalls badly when other processes share the cores.
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                e = self._model.embed_utterance(wav.astype(np.float32))
            finally:
                torch.set_num_threads(threads)
        e = np.asarray(e, dtype=np.float32)
        return e / max(float(np.linalg.norm(e)), 1e-9)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two embeddings."""
    return float(np.dot(a, b) / max(float(np.linalg.norm(a) * np.linalg.norm(b)), 1e-9))
