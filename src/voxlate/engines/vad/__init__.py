from voxlate.engines.vad.base import VAD, frame_probabilities
from voxlate.registry import Registry

REGISTRY: Registry[VAD] = Registry(
    "vad", ["voxlate.engines.vad.silero", "voxlate.engines.vad.energy"]
)
DEFAULT = "silero"

__all__ = ["DEFAULT", "REGISTRY", "VAD", "frame_probabilities"]
