from voxlate.engines.enhance.base import Enhancer
from voxlate.registry import Registry

REGISTRY: Registry[Enhancer] = Registry(
    "enhance",
    [
        "voxlate.engines.enhance.none",
        "voxlate.engines.enhance.deepfilter",
        "voxlate.engines.enhance.spectral",
        "voxlate.engines.enhance.diffusion",
    ],
)
DEFAULT = "deepfilter"

__all__ = ["DEFAULT", "REGISTRY", "Enhancer"]
