"""Speaker encoders and voice adapters."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from voxlate.audio import Audio
from voxlate.engines.base import Engine


@runtime_checkable
class SpeakerEncoder(Engine, Protocol):
    dim: int  # embedding size

    def embed(self, audio: Audio) -> np.ndarray:
        """L2-normalised speaker embedding of `audio`, shape (dim,), float32."""
        ...


@runtime_checkable
class VoiceAdapter(Engine, Protocol):
    """Moves synthesized speech to a target voice: fitted once per speaker, then applied."""

    def fit(self, speech: Audio, target: Audio, target_embedding: np.ndarray | None = None) -> Any:
        """Parameters that move `speech` (a sample of the synthesizer's voice) to the
        speaker of `target` (a sample of their voice)."""
        ...

    def convert(self, speech: Audio, params: Any) -> Audio:
        """`speech` moved to the voice `params` describe (same rate)."""
        ...


@runtime_checkable
class VoiceStage(Protocol):
    """What the pipelines call: whose voice the translated speech is spoken in
    (`pipeline/voice: build_voice_stage`)."""

    spec: str  # what the JSON report records as engines.voice

    def convert(self, speech: Audio, source: Audio) -> Audio:
        """Re-voice one utterance: `speech` (synthesized) given its `source` (original) audio."""
        ...

    def reset(self) -> None:
        """Forget speakers and cached parameters: a new input or session starts."""
        ...
