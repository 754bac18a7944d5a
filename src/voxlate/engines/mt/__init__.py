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
DEFAULT = "apertium"  # live translation's default: milliseconds per sentence


def file_default() -> str:
    """The translator for recordings: the embedded LLM (``llm``) when the ``[llm]`` extra
    is installed, as it beats Apertium on the held-out Fish Fillets split (docs/mt.md),
    else Apertium. Live translation keeps `DEFAULT`: the LLM does not fit its latency budget."""
    from voxlate.engines.mt.llm import embedded_available

    return "llm" if embedded_available() else DEFAULT


__all__ = ["DEFAULT", "REGISTRY", "Translator", "file_default"]
