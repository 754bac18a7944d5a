"""The file pipeline: a recording in, translated speech on a timeline and a report out."""

from __future__ import annotations

import os
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from tqdm import tqdm

from voxlate.audio import DEFAULT_OUTPUT_RATE, SAMPLE_RATE, Audio, load_audio
from voxlate.dsp import noise_floor_db
from voxlate.engines.vad import frame_probabilities
from voxlate.errors import NoSpeechError
from voxlate.outputs import check_outputs
from voxlate.pipeline.background import BACKGROUND_RATE, estimate_background
from voxlate.pipeline.dub_output import DubOptions, check_dub_output, write_result
from voxlate.pipeline.engines import Engines
from voxlate.pipeline.frames import STAGES, PlacedSegment, TranslatedUtterance, Utterance
from voxlate.pipeline.segmenter import SegmenterConfig, spans_from_probabilities
from voxlate.pipeline.stream_stages import (
    ENHANCE_BELOW_SNR_DB,
    EngineLocks,
    EnhanceMode,
    Recognized,
    check_enhance_mode,
    needs_enhancement,
    recognize,
    speak,
)
from voxlate.pipeline.timeline import TimelineConfig, place, render
from voxlate.pipeline.translate_ahead import TranslationsAhead


@dataclass(frozen=True)
class FileResult:
    """A translated recording: the output track, its segments, and seconds per stage."""

    audio: Audio
    segments: list[PlacedSegment]
    timings: dict[str, float]  # seconds per stage, and 'total'
    duration: float  # input length (s)
    background: Audio | None = None  # the source less its speech (`keep_background`), or None


@dataclass
class FileTranslator:
    """Translate whole recordings with engines loaded once.

    Each utterance goes through the same stage functions as the live pipeline
    (`pipeline/stream_stages.py`), holding the same per-engine locks, so engines
    may be shared with live sessions that share `locks`.

    >>> t = FileTranslator(Engines.load(EngineSpecs(), "en", "es"))
    >>> result = t.translate(load_audio("talk.wav"))
    """

    engines: Engines
    segmenter: SegmenterConfig = field(default_factory=SegmenterConfig)
    timeline: TimelineConfig = field(default_factory=TimelineConfig)
    progress: bool = True  # show a progress bar over utterances
    enhance_mode: EnhanceMode = "auto"  # always | never | auto: only below `enhance_below_snr_db`
    enhance_below_snr_db: float = ENHANCE_BELOW_SNR_DB  # speech-to-noise ratio (dB) for 'auto'
    locks: EngineLocks = field(default_factory=EngineLocks)  # shared with sessions sharing engines
    keep_background: bool = False  # estimate the background (music, effects) for the output

    def __post_init__(self) -> None:
        self.enhance_mode = check_enhance_mode(self.enhance_mode)

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
        """Whether to run the enhancer on `clip`, per `enhance_mode` (`needs_enhancement`)."""
        return needs_enhancement(clip, noise_db, self.enhance_mode, self.enhance_below_snr_db)

    def translate(self, audio: Audio, name: str = "input") -> FileResult:
        """Translate `audio`; raises NoSpeechError when it holds no speech."""
        e, locks = self.engines, self.locks
        timings: dict[str, float] = defaultdict(float)
        t_start = time.perf_counter()
        background = self.background(audio, timings)
        audio = audio.resample(SAMPLE_RATE)
        utts, noise_db = self.utterances(audio, timings)
        if not utts:
            raise NoSpeechError(f"No speech found in {name}.")
        if e.voice is not None:
            e.voice.reset()
        speech_s = sum(u.end - u.start for u in utts)
        bar = audio_seconds_bar("recognizing", speech_s, self.progress)
        # Pass 1: enhance and recognise each utterance.
        recognized: list[Recognized] = []
        for u in utts:
            rec = recognize(e, locks, u.audio, self.needs_enhancement(u.audio, noise_db))
            for k, v in rec.timings.items():
                timings[k] += v
            recognized.append(rec)
            bar.update(u.end - u.start)
        texts = [r.text for r in recognized]
        if not any(texts):
            bar.close()
            raise NoSpeechError(f"No speech found in {name} (nothing was recognised).")
        # Pass 2: translate the texts as one document (some engines pay a start-up cost per
        # call; an LLM is given the previous sentence) in a thread that runs ahead, and speak
        # each translation in the chosen voice as it comes (`translate_ahead`: timings['mt']
        # is the thread's wall time, which overlaps 'tts' and 'voice').
        bar.close()
        bar = audio_seconds_bar("speaking", speech_s, self.progress)
        done: list[TranslatedUtterance] = []
        with TranslationsAhead(e, locks, texts) as ahead:
            for u, rec in zip(utts, recognized):
                tr = ahead.get()
                said = list(
                    speak(e, locks, e.voice, tr.text, rec.clean, False, timings, whole=True)
                )
                done.append(
                    TranslatedUtterance(
                        u, rec.text, tr.text, said[0] if said else None, mt_engine=tr.engine
                    )
                )
                bar.update(u.end - u.start)
            ahead.finish()
        timings["mt"] += ahead.seconds
        bar.close()
        result = self._assemble(done, audio.duration, timings, t_start)
        return with_background(result, background, timings)

    def background(self, audio: Audio, timings: dict[str, float]) -> Audio | None:
        """The background of the whole of `audio` at its rate (`estimate_background`: the
        source less the enhancer's speech), or None unless `keep_background`; its seconds
        go to timings['background']."""
        if not self.keep_background:
            return None
        t0 = time.perf_counter()
        with self.locks.enhance:
            bg = estimate_background(audio, self.engines.enhancer)
        timings["background"] += time.perf_counter() - t0
        return bg

    def _assemble(
        self,
        done: list[TranslatedUtterance],
        duration: float,
        timings: dict[str, float],
        t_start: float,
    ) -> FileResult:
        rate = next(
            (d.speech.sample_rate for d in done if d.speech is not None), DEFAULT_OUTPUT_RATE
        )
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
                d.mt_engine,
            )
            for d, (a, b) in zip(done, placed)
        ]
        out = {s: round(timings.get(s, 0.0), 4) for s in STAGES}
        out["total"] = round(time.perf_counter() - t_start, 4)
        return FileResult(track, segments, out, round(duration, 3))


