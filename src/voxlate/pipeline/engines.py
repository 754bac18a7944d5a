"""Choosing and loading the engines of one translation direction, once per process."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from voxlate.audio import SAMPLE_RATE, Audio
from voxlate.engines import asr, enhance, mt, tts, vad
from voxlate.engines.base import Engine
from voxlate.engines.mt.base import ModeTranslator, PreparingTranslator
from voxlate.engines.voice.base import VoiceStage
from voxlate.errors import UnsupportedLanguageError
from voxlate.health import known_broken
from voxlate.pipeline.lazy_enhancer import LazyEnhancer
from voxlate.pipeline.voice import build_voice_stage, parse_voice
from voxlate.registry import Registry, Spec


@dataclass(frozen=True)
class EngineSpecs:
    """Which engine does each stage; None picks the embedded default for the language."""

    vad: str = vad.DEFAULT  # voice activity detector spec
    enhance: str = enhance.DEFAULT  # enhancer spec ("none" to skip)
    asr: str | None = None  # recognizer; None: asr.default_for(source) (tiny.en for en, else base)
    mt: str = mt.DEFAULT  # translator spec (commands: `default_engine("mt", live=...)`)
    tts: str | None = None  # synthesizer; None: default_tts(target, live)
    voice: str = "preserve"  # `--voice`, as `pipeline.voice.parse_voice` reads it
    live: bool = False  # pick the live defaults (first-audio latency) rather than the file ones


# What replaces an embedded default that `voxlate doctor` found broken on this machine
# (`health.known_broken`): "kind spec" -> (the doctor's check, the fallback spec).
FALLBACK_OF = {
    "asr faster-whisper": ("asr faster-whisper:tiny.en", "faster-whisper:base"),
    "tts kokoro": ("tts kokoro", "espeak-ng"),
    "tts piper": ("tts piper", "espeak-ng"),
}


def healthy(kind: str, spec: str) -> str:
    """`spec`, or its fallback when the doctor found it broken here (said once on stderr)."""
    check, fallback = FALLBACK_OF.get(f"{kind} {spec}", ("", spec))
    why = known_broken(check) if check else ""
    if not why:
        return spec
    if check not in _TOLD:
        _TOLD.add(check)
        print(f"note: {kind} {fallback}, not {spec}: {why}.", file=sys.stderr, flush=True)
    return fallback


_TOLD: set[str] = set()

# The engine kinds `Engines.load` builds through its `create` hook (the server shares them
# between language pairs: a translator serves every pair it knows, so an LLM worker is started
# once per spec, not once per pair); the voice stage is always built per pair.
REGISTRIES: dict[str, Registry[Any]] = {"vad": vad.REGISTRY, "enhance": enhance.REGISTRY,
                                         "asr": asr.REGISTRY, "mt": mt.REGISTRY,
                                         "tts": tts.REGISTRY}  # fmt: skip
Create = Callable[[str, str], Any]  # (kind, spec) -> engine, kind one of REGISTRIES


def create_engine(kind: str, spec: str) -> Any:
    """A new engine of `kind` (a key of `REGISTRIES`) built from `spec`."""
    return REGISTRIES[kind].create(spec)


def default_engine(
    kind: str, language: str = "en", live: bool = False, notes: list[str] | None = None
) -> str:
    """The embedded default spec of an engine `kind` (vad, enhance, asr, mt, tts) for a
    recording (`live` False) or a live stream: the one place defaults are chosen.

    language: the source language (asr) or the target language (tts).
    - asr: `asr.default_for(language)` (tiny.en for en, else Whisper base);
    - mt: live, Apertium (milliseconds per sentence); a recording, the embedded LLM when
      the ``[llm]`` extra is installed (it beats Apertium on the held-out Fish Fillets
      split, docs/mt.md), else Apertium. An LLM known not to run here (a CPU without
      AVX2, or a failed `voxlate doctor`) gives Apertium and one sentence in `notes`;
    - tts: `LIVE_TTS` / `FILE_TTS` per target, else eSpeak NG.
    A default the doctor found broken here is replaced by its fallback (`healthy`).
    """
    if kind == "asr":
        return healthy("asr", asr.default_for(language))
    if kind == "tts":
        return healthy("tts", (LIVE_TTS if live else FILE_TTS).get(language, "espeak-ng"))
    if kind == "mt":
        return mt.DEFAULT if live else _file_mt(notes)
    if kind in ("vad", "enhance"):
        return str(vad.DEFAULT if kind == "vad" else enhance.DEFAULT)
    raise ValueError(f"no default for engine kind {kind!r}")


def _file_mt(notes: list[str] | None) -> str:
    """A recording's translator (see `default_engine`); why not the LLM goes to `notes`."""
    from voxlate.engines.mt.llm import embedded_available

    if not embedded_available():
        return mt.DEFAULT
    why = known_broken("mt llm")
    if why:
        if notes is not None:
            notes.append(f"translating with {mt.DEFAULT}, not the LLM: {why}.")
        return mt.DEFAULT
    return "llm"


