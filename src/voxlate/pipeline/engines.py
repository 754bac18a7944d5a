"""Choosing and loading the engines of one translation direction, once per process."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voxlate import languages
from voxlate.audio import SAMPLE_RATE, Audio
from voxlate.engines import asr, enhance, mt, tts, vad
from voxlate.engines.base import Engine
from voxlate.engines.mt.base import ModeTranslator
from voxlate.engines.voice.base import VoiceStage
from voxlate.errors import UnsupportedLanguageError


@dataclass(frozen=True)
class EngineSpecs:
    """Which engine does each stage; None picks the embedded default for the language."""

    vad: str = vad.DEFAULT  # voice activity detector spec
    enhance: str = enhance.DEFAULT  # enhancer spec ("none" to skip)
    asr: str | None = None  # recognizer; None: Whisper tiny.en for en, Vosk for ko
    mt: str = mt.DEFAULT  # translator spec
    tts: str | None = None  # synthesizer; None: Piper joe for en, eSpeak NG otherwise
    voice: str = "preserve"  # preserve | tts | anonymize | path to a reference clip


EMBEDDED_ASR = {"en": "faster-whisper", "ko": "vosk"}


def default_asr(source: str) -> str:
    if source in EMBEDDED_ASR:
        return EMBEDDED_ASR[source]
    raise UnsupportedLanguageError(
        f"No embedded speech recognizer for {languages.name(source)} ('{source}'); supply a "
        "multilingual Whisper model with --asr faster-whisper:DIR (a CTranslate2 directory, e.g. "
        "converted from openai/whisper-small with ct2-transformers-converter)."
    )


def default_tts(target: str) -> str:
    return "piper" if target == "en" else "espeak-ng"


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
            translator = mt.REGISTRY.create(specs.mt)
            pairs = translator.pairs()
            if (source, target) not in pairs:
                raise UnsupportedLanguageError(
                    f"Translation {source}->{target} is not available with {describe(translator)}; "
                    f"available: {summarize_pairs(pairs)}."
                )
        recognizer = asr.REGISTRY.create(specs.asr or default_asr(source))
        if recognizer.languages is not None and source not in recognizer.languages:
            raise UnsupportedLanguageError(
                f"The recognizer {describe(recognizer)} only knows {', '.join(sorted(recognizer.languages))}; "
                f"for '{source}' supply a multilingual Whisper with --asr faster-whisper:DIR."
            )
        synthesizer = tts.REGISTRY.create(specs.tts or default_tts(target))
        if target not in synthesizer.languages():
            raise UnsupportedLanguageError(
                f"The synthesizer {describe(synthesizer)} does not speak '{target}'."
            )
        v = vad.REGISTRY.create(specs.vad)
        e = enhance.REGISTRY.create(specs.enhance)
        voice = load_voice_stage(specs.voice)
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


def load_voice_stage(mode: str) -> VoiceStage | None:
    """The voice stage for a `--voice` mode; None for plain synthesizer voice ('tts')."""
    if mode == "tts":
        return None
    from voxlate.engines.voice.modes import build_voice_stage

    return build_voice_stage(mode)
