from voxlate.engines.mt.base import Translator
from voxlate.registry import Registry

REGISTRY: Registry[Translator] = Registry(
    "mt",
    [
        "voxlate.engines.mt.apertium",
        "voxlate.engines.mt.ctranslate2",
        "voxlate.engines.mt.llm",
        "voxlate.engines.mt.openai_chat",
    ],
)
DEFAULT = "apertium"

__all__ = ["DEFAULT", "REGISTRY", "Translator"]
