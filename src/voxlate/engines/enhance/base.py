"""Speech enhancement: noisy speech in, cleaner speech out, same length and rate."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from voxlate.audio import Audio
from voxlate.engines.base import Engine


@runtime_checkable
class Enhancer(Engine, Protocol):
    def enhance(self, audio: Audio) -> Audio:
        """Return `audio` with noise reduced; same duration and sample rate as the input."""
        ...