def command_specs(
    *,
    live: bool,
    voice: str,
    vad: str = vad.DEFAULT,
    enhance: str = enhance.DEFAULT,
    asr: str | None = None,
    mt: str | None = None,
    tts: str | None = None,
    notes: list[str] | None = None,
) -> EngineSpecs:
    """The `EngineSpecs` of a command's engine options (None: the default).

    An unnamed translator is `default_engine("mt", live=live)` (a worker that dies while
    loading or translating falls back to Apertium inside the guard). The voice is checked
    here (`parse_voice`: one sentence for a bad one) and kept in its canonical spelling.
    """
    return EngineSpecs(
        vad=vad,
        enhance=enhance,
        asr=asr,
        mt=mt or default_engine("mt", live=live, notes=notes),
        tts=tts,
        voice=str(parse_voice(voice)),
        live=live,
    )


def default_asr(source: str) -> str:
    """`default_engine("asr", source)`."""
    return default_engine("asr", source)


# Embedded synthesizer per target language and mode, chosen by measurement (docs/tts.md,
# docs/benchmarks.md: ASR-BLEU, real-time factor, live first-audio latency).
FILE_TTS = {"en": "piper", "es": "kokoro", "fr": "kokoro", "it": "kokoro", "pt": "kokoro",
            "hi": "kokoro", "ja": "kokoro"}  # fmt: skip
LIVE_TTS = {"en": "piper", "es": "kokoro", "fr": "kokoro", "it": "kokoro", "pt": "kokoro",
            "hi": "kokoro", "ja": "kokoro"}  # fmt: skip
# The live fallback: a server (or `voxlate live`) whose start-up call shows Kokoro slower
# than `LIVE_MAX_RTF` (synthesis wall seconds / seconds of speech, one short clause) speaks
# live in eSpeak NG instead. At factor r a live first chunk (~3 words, ~1 s of speech)
# takes about r s, plus ~0.2 s of recognition and ~0.1 s of re-voicing: 0.5 keeps the
# first audio near 0.8 s after the end of speech. The 2-core development machine measures
# 0.37-0.41 idle (session 9: Kokoro live 0.33 s median at a WebSocket client, 1 client,
# docs/live.md) and 0.65-0.77 at load 4 (session 8), where it speaks eSpeak NG.
LIVE_FALLBACK_TTS = "espeak-ng"
# Models `Engines.load` loads at the same time (besides the translator's worker process).
LOAD_THREADS = 2
LIVE_MAX_RTF = 0.5


def live_tts_choice(spec: str, rtf: float) -> tuple[str, str]:
    """The live synthesizer for default `spec` given its measured real-time factor `rtf`,
    and one sentence that says why (the server prints it at start-up)."""
    if spec == LIVE_FALLBACK_TTS:
        return spec, f"live voice: {spec}"
    if rtf > LIVE_MAX_RTF:
        return LIVE_FALLBACK_TTS, (
            f"live voice: {LIVE_FALLBACK_TTS}, not {spec}: {spec} ran at real-time factor "
            f"{rtf:.2f} here (limit {LIVE_MAX_RTF}), too slow to speak live"
        )
    return spec, f"live voice: {spec} (real-time factor {rtf:.2f} at start-up)"


