"""Engines shared by every client of the server: loaded once per language pair, then cached.

Heavy engines (enhancer, recognizer, translator, synthesizer) are shared and each
is guarded by a lock (`EngineLocks`, the one lock scheme of both pipelines), since
engine calls are not thread-safe in general. What holds per-speaker state is never shared at once: each live session
gets its own VAD and borrows a voice stage from a free list, returning it at the end.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from voxlate.engines import asr, tts, vad
from voxlate.engines.vad import VAD
from voxlate.engines.voice.base import VoiceStage
from voxlate.pipeline.engines import (
    Engines,
    EngineSpecs,
    default_asr,
    default_tts,
)
from voxlate.pipeline.file import FileTranslator
from voxlate.pipeline.stream_stages import EngineLocks


@dataclass
class LoadedPair:
    """The shared engines of one (source, target) pair, loaded without a voice stage."""

    engines: Engines
    locks: EngineLocks

    def file_translator(
        self, vad: VAD, voice: VoiceStage | None, voice_mode: str, **options: Any
    ) -> FileTranslator:
        """A file pipeline on these engines and their locks, with a private VAD and voice
        stage; each engine call holds only that engine's lock, so sessions interleave.

        voice_mode: what the report records as engines.voice;
        options: other `FileTranslator` fields (progress, enhance_mode, ...).
        """
        names = dict(self.engines.names, voice=voice_mode)
        engines = dataclasses.replace(self.engines, vad=vad, voice=voice, names=names)
        locks = dataclasses.replace(self.locks, voice=threading.Lock())
        return FileTranslator(engines, locks=locks, **options)


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

        with self._voice_lock:
            if self._encoder is None:
                self._encoder = ENCODERS.create("resemblyzer")
            encoder = self._encoder
        # The adapter is the CLI's (build_voice_stage's default), so a request sounds the same.
        return build_voice_stage(mode, encoder=encoder)

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
