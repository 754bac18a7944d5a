"""What every engine of every kind has: a name for reports and a constructor from a spec.

Each kind's Protocol (`engines/<kind>/base.py`) extends `Engine`; optional capabilities
are Protocols of their own, checked with ``isinstance`` (e.g. `mt.base.BatchTranslator`,
`asr.base.ShortContextRecognizer`), never with ``hasattr``.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Engine(Protocol):
    """A registered engine, built by its kind's `Registry` from a spec ``name[:arg]``."""

    #: What the JSON report shows: the registry name, with the model or voice where there is
    #: a choice ("piper:joe", "faster-whisper:tiny.en"). `Registry.register` sets the class
    #: default (the registry name); an instance may refine it.
    name: str

    @classmethod
    def from_spec(cls, arg: str | None) -> Any:
        """Build the engine from the spec's argument (a model path, voice, ...; None: default)."""
        ...
