"""Resemblyzer speaker encoder: the GE2E d-vector (Wan et al., 2018), 256-d, offline.

The model weights ship inside the `Resemblyzer` package. Audio is resampled to
16 kHz and trimmed of silence by Resemblyzer's own preprocessing (webrtcvad). The
mel features come from `melspec.py` rather than librosa, whose numba kernels took
~30 s to compile on a fresh install's first run (issue 16); the values are equal.
"""

from __future__ import annotations

import threading

import numpy as np

from voxlate.audio import FRAME_HOP, FRAME_LENGTH, SAMPLE_RATE, Audio
from voxlate.engines.voice import ENCODERS
from voxlate.engines.voice.melspec import mel_power_spectrogram
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
    sample_rate = SAMPLE_RATE  # Hz the model works at

    def __init__(self) -> None:
        self._model = _load_model()

    @classmethod
    def from_spec(cls, arg: str | None) -> ResemblyzerEncoder:
        return cls()

    def embed(self, audio: Audio) -> np.ndarray:
        """L2-normalised embedding of `audio` (any rate, any length), float32 (256,).

        Silence is trimmed first; a clip with no speech left is embedded untrimmed.
        """
        from resemblyzer.audio import normalize_volume, trim_long_silences

        x = audio.resample(self.sample_rate).samples
        # Resemblyzer's preprocess_wav without its librosa.resample call (x is at 16 kHz).
        wav = trim_long_silences(normalize_volume(x, -30, increase_only=True))
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
                e = _embed_utterance(self._model, wav.astype(np.float32))
            finally:
                torch.set_num_threads(threads)
        e = np.asarray(e, dtype=np.float32)
        return e / max(float(np.linalg.norm(e)), 1e-9)


def _embed_utterance(model, wav: np.ndarray) -> np.ndarray:  # model: resemblyzer.VoiceEncoder
    """`VoiceEncoder.embed_utterance` with the mel features of `melspec.py` (no librosa).

    The utterance is cut into 1.6 s partials (1.3 per second); the embedding is the
    L2-normalised mean of theirs.
    """
    import torch

    wav_slices, mel_slices = model.compute_partial_slices(len(wav), 1.3, 0.75)
    if wav_slices[-1].stop >= len(wav):
        wav = np.pad(wav, (0, wav_slices[-1].stop - len(wav)))
    # Resemblyzer's hparams: 25 ms windows every 10 ms, 40 mel bands, 16 kHz.
    mel = mel_power_spectrogram(wav, SAMPLE_RATE, n_fft=FRAME_LENGTH, hop=FRAME_HOP, n_mels=40).T
    mels = np.array([mel[s] for s in mel_slices])
    with torch.no_grad():
        partials = model(torch.from_numpy(mels)).cpu().numpy()
    raw = partials.mean(axis=0)
    return raw / np.linalg.norm(raw, 2)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two embeddings."""
    return float(np.dot(a, b) / max(float(np.linalg.norm(a) * np.linalg.norm(b)), 1e-9))
