"""The enhancer of a recording, loaded on its first use.

With `--enhance-mode auto` (the default) a recording's enhancer runs only on utterances
less than 15 dB above the noise floor and for a background worth keeping: a clean
recording never needs it, and loading DeepFilterNet costs about 0.9 CPU-s of every
`voxlate translate`'s start-up. `Engines.load` therefore gives the file pipeline a
`LazyEnhancer`, which builds the real engine the first time `enhance` is called (once,
under a lock: the recognition and the background estimate may both ask). The live
pipeline keeps loading it up front: its first noisy utterance must not pay the load.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from voxlate.audio import Audio
from voxlate.engines.enhance.base import Enhancer


class LazyEnhancer:
    """An `Enhancer` that builds `create("enhance", spec)` on the first `enhance` call.

    name: what the report shows (the registry's name for `spec`) until the engine is
        built, then the engine's own name.
    """

    def __init__(self, create: Callable[[str, str], Any], spec: str, name: str) -> None:
        self._create = create
        self.spec = spec
        self.name = name
        self._engine: Enhancer | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_spec(cls, arg: str | None) -> LazyEnhancer:  # pragma: no cover - not registered
        raise TypeError("LazyEnhancer is built by Engines.load, not from a spec.")

    @property
    def loaded(self) -> bool:
        """Whether the real enhancer has been built."""
        return self._engine is not None

    def engine(self) -> Enhancer:
        """The real enhancer, built on the first call."""
        with self._lock:
            if self._engine is None:
                self._engine = self._create("enhance", self.spec)
                self.name = self._engine.name
            return self._engine

    def enhance(self, audio: Audio) -> Audio:
        return self.engine().enhance(audio)
