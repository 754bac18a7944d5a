"""The file pipeline: a recording in, translated speech on a timeline and a report out."""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm import tqdm

from voxlate.audio import SAMPLE_RATE, Audio, concatenate, load_audio, save_audio, write_text_atomic
from voxlate.dsp import noise_floor_db, rms_db
from voxlate.engines.vad import frame_probabilities
from voxlate.errors import NoSpeechError
from voxlate.pipeline.engines import Engines
from voxlate.pipeline.frames import STAGES, PlacedSegment, TranslatedUtterance, Utterance
from voxlate.pipeline.segmenter import SegmenterConfig, spans_from_probabilities
from voxlate.pipeline.timeline import TimelineConfig, place, render
from voxlate.pipeline.voicing import synthesize_in_voice  # issue #13: styled voices
from voxlate.subtitles import to_srt


@dataclass(frozen=True)
class FileResult:
    """A translated recording: the output track, its segments, and seconds per stage."""

    audio: Audio
    segments: list[PlacedSegment]
    timings: dict[str, float]  # seconds per stage, and 'total'
    duration: float  # input length (s)


@dataclass
class FileTranslator:
    """Translate whole recordings with engines loaded once.

    >>> t = FileTranslator(Engines.load(EngineSpecs(), "en", "es"))
    >>> result = t.translate(load_audio("talk.wav"))
    """

    engines: Engines
    segmenter: SegmenterConfig = field(default_factory=SegmenterConfig)
    timeline: TimelineConfig = field(default_factory=TimelineConfig)
    progress: bool = True  # show a progress bar over utterances
    enhance_mode: str = (
        "auto"  # always | never | auto: only utterances below `enhance_below_snr_db`
    )
    enhance_below_snr_db: float = 15.0  # speech-to-noise ratio (dB) under which 'auto' enhances

    def utterances(
        self, audio: Audio, timings: dict[str, float]
    ) -> tuple[list[Utterance], float | None]:
        """The utterances of `audio` and its noise floor (dB FS; None if it never pauses)."""
        t0 = time.perf_counter()
        vad = self.engines.vad
        probs = frame_probabilities(vad, audio)
        frame_s = vad.frame_size / vad.sample_rate
        spans = spans_from_probabilities(probs, frame_s, audio.duration, self.segmenter)
        noise = noise_floor_db(audio.resample(vad.sample_rate).samples, probs, vad.frame_size)
        timings["vad"] += time.perf_counter() - t0
        utts = [
            Utterance(i, s.start, s.end, audio.slice(s.start, s.end)) for i, s in enumerate(spans)
        ]
        return utts, noise

    def needs_enhancement(self, clip: Audio, noise_db: float | None) -> bool:
        """Whether to run the enhancer on `clip`, per `enhance_mode`."""
        if self.enhance_mode != "auto":
            return self.enhance_mode == "always"
        if noise_db is None:  # no pause to measure the noise in: be safe
            return True
        return rms_db(clip.samples) - noise_db < self.enhance_below_snr_db

    def translate(self, audio: Audio, name: str = "input") -> FileResult:
        """Translate `audio`; raises NoSpeechError when it holds no speech."""
        e = self.engines
        timings: dict[str, float] = defaultdict(float)
        t_start = time.perf_counter()
        audio = audio.resample(SAMPLE_RATE)
        utts, noise_db = self.utterances(audio, timings)
        if not utts:
            raise NoSpeechError(f"No speech found in {name}.")
        if e.voice is not None and hasattr(e.voice, "reset"):
            e.voice.reset()
        bar = tqdm(
            total=2 * len(utts),
            desc="translating",
            unit="step",
            disable=not self.progress,
            leave=False,
        )
        # Pass 1: enhance and recognise each utterance.
        cleaned: list[Audio] = []
        texts: list[str] = []
        for u in utts:
            clean = u.audio
            if self.needs_enhancement(u.audio, noise_db):
                t0 = time.perf_counter()
                clean = e.enhancer.enhance(u.audio)
                timings["enhance"] += time.perf_counter() - t0
            t1 = time.perf_counter()
            text = e.recognizer.transcribe(clean, e.source).text.strip()
            timings["asr"] += time.perf_counter() - t1
            cleaned.append(clean)
            texts.append(text)
            bar.update()
        if not any(texts):
            bar.close()
            raise NoSpeechError(f"No speech found in {name} (nothing was recognised).")
        # Translate all texts at once: some engines pay a start-up cost per call.
        t0 = time.perf_counter()
        batch = getattr(e.translator, "translate_batch", None)
        if batch is not None:
            translations = batch(texts, e.source, e.target)
        else:
            translations = [
                e.translator.translate(t, e.source, e.target) if t else "" for t in texts
            ]
        timings["mt"] += time.perf_counter() - t0
        # Pass 2: speak each translation in the chosen voice.
        done: list[TranslatedUtterance] = []
        for u, clean, text, tr in zip(utts, cleaned, texts, translations):
            speech = self._speak(tr, clean, timings)
            done.append(TranslatedUtterance(u, text, tr, speech))
            bar.update()
        bar.close()
        result = self._assemble(done, audio.duration, timings, t_start)
        return result

    def _speak(self, text: str, source: Audio, timings: dict[str, float]) -> Audio | None:
        if not text:
            return None
        e = self.engines
        t0 = time.perf_counter()
        chunks = list(synthesize_in_voice(e.synthesizer, e.voice, text, e.target, source))
        t1 = time.perf_counter()
        timings["tts"] += t1 - t0
        if not chunks:
            return None
        speech = concatenate(chunks, chunks[0].sample_rate)
        if e.voice is not None:
            speech = e.voice.convert(speech, source)
            timings["voice"] += time.perf_counter() - t1
        return speech

    def _assemble(
        self,
        done: list[TranslatedUtterance],
        duration: float,
        timings: dict[str, float],
        t_start: float,
    ) -> FileResult:
        rate = next((d.speech.sample_rate for d in done if d.speech is not None), 22_050)
        starts = [d.utterance.start for d in done]
        nexts: list[float | None] = [d.utterance.start for d in done[1:]] + [None]
        placed, clips = place(starts, [d.speech for d in done], nexts, rate, self.timeline)
        track = render(placed, clips, duration, rate)
        segments = [
            PlacedSegment(
                round(d.utterance.start, 3),
                round(d.utterance.end, 3),
                d.source_text,
                d.translation,
                a,
                b,
            )
            for d, (a, b) in zip(done, placed)
        ]
        out = {s: round(timings.get(s, 0.0), 4) for s in STAGES}
        out["total"] = round(time.perf_counter() - t_start, 4)
        return FileResult(track, segments, out, round(duration, 3))


