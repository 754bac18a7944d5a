"""Speaker encoders and voice adapters."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from voxlate.audio import Audio


@runtime_checkable
class SpeakerEncoder(Protocol):
    dim: int  # embedding size

    def embed(self, audio: Audio) -> np.ndarray:
        """L2-normalised speaker embedding of `audio`, shape (dim,), float32."""
        ...


@runtime_checkable
class VoiceAdapter(Protocol):
    def adapt(self, speech: Audio, target: Audio) -> Audio:
        """Make `speech` sound like the speaker of `target` (a sample of their voice)."""
        ...
