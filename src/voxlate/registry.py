"""Engines registered by name and built from spec strings.

A spec is ``name`` or ``name:argument``; the argument is usually a model path or a
voice, e.g. ``faster-whisper:/models/small`` or ``piper:/voices/es.onnx``.
Each engine kind has one `Registry`. An engine class registers itself with
``@REGISTRY.register("name")`` and is built by ``cls.from_spec(argument)``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from voxlate.errors import EngineError

T = TypeVar("T")


@dataclass(frozen=True)
class Spec:
    """A parsed engine spec: `name` and optional `arg` (model path, voice, ...)."""

    name: str
    arg: str | None = None

    @classmethod
    def parse(cls, text: str) -> Spec:
        name, sep, arg = text.strip().partition(":")
        return cls(name.strip().lower(), arg.strip() if sep and arg.strip() else None)

    def __str__(self) -> str:
        return f"{self.name}:{self.arg}" if self.arg else self.name


class Registry(Generic[T]):
    """Name -> engine class for one kind of engine (vad, asr, mt, ...).

    `modules` are imported lazily on first use so that each implementation's
    ``register`` decorator runs without importing heavy libraries at start-up.
    """

    def __init__(self, kind: str, modules: list[str]) -> None:
        self.kind = kind
        self._modules = modules
        self._classes: dict[str, type] = {}
        self._loaded = False

    def register(self, name: str) -> Callable[[type], type]:
        def deco(cls: type) -> type:
            cls.engine_name = name  # type: ignore[attr-defined]
            if not isinstance(getattr(cls, "name", None), str):  # the `Engine.name` default
                cls.name = name  # type: ignore[attr-defined]
            self._classes[name] = cls
            return cls

        return deco

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True
            for m in self._modules:
                try:
                    importlib.import_module(m)
                except ModuleNotFoundError as e:
                    if e.name != m:  # a missing dependency inside the module is a real error
                        raise

    def names(self) -> list[str]:
        self._load()
        return list(self._classes)

    def get(self, name: str) -> type:
        self._load()
        if name not in self._classes:
            known = ", ".join(self._classes)
            raise EngineError(f"Unknown {self.kind} engine '{name}'; choose one of: {known}.")
        return self._classes[name]

    def create(self, spec: str | Spec) -> T:
        """Build the engine a spec names."""
        s = Spec.parse(spec) if isinstance(spec, str) else spec
        return self.get(s.name).from_spec(s.arg)  # type: ignore[attr-defined,no-any-return]
