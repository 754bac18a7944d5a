"""Engines shared by every client of the server: loaded once per language pair, then cached.

Heavy engines (enhancer, recognizer, translator, synthesizer) are shared and each
is guarded by a lock (`EngineLocks`), since engine calls are not thread-safe in
general. What holds per-speaker state is never shared at once: each live session
gets its own VAD and borrows a voice stage from a free list, returning it at the end.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import types
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from voxlate.engines import asr, tts, vad
from voxlate.pipeline.engines import (
    Engines,
    EngineSpecs,
    default_asr,
    default_tts,
)
from voxlate.pipeline.stream_stages import EngineLocks


class Locked:
    """An engine whose every method call holds `lock` (generators are run to the end inside it).

    Lets code written for a private engine (the file pipeline) use a shared one safely,
    one call at a time, so other clients interleave between calls.
    """

    def __init__(self, engine: Any, lock: threading.Lock) -> None:
        self._engine = engine
        self._lock = lock

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._engine, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                out = attr(*args, **kwargs)
                if isinstance(out, types.GeneratorType):
                    return iter(list(out))
                return out

        return call


@dataclass
class LoadedPair:
    """The shared engines of one (source, target) pair, loaded without a voice stage."""

    engines: Engines
    locks: EngineLocks

    def locked(self, vad: Any, voice: Any) -> Engines:
        """These engines behind their locks, with a private VAD and voice stage (file pipeline)."""
        e, k = self.engines, self.locks
        return dataclasses.replace(
            e,
            vad=vad,
            enhancer=Locked(e.enhancer, k.enhance),
            recognizer=Locked(e.recognizer, k.asr),
            translator=Locked(e.translator, k.mt),
            synthesizer=Locked(e.synthesizer, k.tts),
            voice=voice,
        )


@dataclass
class EnginePool:
    """Caches of loaded engines; `specs.voice` is ignored (voice comes per request)."""

    specs: EngineSpecs = field(default_factory=EngineSpecs)
    _pairs: dict[tuple[str, str], LoadedPair] = field(default_factory=dict)
    _load_locks: dict[Any, asyncio.Lock] = field(default_factory=lambda: defaultdict(asyncio.Lock))
    _voices: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    _voice_lock: threading.Lock = field(default_factory=threading.Lock)
    _encoder: Any = None  # the speaker encoder shared by every voice stage
    _single: dict[tuple[str, str], tuple[Any, threading.Lock]] = field(default_factory=dict)

    async def pair(self, source: str, target: str) -> LoadedPair:
        """The shared engines for `source` -> `target`, loading them on first use.

        Raises the VoxlateError of `Engines.load` for an unsupported pair.
        """
        key = (source, target)
        async with self._load_locks[key]:
            if key not in self._pairs:
                specs = dataclasses.replace(self.specs, voice="tts")
                engines = await asyncio.to_thread(Engines.load, specs, source, target)
                await asyncio.to_thread(engines.warm_up)
                self._pairs[key] = LoadedPair(engines, EngineLocks())
            return self._pairs[key]

    def load_now(self, source: str, target: str) -> LoadedPair:
        """Load a pair synchronously (before the event loop runs), e.g. at server start-up."""
        key = (source, target)
        if key not in self._pairs:
            specs = dataclasses.replace(self.specs, voice="tts")
            engines = Engines.load(specs, source, target)
            engines.warm_up()
            self._pairs[key] = LoadedPair(engines, EngineLocks())
        return self._pairs[key]

    def new_vad(self) -> vad.VAD:
        """A fresh VAD (it keeps per-stream state)."""
        return vad.REGISTRY.create(self.specs.vad)

    async def acquire_voice(self, mode: str) -> Any:
        """A voice stage for `mode` that no one else uses until `release_voice`; None for 'tts'."""
        if mode == "tts":
            return None
        with self._voice_lock:
            if self._voices[mode]:
                return self._voices[mode].pop()
        return await asyncio.to_thread(self._new_voice_stage, mode)

    def _new_voice_stage(self, mode: str) -> Any:
        """A voice stage with its own speaker state, sharing one speaker encoder."""
        from voxlate.engines.voice import ENCODERS
        from voxlate.engines.voice.modes import build_voice_stage
        from voxlate.engines.voice.world import WorldAdapter

        with self._voice_lock:
            if self._encoder is None:
                self._encoder = ENCODERS.create("resemblyzer")
            encoder = self._encoder
        return build_voice_stage(mode, encoder=encoder, adapter=WorldAdapter(encoder))

    def release_voice(self, mode: str, stage: Any) -> None:
        if stage is not None:
            with self._voice_lock:
                self._voices[mode].append(stage)

    async def _one(self, kind: str, spec: str) -> tuple[Any, threading.Lock]:
        key = (kind, spec)
        async with self._load_locks[key]:
            if key not in self._single:
                registry = asr.REGISTRY if kind == "asr" else tts.REGISTRY
                engine = await asyncio.to_thread(registry.create, spec)
                self._single[key] = (engine, threading.Lock())
            return self._single[key]

    async def recognizer(self, language: str) -> tuple[asr.Recognizer, threading.Lock]:
        """A recognizer for `language` and its lock (for the REST endpoints)."""
        return await self._one("asr", self.specs.asr or default_asr(language))

    async def synthesizer(self, language: str) -> tuple[tts.Synthesizer, threading.Lock]:
        """A synthesizer for `language` and its lock (for the REST endpoints)."""
        return await self._one("tts", self.specs.tts or default_tts(language))

    async def engine(self, kind: str, spec: str) -> tuple[Any, threading.Lock]:
        """A shared engine of `kind` ('asr' or 'tts') built from `spec`, and its lock."""
        return await self._one(kind, spec)

    def loaded_pairs(self) -> list[tuple[str, str]]:
        """The (source, target) pairs loaded so far."""
        return list(self._pairs)
