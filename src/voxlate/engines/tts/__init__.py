from voxlate.engines.tts.base import Synthesizer
from voxlate.registry import Registry

REGISTRY: Registry[Synthesizer] = Registry(
    "tts",
    [
        "voxlate.engines.tts.piper",
        "voxlate.engines.tts.espeak",
        "voxlate.engines.tts.xtts",
        "voxlate.engines.tts.kokoro",
    ],
)

__all__ = ["REGISTRY", "Synthesizer"]
