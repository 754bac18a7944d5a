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


def file_default(notes: list[str] | None = None) -> str:
    """The translator for recordings: the embedded LLM (``llm``) when the ``[llm]`` extra
    is installed, as it beats Apertium on the held-out Fish Fillets split (docs/mt.md),
    else Apertium. Live translation keeps `DEFAULT`: the LLM does not fit its latency budget.

    An LLM known not to run here (a CPU without AVX2, or a failed `voxlate doctor`) gives
    Apertium instead, and one sentence in `notes` saying why.
    """
    from voxlate.engines.mt.llm import embedded_available
    from voxlate.health import known_broken

    if not embedded_available():
        return DEFAULT
    why = known_broken("mt llm")
    if why:
        if notes is not None:
            notes.append(f"translating with {DEFAULT}, not the LLM: {why}.")
        return DEFAULT
    return "llm"


__all__ = ["DEFAULT", "REGISTRY", "Translator", "file_default"]
