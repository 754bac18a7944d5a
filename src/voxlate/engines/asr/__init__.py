from voxlate.engines.asr.base import Recognizer, Transcript, Word
from voxlate.registry import Registry

REGISTRY: Registry[Recognizer] = Registry(
    "asr", ["voxlate.engines.asr.faster_whisper", "voxlate.engines.asr.vosk"]
)
DEFAULT = "faster-whisper"

__all__ = ["DEFAULT", "REGISTRY", "Recognizer", "Transcript", "Word"]