def late_synthesizer(
    synthesizer: tts.Synthesizer, target: str, create: Create = create_engine
) -> tts.Synthesizer | None:
    """The live fallback voice for chunks `synthesizer` cannot start in time: eSpeak NG,
    unless `synthesizer` is eSpeak NG itself or eSpeak NG does not speak `target` (or
    cannot load: then None, and late chunks just wait)."""
    if describe(synthesizer).startswith(LIVE_FALLBACK_TTS):
        return None
    try:
        late = create("tts", LIVE_FALLBACK_TTS)
    except Exception:  # noqa: BLE001 - an optional helper: without it chunks wait
        return None
    return late if target in late.languages() else None


def default_tts(target: str, live: bool = False) -> str:
    """`default_engine("tts", target, live)`."""
    return default_engine("tts", target, live)


def describe(engine: Engine | VoiceStage) -> str:
    """The spec string a report shows for an engine instance or a voice stage."""
    return engine.name if isinstance(engine, Engine) else engine.spec


def summarize_pairs(pairs: set[tuple[str, str]], most: int = 12) -> str:
    """'en->es, es->en' for a few pairs; 'any two of en, es, fr, ...' for a multilingual model."""
    if not pairs:
        return "none"
    if len(pairs) <= most:
        return ", ".join(f"{s}->{t}" for s, t in sorted(pairs))
    langs = sorted({x for p in pairs for x in p})
    return f"any two of {', '.join(langs)}"


class SameLanguage:
    """The translator used when source and target are the same language (re-voicing)."""

    name = "none"

    @classmethod
    def from_spec(cls, arg: str | None) -> SameLanguage:
        return cls()

    def pairs(self) -> set[tuple[str, str]]:
        return set()

    def translate(self, text: str, source: str, target: str) -> str:
        return text


