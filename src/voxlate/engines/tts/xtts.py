"""XTTS-v2 (Coqui) zero-shot voice cloning from a local model directory.

Full-quality backend for speaking in someone's voice: XTTS-v2 conditions a GPT
decoder on a few seconds of a reference voice (Casanova et al., 2024, "XTTS: a
massively multilingual zero-shot text-to-speech model"). Nothing is downloaded:
the user provides the model directory and installs the library.

Enabling it::

    pip install coqui-tts          # the maintained fork of Coqui TTS (pulls torchaudio)
    # the model directory holds config.json, model.pth, vocab.json (and speakers_xtts.pth),
    # as published by Coqui under the Coqui Public Model License
    voxlate translate talk.wav --source cs --target en --tts xtts:/models/XTTS-v2 -o out.wav

`XttsSynthesizer.with_reference(audio)` (or the `speaker_wav` attribute) chooses the voice;
without one, the first built-in speaker of ``speakers_xtts.pth`` speaks.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from voxlate.audio import Audio, save_audio
from voxlate.engines.tts import REGISTRY
from voxlate.errors import EngineError, MissingDependencyError, UnsupportedLanguageError

_SENTENCE = re.compile(r"(?<=[.!?\u2026\u3002])\s+")  # split after sentence-final marks
SAMPLE_RATE = 24_000  # Hz XTTS-v2 outputs
REQUIRED_FILES = ("config.json", "model.pth", "vocab.json")
# Languages of XTTS-v2 (ISO 639-1; Chinese is "zh-cn" inside the model).
LANGUAGES = {
    "en", "es", "fr", "de", "it", "pt", "pl", "tr", "ru", "nl",
    "cs", "ar", "zh", "hu", "ko", "ja", "hi",
}  # fmt: skip


def check_model_dir(path: str | os.PathLike | None) -> Path:
    """The XTTS-v2 model directory, checked; raises EngineError with one sentence."""
    if not path:
        raise EngineError(
            "The xtts synthesizer needs its model directory: --tts xtts:/path/to/XTTS-v2."
        )
    p = Path(path).expanduser()
    if not p.is_dir():
        raise EngineError(f"XTTS-v2 model directory not found: {p}")
    missing = [f for f in REQUIRED_FILES if not (p / f).is_file()]
    if missing:
        raise EngineError(f"{p} is not an XTTS-v2 model directory (missing {', '.join(missing)}).")
    return p


def _import_xtts() -> tuple[Any, Any]:
    try:
        from TTS.tts.configs.xtts_config import XttsConfig
        from TTS.tts.models.xtts import Xtts
    except ImportError as e:
        raise MissingDependencyError("coqui-tts (for XTTS-v2)", pip="coqui-tts") from e
    return XttsConfig, Xtts


@REGISTRY.register("xtts")
class XttsSynthesizer:
    """XTTS-v2 from `model_dir`; `device` is "cpu" or "cuda" (default: cuda when available).

    speaker_wav: path of the reference voice clip (6-30 s of clean speech works best).
    """

    def __init__(
        self,
        model_dir: str | os.PathLike,
        device: str | None = None,
        speaker_wav: str | os.PathLike | None = None,
    ) -> None:
        self.model_dir = check_model_dir(model_dir)
        XttsConfig, Xtts = _import_xtts()
        import torch

        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        try:
            config = XttsConfig()
            config.load_json(str(self.model_dir / "config.json"))
            model = Xtts.init_from_config(config)
            model.load_checkpoint(config, checkpoint_dir=str(self.model_dir), use_deepspeed=False)
            model.to(self.device)
            model.eval()
        except Exception as e:  # torch and coqui raise many types for a bad checkpoint
            raise EngineError(f"Cannot load XTTS-v2 from {self.model_dir}: {e}") from e
        self._model = model
        self._config = config
        self.name = f"xtts:{self.model_dir}"
        self.speaker_wav = str(speaker_wav) if speaker_wav else None
        self._latents: dict[str, tuple[Any, Any]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_spec(cls, arg: str | None) -> XttsSynthesizer:
        """``xtts:/path/to/XTTS-v2``."""
        check_model_dir(arg)  # a clear error before the heavy import
        return cls(arg)  # type: ignore[arg-type]

    def languages(self) -> set[str]:
        return set(LANGUAGES)

    def with_reference(self, reference: Audio | str | os.PathLike) -> XttsSynthesizer:
        """Speak in the voice of `reference` (a clip or its path) from now on; returns self.

        An `Audio` is written to a temporary 16-bit WAV that XTTS reads.
        """
        if isinstance(reference, Audio):
            fd, tmp = tempfile.mkstemp(prefix="voxlate-xtts-ref-", suffix=".wav")
            os.close(fd)
            save_audio(tmp, reference)
            self.speaker_wav = tmp
        else:
            self.speaker_wav = str(reference)
        return self

    def _conditioning(self) -> tuple[Any, Any]:
        key = self.speaker_wav or ""
        if key not in self._latents:
            if self.speaker_wav:
                self._latents[key] = self._model.get_conditioning_latents(
                    audio_path=[self.speaker_wav]
                )
            else:
                speakers = getattr(getattr(self._model, "speaker_manager", None), "speakers", None)
                if not speakers:
                    raise EngineError(
                        "XTTS-v2 needs a reference voice: use --voice REF.wav or "
                        "put speakers_xtts.pth in the model directory."
                    )
                s = speakers[next(iter(speakers))]
                self._latents[key] = (s["gpt_cond_latent"], s["speaker_embedding"])
        return self._latents[key]

    def synthesize(self, text: str, language: str) -> Iterator[Audio]:
        """Speak `text` in `language`, one chunk per sentence (24 kHz)."""
        if language not in LANGUAGES:
            raise UnsupportedLanguageError(f"XTTS-v2 does not speak '{language}'.")
        lang = "zh-cn" if language == "zh" else language
        for sentence in (t for t in _SENTENCE.split(text.strip()) if t.strip()):
            with self._lock:
                gpt_latent, spk_emb = self._conditioning()
                out = self._model.inference(sentence, lang, gpt_latent, spk_emb, temperature=0.7)
            wav = np.asarray(out["wav"], dtype=np.float32).reshape(-1)
            yield Audio(wav, SAMPLE_RATE)