def with_background(
    result: FileResult, background: Audio | None, timings: dict[str, float]
) -> FileResult:
    """`result` holding `background`, its timings with 'background' when it was estimated."""
    if background is None:
        return result
    seconds = round(timings.get("background", 0.0), 4)
    return replace(result, background=background, timings={**result.timings, "background": seconds})


def audio_seconds_bar(desc: str, total_s: float, enabled: bool) -> tqdm:
    """A progress bar over utterances that counts seconds of input speech."""
    return tqdm(
        total=total_s,
        desc=desc,
        unit="s",
        disable=not enabled,
        leave=False,
        bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} s of speech "
        "[{elapsed}<{remaining}]",
    )


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
    input_name: str | None = None,
    max_seconds: float | None = None,
    *,
    subtitles_path: str | os.PathLike | None = None,
    options: DubOptions | None = None,
) -> dict:
    """Translate one file and write its outputs as one transaction; returns the report.

    `input_name` is what the report and messages call the input [default: its path];
    `max_seconds` refuses a longer input while decoding it (None: no limit);
    `options` say how the dub is written (`dub_output.DubOptions`: background, video
    tracks, subtitles); the output's extension picks audio or video (`write_result`).

    The outputs are checked before the work (not an input, not each other, writable;
    a video output's input has a picture and audio) and nothing is written unless the
    whole translation succeeds; then all of them appear together (temp files, then
    renames). An output `-` is standard output.
    """
    opts = options or DubOptions()
    outs = [output_path, report_path, srt_path, subtitles_path]
    check_outputs(outs, [input_path])
    name = input_name or str(input_path)
    media = check_dub_output(input_path, output_path, opts, name, subtitles_path)
    rate = BACKGROUND_RATE if getattr(translator, "keep_background", False) else None
    audio = load_audio(input_path, sample_rate=rate, max_seconds=max_seconds)
    result = translator.translate(audio, name=name)
    rep = report(result, translator.engines, name, str(output_path))
    return write_result(
        result,
        rep,
        input_path,
        output_path,
        report_path,
        srt_path,
        subtitles_path,
        options=opts,
        media=media,
    )


def default_output(input_path: str | os.PathLike, target: str) -> Path:
    p = Path(input_path)
    return p.with_name(f"{p.stem}.{target}.wav")
