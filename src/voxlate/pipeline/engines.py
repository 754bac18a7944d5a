"""Choosing and loading the engines of one translation direction, once per process."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from voxlate.audio import SAMPLE_RATE, Audio
from voxlate.engines import asr, enhance, mt, tts, vad
from voxlate.engines.base import Engine
from voxlate.engines.mt.base import ModeTranslator, PreparingTranslator
from voxlate.engines.voice.base import VoiceStage
from voxlate.errors import EngineCrashedError, UnsupportedLanguageError


@dataclass(frozen=True)
class EngineSpecs:
    """Which engine does each stage; None picks the embedded default for the language."""

    vad: str = vad.DEFAULT  # voice activity detector spec
    enhance: str = enhance.DEFAULT  # enhancer spec ("none" to skip)
    asr: str | None = None  # recognizer; None: asr.default_for(source) (tiny.en for en, else base)
    mt: str = mt.DEFAULT  # translator spec
    mt_fallback: str | None = None  # translator when `mt` dies while loading (None: fail)
    tts: str | None = None  # synthesizer; None: default_tts(target, live)
    voice: str = "preserve"  # preserve | tts | anonymize | path to a reference clip
    live: bool = False  # pick the live defaults (first-audio latency) rather than the file ones


def default_asr(source: str) -> str:
    """The embedded recognizer for `source` (see `asr.default_for`)."""
    return asr.default_for(source)


# Embedded synthesizer per target language and mode, chosen by measurement (docs/tts.md,
# docs/benchmarks.md: ASR-BLEU, real-time factor, live first-audio latency).
FILE_TTS = {"en": "piper", "es": "kokoro", "fr": "kokoro", "it": "kokoro", "pt": "kokoro",
            "hi": "kokoro", "ja": "kokoro"}  # fmt: skip
LIVE_TTS = {"en": "piper"}


def load_translator(spec: str, fallback: str | None = None) -> mt.Translator:
    """The translator of `spec`; when its worker dies while loading (`EngineCrashedError`,
    e.g. llama.cpp on a CPU it was not built for) and a `fallback` is given, that one, with
    one sentence on stderr."""
    try:
        return mt.REGISTRY.create(spec)
    except EngineCrashedError as e:
        if fallback is None:
            raise
        print(f"warning: {e} Translating with {fallback} instead.", file=sys.stderr, flush=True)
        return mt.REGISTRY.create(fallback)


def default_tts(target: str, live: bool = False) -> str:
    """The embedded synthesizer for `target`: per `LIVE_TTS`/`FILE_TTS`, else eSpeak NG."""
    return (LIVE_TTS if live else FILE_TTS).get(target, "espeak-ng")


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

    @classmethod
    def load(cls, specs: EngineSpecs, source: str, target: str) -> Engines:
        """Load every engine, checking first that the language pair is served end to end."""
        translator: mt.Translator
        if source == target:
            translator = SameLanguage()
        else:
            # First: a translator with a worker process (the LLM) loads in the background,
            # overlapping the other models, the VAD and the ASR; the first translation
            # waits for it only if it is still loading.
            translator = load_translator(specs.mt, specs.mt_fallback)
            pairs = translator.pairs()
            if (source, target) not in pairs:
                raise UnsupportedLanguageError(
                    f"Translation {source}->{target} is not available with {describe(translator)}; "
                    f"available: {summarize_pairs(pairs)}."
                )
            if isinstance(translator, PreparingTranslator):
                translator.prepare(source, target)
        recognizer = asr.REGISTRY.create(specs.asr or default_asr(source))
        if recognizer.languages is not None and source not in recognizer.languages:
            raise UnsupportedLanguageError(
                f"The recognizer {describe(recognizer)} only knows {', '.join(sorted(recognizer.languages))}; "
                f"for '{source}' use the multilingual --asr faster-whisper:base."
            )
        synthesizer = tts.REGISTRY.create(specs.tts or default_tts(target, specs.live))
        if target not in synthesizer.languages():
            raise UnsupportedLanguageError(
                f"The synthesizer {describe(synthesizer)} does not speak '{target}'."
            )
        v = vad.REGISTRY.create(specs.vad)
        e = enhance.REGISTRY.create(specs.enhance)
        voice = load_voice_stage(specs.voice, synthesizer, specs.live)
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
        return cls(source, target, v, e, recognizer, translator, synthesizer, voice, names)

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

    def warm_up(self) -> None:
        """One short call through the recognizer, translator and synthesizer.

        The first call of an engine pays one-off costs (Apertium starts its pipeline,
        ~0.4 s; CTranslate2 sets up its first inference); live sessions call this once
        after loading so that their first utterance does not.
        """
        silence = Audio(np.zeros(SAMPLE_RATE // 2, dtype=np.float32), SAMPLE_RATE)
        self.recognizer.transcribe(silence, self.source)
        text = self.translator.translate("Hello.", self.source, self.target)
        for _ in self.synthesizer.synthesize(text or "Hello.", self.target):
            pass


_STAGE_NAME = {"recognizer": "asr", "translator": "mt", "synthesizer": "tts"}


def load_voice_stage(
    mode: str, synthesizer: tts.Synthesizer | None = None, live: bool = False
) -> VoiceStage | None:
    """The voice stage for a `--voice` mode; None for plain synthesizer voice ('tts').

    With a synthesizer that takes styles (Kokoro), preserve / anonymize / REF.wav speak
    through a fitted style (`engines/voice/styled.py`; fitted in the background when
    `live`), and ``MODE+world`` adds the WORLD adapter after it; otherwise the WORLD stage.
    """
    if mode == "tts":
        return None
    from voxlate.engines.tts.base import StyledSynthesizer
    from voxlate.engines.voice.modes import build_voice_stage
    from voxlate.engines.voice.styled import POST_WORLD, build_styled_stage

    if isinstance(synthesizer, StyledSynthesizer):
        return build_styled_stage(mode, synthesizer, background=live)
    return build_voice_stage(mode.removesuffix(POST_WORLD))