@dataclass
class Engines:
    """The loaded engines for translating `source` speech into `target` speech."""

    source: str
    target: str
    vad: vad.VAD
    enhancer: enhance.Enhancer
    recognizer: asr.Recognizer
    translator: mt.Translator
    synthesizer: tts.Synthesizer
    voice: VoiceStage | None  # whose voice the speech is spoken in; None for 'tts'
    names: dict[str, str]
    # the specs that rebuild the synthesizer and the voice stage ('tts', 'voice'), for
    # `voxlate render`; empty when the engines were put together by hand
    specs: dict[str, str] = field(default_factory=dict)
    # live: the voice for a chunk the synthesizer cannot start in time (eSpeak NG, when
    # the synthesizer is another; `stream_stages.LATE_S`); None in files
    late: tts.Synthesizer | None = None

    @classmethod
    def load(
        cls, specs: EngineSpecs, source: str, target: str, create: Create = create_engine
    ) -> Engines:
        """Load every engine, checking first that the language pair is served end to end.

        create: builds the VAD, enhancer, recognizer, translator and synthesizer from their
            specs (the server passes one that shares them between pairs).
        """
        translator: mt.Translator
        if source == target:
            translator = SameLanguage()
        else:
            # First: a translator with a worker process (the LLM) loads in the background,
            # overlapping the other models, the VAD and the ASR; the first translation
            # waits for it only if it is still loading (and a worker that dies meanwhile
            # is the guard's to fall back from, `EngineCrashedError`).
            translator = create("mt", specs.mt)
            pairs = translator.pairs()
            if (source, target) not in pairs:
                raise UnsupportedLanguageError(
                    f"Translation {source}->{target} is not available with {describe(translator)}; "
                    f"available: {summarize_pairs(pairs)}."
                )
            if isinstance(translator, PreparingTranslator):
                translator.prepare(source, target)
        # The other models load two at a time (their files are read and their sessions set
        # up mostly outside the GIL); the checks below raise in the same order as before.
        tts_spec = specs.tts or default_tts(target, specs.live)
        with ThreadPoolExecutor(max_workers=LOAD_THREADS, thread_name_prefix="load") as pool:
            loading = {
                "asr": pool.submit(create, "asr", specs.asr or default_asr(source)),
                "tts": pool.submit(create, "tts", tts_spec),
                "vad": pool.submit(create, "vad", specs.vad),
            }
            if specs.live:  # a live stream's first noisy utterance must not pay the load
                loading["enhance"] = pool.submit(create, "enhance", specs.enhance)
            try:
                recognizer = loading["asr"].result()
                if recognizer.languages is not None and source not in recognizer.languages:
                    raise UnsupportedLanguageError(
                        f"The recognizer {describe(recognizer)} only knows {', '.join(sorted(recognizer.languages))}; "
                        f"for '{source}' use the multilingual --asr faster-whisper:base."
                    )
                synthesizer = loading["tts"].result()
                if target not in synthesizer.languages():
                    raise UnsupportedLanguageError(
                        f"The synthesizer {describe(synthesizer)} does not speak '{target}'."
                    )
                voice = build_voice_stage(specs.voice, synthesizer, specs.live)
                v = loading["vad"].result()
                e = loading["enhance"].result() if specs.live else lazy_enhancer(specs, create)
            except BaseException:
                for f in loading.values():
                    f.cancel()
                raise
        mt_name = describe(translator)
        if isinstance(translator, ModeTranslator) and source != target:
            mt_name = f"{mt_name}:{translator.mode(source, target)}"
        tts_name = describe(synthesizer)
        if tts_name == "espeak-ng":
            tts_name = f"espeak-ng:{target}"
        names = {
            "vad": describe(v),
            "enhance": describe(e),
            "asr": describe(recognizer),
            "mt": mt_name,
            "tts": tts_name,
            "voice": describe(voice) if voice is not None else "tts",
        }
        rebuild = {"tts": tts_spec, "voice": str(parse_voice(specs.voice))}
        late = late_synthesizer(synthesizer, target, create) if specs.live else None
        return cls(
            source, target, v, e, recognizer, translator, synthesizer, voice, names, rebuild, late
        )

    def warnings(self) -> dict[str, int]:
        """Counted losses reported by the engines so far (e.g. the synthesizer's
        ``unspeakable_sentences``: text with no speakable symbol, left silent)."""
        out: dict[str, int] = {}
        for stage in ("recognizer", "translator", "synthesizer"):
            counts = getattr(getattr(self, stage), "warnings", None)
            if callable(counts):
                out.update(
                    {f"{self.names[_STAGE_NAME[stage]]}: {k}": v for k, v in counts().items()}
                )
        return out

    def warm_up(self, locks: Any = None) -> None:
        """One short call through the recognizer, translator and synthesizer.

        The first call of an engine pays one-off costs (Apertium starts its pipeline,
        ~0.4 s; CTranslate2 sets up its first inference); live sessions call this once
        after loading so that their first utterance does not.

        locks: the `EngineLocks` to hold around each call, when the engines are shared.
        """

        def hold(name: str) -> Any:
            return getattr(locks, name) if locks is not None else contextlib.nullcontext()

        silence = Audio(np.zeros(SAMPLE_RATE // 2, dtype=np.float32), SAMPLE_RATE)
        with hold("asr"):
            self.recognizer.transcribe(silence, self.source)
        with hold("mt"):
            text = self.translator.translate("Hello.", self.source, self.target)
        with hold("tts"):
            for _ in self.synthesizer.synthesize(text or "Hello.", self.target):
                pass


def lazy_enhancer(specs: EngineSpecs, create: Create) -> enhance.Enhancer:
    """A recording's enhancer, built on its first use (`LazyEnhancer`: a clean recording
    never needs it); "none" is built at once (it costs nothing). An unknown name is refused
    here, before the work."""
    spec = Spec.parse(specs.enhance)
    if spec.name == "none":
        return create("enhance", specs.enhance)  # type: ignore[no-any-return]
    name = enhance.REGISTRY.get(spec.name).name  # type: ignore[attr-defined]
    return LazyEnhancer(create, specs.enhance, name)


_STAGE_NAME = {"recognizer": "asr", "translator": "mt", "synthesizer": "tts"}