def report(result: FileResult, engines: Engines, input_path: str, output_path: str) -> dict:
    """The JSON report (a contract other tools read; see docs/ARCHITECTURE.md)."""
    return {
        "source_language": engines.source,
        "target_language": engines.target,
        "input": input_path,
        "output": output_path,
        "duration_s": result.duration,
        "segments": [asdict(s) for s in result.segments],
        "timings_s": result.timings,
        "engines": engines.names,
        "warnings": engines.warnings(),  # counted losses, e.g. text with nothing speakable
    }


def translate_file(
    translator: FileTranslator,
    input_path: str | os.PathLike,
    output_path: str | os.PathLike,
    report_path: str | os.PathLike | None = None,
    srt_path: str | os.PathLike | None = None,
) -> dict:
    """Translate one file and write its outputs atomically; returns the report.

    Nothing is written unless the whole translation succeeds.
    """
    audio = load_audio(input_path)
    result = translator.translate(audio, name=str(input_path))
    rep = report(result, translator.engines, str(input_path), str(output_path))
    srt = to_srt([(s.output_start, s.output_end, s.translation) for s in result.segments])
    save_audio(output_path, result.audio)
    if report_path is not None:
        write_text_atomic(report_path, json.dumps(rep, ensure_ascii=False, indent=2) + "\n")
    if srt_path is not None:
        write_text_atomic(srt_path, srt)
    return rep


def default_output(input_path: str | os.PathLike, target: str) -> Path:
    p = Path(input_path)
    return p.with_name(f"{p.stem}.{target}.wav")
