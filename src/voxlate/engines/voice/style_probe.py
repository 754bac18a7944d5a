"""Probe sentences spoken with a candidate Kokoro style, and how they are scored.

Fitting a style to a speaker (`style_fit.py`) and training the tuner (`style_tuner.py`)
both judge a style by what it sounds like: Kokoro speaks short English probe sentences
with it, Resemblyzer embeds the result, and (when a recognizer is given) Whisper checks
the words survived.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from voxlate.audio import Audio, concatenate
from voxlate.engines.voice.base import SpeakerEncoder

# Short, phonetically varied English sentences (about 2 s each with Kokoro).
PROBES = (
    "The weather is nice today, so we walk to the river.",
    "Please bring me the red box from the kitchen.",
    "I have never seen a fish like that before.",
    "Where did you put the old map of the city?",
)
LANGUAGE = "en"  # the probes' language


@dataclass(frozen=True)
class ProbeResult:
    """One style, heard: the probe audio, its embedding and (optionally) its WER."""

    audio: Audio
    embedding: np.ndarray  # (dim,) unit vector
    wer: float | None  # word error rate of the probe through the recognizer (fraction)


class ProbeSpeaker:
    """Speaks probe sentences with a given style pack.

    synthesizer: a `KokoroSynthesizer` (the style is passed per call, so the pipeline's
        own instance can be shared; its ONNX runs are serialised by Kokoro's lock).
    encoder: the speaker encoder to embed the probes with.
    transcribe: audio -> English text, for the intelligibility penalty (None: no WER).
    """

    def __init__(
        self,
        synthesizer,  # type: ignore[no-untyped-def]
        encoder: SpeakerEncoder,
        transcribe: Callable[[Audio], str] | None = None,
    ) -> None:
        self.synthesizer = synthesizer
        self.encoder = encoder
        self.transcribe = transcribe
        self._pieces: dict[str, list] = {}

    def speak(self, pack: np.ndarray, texts: Sequence[str]) -> Audio:
        """`texts` spoken with `pack` (510, 256), joined into one clip at 24 kHz."""
        chunks = []
        for t in texts:
            if t not in self._pieces:  # phonemize each probe once
                self._pieces[t] = list(self.synthesizer.phonemizer.pieces(t, LANGUAGE))
            chunks += [self.synthesizer.speak(p, pack) for p in self._pieces[t]]
        return concatenate(chunks, chunks[0].sample_rate)

    def hear(self, pack: np.ndarray, texts: Sequence[str], wer: bool = False) -> ProbeResult:
        """Speak `texts` with `pack`, embed them and (with `wer` and a recognizer) score words."""
        audio = self.speak(pack, texts)
        emb = self.encoder.embed(audio)
        w = None
        if wer and self.transcribe is not None:
            from voxlate.metrics import wer as word_error_rate
            from voxlate.text.normalize import normalize_text

            ref, hyp = normalize_text(" ".join(texts)), normalize_text(self.transcribe(audio))
            w = word_error_rate([ref], [hyp])
        return ProbeResult(audio, emb, w)
