"""Voice: speaker encoders (who is speaking) and voice adapters (make speech sound like them)."""

from voxlate.engines.voice.base import SpeakerEncoder, VoiceAdapter
from voxlate.registry import Registry

ENCODERS: Registry[SpeakerEncoder] = Registry(
    "speaker encoder", ["voxlate.engines.voice.resemblyzer"]
)
ADAPTERS: Registry[VoiceAdapter] = Registry(
    "voice adapter", ["voxlate.engines.voice.world", "voxlate.engines.voice.converter"]
)

__all__ = ["ADAPTERS", "ENCODERS", "SpeakerEncoder", "VoiceAdapter"]
