from voxlate.engines.mt.base import Translator
from voxlate.registry import Registry

REGISTRY: Registry[Translator] = Registry(
    "mt", ["voxlate.engines.mt.apertium", "voxlate.engines.mt.ctranslate2"]
)
DEFAULT = "apertium"

__all__ = ["DEFAULT", "REGISTRY", "Translator"]
