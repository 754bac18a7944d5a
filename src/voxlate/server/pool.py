"""Engines shared by every client of the server: loaded once, shared, and bounded.

- **Shared engines.** The VAD, enhancer, recognizer, translator and synthesizer are built
  once per spec (`shared`) and shared by every language pair that uses that spec and by the
  REST endpoints, each with one lock (`EngineLocks`, the one lock scheme of both pipelines),
  since engine calls are not thread-safe in general. A translator serves every pair it
  knows, so `--mt llm` starts one LLM worker, whatever the number of pairs.
- **A bounded set of pairs.** At most `max_pairs` (source, target) pairs are loaded at
  once, kept in least-recently-used order; loading another evicts the least recently
  used pair that no one is using. A pair in use is counted (`acquire`/`release`, or
  `using`) and never evicted; when every loaded pair is in use, `PoolBusy`.
- **No same-language pair.** The server translates; `source == target` is refused
  (`SameLanguageError`) before anything loads.

What holds per-speaker state is never shared at once: each live session gets its own VAD
and borrows a voice stage from a free list, returning it at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import threading
from collections import OrderedDict, defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from voxlate.engines import asr, tts, vad
from voxlate.engines.vad import VAD
from voxlate.engines.voice.base import VoiceStage
from voxlate.errors import InputError, VoxlateError
from voxlate.pipeline.engines import (
    LIVE_FALLBACK_TTS,
    Engines,
    EngineSpecs,
    create_engine,
    default_asr,
    default_tts,
)
from voxlate.pipeline.file import FileTranslator
from voxlate.pipeline.recognition_batch import RecognitionBatch
from voxlate.pipeline.stream_sched import DeadlineLock
from voxlate.pipeline.stream_stages import EngineLocks
from voxlate.pipeline.voice.mode import VoiceMode

GIB = 2**30
PAIR_RAM_BYTES = 2 * GIB  # machine RAM set aside per loaded pair when sizing `max_pairs`
MAX_PAIRS_RANGE = (2, 16)  # the default `max_pairs` is kept within this range


class SameLanguageError(InputError):
    """A pair whose source and target are the same language (the server translates)."""


class PoolBusy(VoxlateError):
    """Every loaded pair is in use and no other may be loaded now (answered 503 / 1013)."""


def physical_memory() -> int | None:
    """The machine's RAM in bytes, or None where it cannot be read."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def default_max_pairs(total_bytes: int | None = None) -> int:
    """Pairs to keep loaded: one per `PAIR_RAM_BYTES` of RAM, within `MAX_PAIRS_RANGE`.

    A pair's own engines (the translator; every other engine is shared) are small with
    Apertium, but a translator with a model of its own can take ~1.2 GB.
    """
    total = total_bytes if total_bytes is not None else physical_memory()
    low, high = MAX_PAIRS_RANGE
    return low if total is None else max(low, min(high, total // PAIR_RAM_BYTES))


@dataclass
class LoadedPair:
    """The engines of one (source, target) pair, loaded without a voice stage."""

    engines: Engines
    locks: EngineLocks
    users: int = 0  # acquired and not yet released (the pool's count; never evicted while > 0)

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
    max_pairs: int = field(default_factory=default_max_pairs)  # pairs loaded at once (LRU)
    _pairs: OrderedDict[tuple[str, str], LoadedPair] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)  # _pairs and the counts
    _load_lock: threading.Lock = field(default_factory=threading.Lock)  # one pair load at once
    _voices: dict[Any, list[Any]] = field(default_factory=lambda: defaultdict(list))
    _stage_keys: dict[int, Any] = field(default_factory=dict)  # id(stage) -> its free list
    _voice_lock: threading.Lock = field(default_factory=threading.Lock)
    _encoder: Any = None  # the speaker encoder shared by every voice stage
    _shared: dict[tuple[str, str], tuple[Any, Any]] = field(default_factory=dict)
    # default live synthesizers measured too slow here (`live_voice`): eSpeak NG instead
    too_slow_tts: set[str] = field(default_factory=set)
    _shared_lock: threading.Lock = field(default_factory=threading.Lock)
    _asr_batches: dict[Any, RecognitionBatch] = field(default_factory=dict)  # asr lock -> batch

    def __post_init__(self) -> None:
        if self.max_pairs < 1:
            raise ValueError("max_pairs must be at least 1")

    # -- engines shared by spec ------------------------------------------------------

    def shared(self, kind: str, spec: str) -> tuple[Any, Any]:
        """The one engine of `kind` (vad, enhance, asr, mt, tts) built from `spec`, and its
        lock (one LLM worker for every pair, whatever the number of pairs)."""
        key = (kind, spec)
        got = self._shared.get(key)
        if got is None:
            with self._shared_lock:
                got = self._shared.get(key)
                if got is None:
                    # The recognizer's and synthesizer's locks serve live sessions
                    # earliest end of speech first.
                    lock = DeadlineLock() if kind in ("asr", "tts") else threading.Lock()
                    got = (create_engine(kind, spec), lock)
                    self._shared[key] = got
        return got

    # -- language pairs --------------------------------------------------------------

    def acquire_now(self, source: str, target: str) -> LoadedPair:
        """The engines for `source` -> `target`, loaded if needed, counted as in use until
        `release`. Blocks while loading (call it from a worker thread, or before serving).

        Raises SameLanguageError, PoolBusy, or the VoxlateError of `Engines.load` for an
        unsupported pair.
        """
        if source == target:
            raise SameLanguageError(
                f"source and target are both '{source}'; the server translates between "
                "two different languages."
            )
        key = (source, target)
        with self._lock:
            if (hit := self._hit(key)) is not None:
                return hit
        with self._load_lock:  # loads one at a time: a burst of new pairs queues here
            with self._lock:
                if (hit := self._hit(key)) is not None:
                    return hit
                self._make_room()
            pair = self._load(source, target)
            with self._lock:  # room was made above; only this thread inserts
                pair.users = 1
                self._pairs[key] = pair
            return pair

    def _hit(self, key: tuple[str, str]) -> LoadedPair | None:
        pair = self._pairs.get(key)
        if pair is not None:
            self._pairs.move_to_end(key)
            pair.users += 1
        return pair

    def _make_room(self) -> None:
        """Evict least recently used pairs no one uses until one more fits (under _lock)."""
        while len(self._pairs) >= self.max_pairs:
            idle = next((k for k, p in self._pairs.items() if p.users == 0), None)
            if idle is None:
                raise PoolBusy(
                    f"server busy: all {self.max_pairs} loaded language pairs are in use; "
                    "try again later"
                )
            del self._pairs[idle]

    def _load(self, source: str, target: str) -> LoadedPair:
        engine_locks: dict[int, Any] = {}  # id(engine) -> its shared lock

        def create(kind: str, spec: str) -> Any:
            engine, lock = self.shared(kind, spec)
            engine_locks[id(engine)] = lock
            return engine

        specs = dataclasses.replace(self.specs, voice="tts")
        if specs.tts is None and default_tts(target, specs.live) in self.too_slow_tts:
            specs = dataclasses.replace(specs, tts=LIVE_FALLBACK_TTS)
        engines = Engines.load(specs, source, target, create=create)
        # Each engine's lock is found by the engine itself (live builds two synthesizers, the
        # late voice too, in either order). A recording's enhancer is built on first use
        # (`LazyEnhancer`), so its lock is taken from the shared one for its spec now.
        enhance_lock = engine_locks.get(id(engines.enhancer))
        if enhance_lock is None:
            enhance_lock = self.shared("enhance", specs.enhance)[1]
        asr_lock = engine_locks[id(engines.recognizer)]
        pair_locks = EngineLocks(
            enhance=enhance_lock,
            asr=asr_lock,
            mt=engine_locks[id(engines.translator)],
            tts=engine_locks[id(engines.synthesizer)],
        )
        # the recognizer's waiting utterances are batched across every pair that shares it
        with self._shared_lock:
            pair_locks.asr_batch = self._asr_batches.setdefault(asr_lock, RecognitionBatch())
        if (late := getattr(engines, "late", None)) is not None:  # shared by every pair
            pair_locks.late_tts = engine_locks[id(late)]
        engines.warm_up(pair_locks)  # the engines may be in use by other pairs already
        return LoadedPair(engines, pair_locks)

    def release(self, pair: LoadedPair) -> None:
        """Hand back a pair from `acquire`; unused pairs stay loaded until evicted."""
        with self._lock:
            pair.users = max(0, pair.users - 1)

    async def acquire(self, source: str, target: str) -> LoadedPair:
        """`acquire_now` in a worker thread; a pair acquired after the caller was cancelled
        is released again, so the count never leaks."""
        task = asyncio.ensure_future(asyncio.to_thread(self.acquire_now, source, target))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:

            def undo(t: asyncio.Future) -> None:
                if not t.cancelled() and t.exception() is None:
                    self.release(t.result())

            task.add_done_callback(undo)
            raise

    @contextlib.asynccontextmanager
    async def using(self, source: str, target: str) -> AsyncIterator[LoadedPair]:
        """`async with pool.using(s, t) as pair:` acquire, then release at the end."""
        pair = await self.acquire(source, target)
        try:
            yield pair
        finally:
            self.release(pair)

    async def pair(self, source: str, target: str) -> LoadedPair:
        """Load `source` -> `target` now (e.g. at start-up) without holding it."""
        pair = await self.acquire(source, target)
        self.release(pair)
        return pair

    def load_now(self, source: str, target: str) -> LoadedPair:
        """Load a pair synchronously (before the event loop runs), e.g. at server start-up."""
        pair = self.acquire_now(source, target)
        self.release(pair)
        return pair

    def new_vad(self) -> vad.VAD:
        """A fresh VAD (it keeps per-stream state)."""
        return vad.REGISTRY.create(self.specs.vad)

    async def acquire_voice(self, mode: VoiceMode, synthesizer: Any = None) -> Any:
        """A voice stage for `mode` that no one else uses until `release_voice`; None for 'tts'.

        synthesizer: the session's synthesizer when it takes styles (Kokoro): the stage then
        speaks through the style fitted to the speaker (fitted in the background; its
        lookup costs ~0 s), as `voxlate live` does; None: the adapter stage (WORLD).
        """
        if mode.kind == "tts":
            return None
        key = self._voice_key(mode, synthesizer)
        with self._voice_lock:
            if self._voices[key]:
                return self._voices[key].pop()
        stage = await asyncio.to_thread(self._new_voice_stage, mode, synthesizer)
        with self._voice_lock:
            self._stage_keys[id(stage)] = key  # where `release_voice` files it
        return stage

    @staticmethod
    def _voice_key(mode: VoiceMode, synthesizer: Any) -> Any:
        from voxlate.engines.tts.base import StyledSynthesizer

        if isinstance(synthesizer, StyledSynthesizer):
            return (mode, id(synthesizer))
        return mode

    def _new_voice_stage(self, mode: VoiceMode | str, synthesizer: Any = None) -> Any:
        """A voice stage with its own speaker state, sharing one speaker encoder."""
        from voxlate.engines.tts.base import StyledSynthesizer
        from voxlate.engines.voice import ENCODERS
        from voxlate.pipeline.voice import build_voice_stage

        with self._voice_lock:
            if self._encoder is None:
                self._encoder = ENCODERS.create("resemblyzer")
            encoder = self._encoder
        if isinstance(synthesizer, StyledSynthesizer):  # live: fitted in the background
            return build_voice_stage(mode, synthesizer, live=True, encoder=encoder)
        # The adapter stage the CLI builds for a synthesizer without styles, so a request
        # sounds the same.
        return build_voice_stage(mode, encoder=encoder)

    def release_voice(self, mode: VoiceMode, stage: Any) -> None:
        if stage is not None:
            with self._voice_lock:
                self._voices[self._stage_keys.get(id(stage), mode)].append(stage)

    async def recognizer(self, language: str) -> tuple[asr.Recognizer, threading.Lock]:
        """A recognizer for `language` and its lock (for the REST endpoints)."""
        return await self.engine("asr", self.specs.asr or default_asr(language))

    async def synthesizer(self, language: str) -> tuple[tts.Synthesizer, threading.Lock]:
        """A synthesizer for `language` and its lock (for the REST endpoints)."""
        return await self.engine("tts", self.specs.tts or default_tts(language))

    async def engine(self, kind: str, spec: str) -> tuple[Any, threading.Lock]:
        """A shared engine of `kind` ('asr' or 'tts') built from `spec`, and its lock."""
        return await asyncio.to_thread(self.shared, kind, spec)

    def loaded_pairs(self) -> list[tuple[str, str]]:
        """The (source, target) pairs loaded now, least recently used first."""
        with self._lock:
            return list(self._pairs)
