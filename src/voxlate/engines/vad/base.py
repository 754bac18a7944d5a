"""Voice activity detection: the probability of speech in fixed-size frames."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from voxlate.audio import Audio
from voxlate.engines.base import Engine


@runtime_checkable
class VAD(Engine, Protocol):
    """Frame-by-frame speech probability; stateful across frames of one stream."""

    sample_rate: int  # Hz the frames must be at
    frame_size: int  # samples per frame

    def speech_probability(self, frame: np.ndarray) -> float:
        """Probability in [0, 1] that `frame` (float32, `frame_size` samples) holds speech."""
        ...

    def reset(self) -> None:
        """Forget the state of the previous stream."""
        ...


def frame_probabilities(vad: VAD, audio: Audio) -> np.ndarray:
    """Speech probability of each whole frame of `audio` (resampled to the VAD's rate).

    Returns a float32 array of shape (n_frames,); frame i covers samples
    [i * frame_size, (i + 1) * frame_size) at `vad.sample_rate`.
    """
    x = audio.resample(vad.sample_rate).samples
    n = len(x) // vad.frame_size
    vad.reset()
    probs = np.empty(n, dtype=np.float32)
    for i in range(n):
        probs[i] = vad.speech_probability(x[i * vad.frame_size : (i + 1) * vad.frame_size])
    vad.reset()
    return probs
