"""The identity enhancer (`--enhance none`)."""

from __future__ import annotations

from voxlate.audio import Audio
from voxlate.engines.enhance import REGISTRY


@REGISTRY.register("none")
class NoEnhancer:
    @classmethod
    def from_spec(cls, arg: str | None) -> NoEnhancer:
        return cls()

    def enhance(self, audio: Audio) -> Audio:
        return audio
