"""Energy VAD: frame RMS against an adaptive noise floor. No model; always available."""

from __future__ import annotations

import numpy as np

from voxlate.audio import SAMPLE_RATE
from voxlate.engines.vad import REGISTRY


@REGISTRY.register("energy")
class EnergyVAD:
    """Speech probability from how far a frame's level (dB) rises above the noise floor.

    threshold_db: rise above the floor that counts as certain speech.
    """

    sample_rate = SAMPLE_RATE
    frame_size = 480  # 30 ms

    def __init__(self, threshold_db: float = 12.0) -> None:
        self.threshold_db = threshold_db
        self.reset()

    @classmethod
    def from_spec(cls, arg: str | None) -> EnergyVAD:
        return cls(float(arg)) if arg else cls()

    def reset(self) -> None:
        self._floor_db = -60.0
        self._frames = 0

    def speech_probability(self, frame: np.ndarray) -> float:
        rms = float(np.sqrt(np.mean(np.square(frame, dtype=np.float64)) + 1e-12))
        level = 20.0 * np.log10(rms + 1e-9)
        if level < -55.0:  # digital silence is never speech
            return 0.0
        # The floor follows quiet frames quickly and loud ones slowly.
        rate = 0.2 if level < self._floor_db else 0.005
        if self._frames == 0:
            self._floor_db = min(level, -40.0)
        else:
            self._floor_db += rate * (level - self._floor_db)
        self._frames += 1
        rise = level - self._floor_db
        return float(np.clip(rise / self.threshold_db, 0.0, 1.0))
