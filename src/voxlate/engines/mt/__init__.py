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
DEFAULT = "apertium"  # live translation's default: milliseconds per sentence (see
# `pipeline.engines.default_engine`, which also picks the LLM for recordings)


__all__ = ["DEFAULT", "REGISTRY", "Translator"]
