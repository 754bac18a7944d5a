from voxlate.engines.tts.base import Synthesizer
from voxlate.registry import Registry

REGISTRY: Registry[Synthesizer] = Registry(
    "tts",
    [
        "voxlate.engines.tts.piper",
        "voxlate.engines.tts.espeak",
        "voxlate.engines.tts.auto",
        "voxlate.engines.tts.xtts",
    ],
)
DEFAULT = "auto"

__all__ = ["DEFAULT", "REGISTRY", "Synthesizer"]
