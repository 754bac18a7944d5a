"""The file pipeline: a recording in, translated speech on a timeline and a report out."""

from __future__ import annotations

import math
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from tqdm import tqdm

from voxlate.audio import DEFAULT_OUTPUT_RATE, SAMPLE_RATE, Audio, load_audio
from voxlate.dsp import noise_floor_db
from voxlate.engines.mt.base import ShorteningTranslator
from voxlate.engines.threads import lower_this_thread
from voxlate.engines.vad import frame_probabilities
from voxlate.errors import NoSpeechError, VoxlateError
from voxlate.outputs import check_outputs
from voxlate.pipeline.background import BACKGROUND_RATE, estimate_background
from voxlate.pipeline.clip_cache import ClipCache, audio_digest, clip_key
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
from voxlate.pipeline.translate_ahead import TextFeed, TranslationsAhead
from voxlate.pipeline.voice.stages import PreparingVoice, SpeakerVoice
from voxlate.text.syllables import count_syllables

REPORT_VERSION = 2  # 2: speakers, per-segment timing, what `voxlate render` needs
SHORTEN_ABOVE = 1.15  # a line needing more speed-up than this asks for a shorter translation
# A recording whose pauses are quieter than this (dB FS, the VAD's noise floor) has no
# background worth keeping: the estimate would be the enhancer's residue and hiss (a clean
# LibriVox clip: -43 to -51), so it is not made (saves the enhancer's pass over the file).
QUIET_BACKGROUND_DB = -45.0


@dataclass(frozen=True)
class FileResult:
    """A translated recording: the output track, its segments, and seconds per stage."""

    audio: Audio
    segments: list[PlacedSegment]
    timings: dict[str, float]  # seconds per stage, and 'total'
    duration: float  # input length (s)
    speakers: list[dict] = field(default_factory=list)  # the report's speaker table
    synthesized: int = 0  # segments synthesised in this run (the others came from the cache)
    # per segment, the speed-up its first translation needed to fit its slot (before any
    # shortening; `timing_stats` of the segments gives the speed-ups after)
    needs: list[float] = field(default_factory=list)
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
    speakers: int | None = None  # how many speakers there are (`--speakers`; None: found)
    # diarize before synthesis: None when the voice stage takes the speakers up front
    # (`SpeakerVoice`: preserve, anonymize) or `speakers` is given; True / False: always / never
    diarize: bool | None = None
    shorten_above: float = SHORTEN_ABOVE  # speed-up (x) above which a shorter line is asked for
    cache: ClipCache | None = None  # where each segment's voiced clip is kept (None: nowhere)

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
        original = audio
        audio = audio.resample(SAMPLE_RATE)
        utts, noise_db = self.utterances(audio, timings)
        if not utts:
            raise NoSpeechError(f"No speech found in {name}.")
        if e.voice is not None:
            e.voice.reset()
        speech_s = sum(u.end - u.start for u in utts)
        bar = audio_seconds_bar("recognizing", speech_s, self.progress)
        # The texts are translated as one document (some engines pay a start-up cost per
        # call; an LLM is given the previous sentence) by a thread that runs ahead
        # (`translate_ahead`): fed each sentence as it is recognised, it translates sentence
        # k while the recognizer works on k+1 (a batch engine waits for all of them).
        # timings['mt'] is its busy time, which overlaps 'asr', 'tts' and 'voice'.
        feed = TextFeed()
        with TranslationsAhead(e, locks, feed) as ahead:
            # Pass 1: enhance and recognise each utterance.
            recognized: list[Recognized] = []
            try:
                for u in utts:
                    rec = recognize(e, locks, u.audio, self.needs_enhancement(u.audio, noise_db))
                    for k, v in rec.timings.items():
                        timings[k] += v
                    recognized.append(rec)
                    feed.put(rec.text)
                    bar.update(u.end - u.start)
            finally:
                feed.close()
            if not any(r.text for r in recognized):
                bar.close()
                raise NoSpeechError(f"No speech found in {name} (nothing was recognised).")
            # Who speaks when: each speaker's voice is fitted once on all of their speech (as
            # recognised: enhanced where it was noisy). The cache keys name the speaker by
            # the source samples, which `voxlate render` cuts again from the input.
            clips = [source_clip(audio, u.start, u.end) for u in utts]
            labels = self.diarize_utterances([r.clean for r in recognized], timings)
            # While the sentences are translated (the LLM's worker process), two threads use
            # the rest of the machine: one fits each speaker's voice (`PreparingVoice`: the
            # style and the converter's adaptation), one estimates the background over the
            # whole input (the enhancer is free now).
            prepared = prepare_voices(e.voice, labels, timings)
            background = in_background(
                self.background, original, timings, noise_db, name="background"
            )
            # Pass 2: speak each translation in the chosen voice as it comes.
            bar.close()
            bar = audio_seconds_bar("speaking", speech_s, self.progress)
            done: list[TranslatedUtterance] = []
            for u, rec, who in zip(utts, recognized, labels):
                tr = ahead.get()
                said = self._say(tr.text, rec.clean, who, timings)
                done.append(TranslatedUtterance(u, rec.text, tr.text, said, mt_engine=tr.engine))
                bar.update(u.end - u.start)
            ahead.finish()
        timings["mt"] += ahead.seconds
        if prepared is not None:
            prepared.result()
        bar.close()
        shortened, needs = self._shorten(done, recognized, labels, timings)
        keys = self.clip_keys([d.translation for d in done], labels, clips)
        if self.cache is not None:
            for key, d in zip(keys, done):
                if key is not None and d.speech is not None:
                    self.cache.put(key, d.speech)
        speakers = speaker_table(utts, labels, e.voice)
        spoken = sum(1 for d in done if d.speech is not None)
        result = self._assemble(done, audio.duration, timings, t_start)
        segments = [
            replace(s, speaker=who, shortened=short)
            for s, who, short in zip(result.segments, labels, shortened)
        ]
        result = FileResult(
            result.audio, segments, result.timings, result.duration, speakers, spoken, needs
        )
        return with_background(result, background.result(), timings)

    def background(
        self, audio: Audio, timings: dict[str, float], noise_db: float | None = None
    ) -> Audio | None:
        """The background of the whole of `audio` at its rate (`estimate_background`: the
        source less the enhancer's speech), or None unless `keep_background`, or when its
        pauses' noise floor `noise_db` is under `QUIET_BACKGROUND_DB` (nothing to keep);
        its seconds go to timings['background']."""
        if not self.keep_background:
            return None
        if noise_db is not None and noise_db < QUIET_BACKGROUND_DB:
            return None
        t0 = time.perf_counter()
        with self.locks.enhance:
            bg = estimate_background(audio, self.engines.enhancer)
        timings["background"] += time.perf_counter() - t0
        return bg

    # -- speakers --------------------------------------------------------------------
    def should_diarize(self) -> bool:
        """Whether `translate` diarizes (see `diarize`)."""
        if self.diarize is not None:
            return self.diarize
        return self.speakers is not None or isinstance(self.engines.voice, SpeakerVoice)

    def diarize_utterances(self, clips: list[Audio], timings: dict[str, float]) -> list[str]:
        """Each utterance's speaker label ('' for all when not diarizing); a voice stage
        that takes speakers up front (`SpeakerVoice`) is told them."""
        if not self.should_diarize():
            return [""] * len(clips)
        from voxlate.pipeline.diarize import Diarizer

        voice = self.engines.voice
        encoder = speaker_encoder(voice)
        t0 = time.perf_counter()
        d = Diarizer(encoder, n_speakers=self.speakers)(clips)
        if isinstance(voice, SpeakerVoice):
            with self.locks.voice:
                voice.assign(d.labels, clips, d.embeddings)
        timings["diarize"] += time.perf_counter() - t0
        return d.labels

    def _say(self, text: str, clean: Audio, who: str, timings: dict[str, float]) -> Audio | None:
        """`text` synthesized and voiced as one clip (None: nothing to say)."""
        e = self.engines
        said = speak(
            e, self.locks, e.voice, text, clean, False, timings, whole=True, speaker=who or None
        )
        return next(iter(said), None)

    # -- timing ------------------------------------------------------------------------
    def _shorten(
        self,
        done: list[TranslatedUtterance],
        recognized: list[Recognized],
        labels: list[str],
        timings: dict[str, float],
    ) -> tuple[list[bool], list[float]]:
        """Walk the lines in order as the timeline will place them (`timeline.place`: at
        their source start or after the previous line, sped up to `max_speedup`): a line
        that needs more than `shorten_above` speed-up to fit before the next line's source
        start (less the gap) is given a shorter translation by the translator when it can
        (`ShorteningTranslator`) and spoken again; kept when its speech is shorter.

        Returns per line whether it was shortened, and the speed-up it needed before."""
        e = self.engines
        can = isinstance(e.translator, ShorteningTranslator)
        cfg = self.timeline
        starts = [d.utterance.start for d in done]
        nexts: list[float | None] = [*starts[1:], None]
        out = [False] * len(done)
        needs: list[float] = []
        cursor = 0.0
        for i, d in enumerate(done):
            t0 = max(starts[i], cursor)
            nxt = nexts[i]
            room = None if nxt is None else nxt - cfg.gap_s - t0
            need = needed_speed(d.speech, room)
            needs.append(round(min(need, 99.0), 3))
            if can and d.speech is not None and need > self.shorten_above:
                self._shorter(done, i, min(need, 2.0), recognized[i].clean, labels[i], timings)
                out[i] = done[i] is not d
            clip = done[i].speech
            if clip is None:
                continue
            dur = clip.duration
            if room is not None and room > 0 and dur > room:
                dur /= min(cfg.max_speedup, dur / room)
            cursor = t0 + dur + cfg.gap_s
        return out, needs

    def _shorter(
        self,
        done: list[TranslatedUtterance],
        i: int,
        need: float,
        clean: Audio,
        who: str,
        timings: dict[str, float],
    ) -> None:
        """Replace line `i` by the translator's shorter one when its speech is shorter."""
        e = self.engines
        d = done[i]
        assert isinstance(e.translator, ShorteningTranslator) and d.speech is not None
        budget = math.floor(count_syllables(d.translation, e.target) * self.shorten_above / need)
        t0 = time.perf_counter()
        with self.locks.mt:
            text = e.translator.shorten(
                d.source_text, d.translation, e.source, e.target, max(1, budget)
            ).strip()
        timings["mt"] += time.perf_counter() - t0
        if not text or text == d.translation:
            return
        speech = self._say(text, clean, who, timings)
        if speech is not None and speech.duration < d.speech.duration:
            done[i] = TranslatedUtterance(
                d.utterance, d.source_text, text, speech, mt_engine=d.mt_engine
            )

    # -- the clip cache ----------------------------------------------------------------
    def clip_keys(
        self, texts: Sequence[str], labels: Sequence[str], clips: Sequence[Audio]
    ) -> list[str | None]:
        """The cache key of each segment's clip (`clip_cache.clip_key`); None where the
        voice cannot be named (speakers tracked online, not diarized)."""
        e = self.engines
        tts = e.specs.get("tts", e.names["tts"])
        mode = e.specs.get("voice", e.names["voice"])
        voice = voice_identity(mode)
        per_speaker = per_speaker_voice(mode) and isinstance(e.voice, SpeakerVoice)
        digests = {
            who: audio_digest([c for c, w in zip(clips, labels) if w == who])
            for who in dict.fromkeys(labels)
        }
        keys: list[str | None] = []
        for text, who in zip(texts, labels):
            if per_speaker and not who:
                keys.append(None)
                continue
            keys.append(clip_key(text, e.target, tts, voice, digests[who] if per_speaker else ""))
        return keys

    def _assemble(
        self,
        done: list[TranslatedUtterance],
        duration: float,
        timings: dict[str, float],
        t_start: float,
    ) -> FileResult:
        track, segments = assemble(
            [d.utterance.start for d in done],
            [d.utterance.end for d in done],
            [d.speech for d in done],
            duration,
            self.timeline,
        )
        segments = [
            replace(s, source_text=d.source_text, translation=d.translation, mt_engine=d.mt_engine)
            for s, d in zip(segments, done)
        ]
        out = {s: round(timings.get(s, 0.0), 4) for s in STAGES}
        out["diarize"] = round(timings.get("diarize", 0.0), 4)
        if "voice_fit" in timings:  # fitted ahead, overlapping 'mt' (`prepare_voices`)
            out["voice_fit"] = round(timings["voice_fit"], 4)
        out["total"] = round(time.perf_counter() - t_start, 4)
        return FileResult(track, segments, out, round(duration, 3))


def in_background(fn: Callable[..., Any], *args: Any, name: str) -> Future:
    """`fn(*args)` on a daemon thread of its own, at a lower CPU priority with one PyTorch
    thread (`lower_this_thread`: it must not slow the translation and the synthesis, which
    the file waits for); its result (or exception) in the future."""
    done: Future = Future()

    def run() -> None:
        lower_this_thread()
        try:
            done.set_result(fn(*args))
        except BaseException as e:  # handed to whoever waits for the result
            done.set_exception(e)

    threading.Thread(target=run, name=name, daemon=True).start()
    return done


def prepare_voices(voice: Any, labels: Sequence[str], timings: dict[str, float]) -> Future | None:
    """Each labelled speaker's voice fitted on a thread of its own (`PreparingVoice.prepare`),
    None when the voice stage cannot. A fit that fails here is left to the first `convert`,
    which fits again and says why."""
    speakers = [s for s in dict.fromkeys(labels) if s]
    if not isinstance(voice, PreparingVoice) or not speakers:
        return None

    def run() -> None:
        t0 = time.perf_counter()
        for who in speakers:
            try:
                voice.prepare(who)
            except Exception:  # noqa: BLE001 - the first convert repeats the fit and reports it
                break
        timings["voice_fit"] = time.perf_counter() - t0

    return in_background(run, name="voice-prepare")


def with_background(
    result: FileResult, background: Audio | None, timings: dict[str, float]
) -> FileResult:
    """`result` holding `background`, its timings with 'background' when it was estimated."""
    if background is None:
        return result
    seconds = round(timings.get("background", 0.0), 4)
    return replace(result, background=background, timings={**result.timings, "background": seconds})


def assemble(
    starts: Sequence[float],
    ends: Sequence[float],
    clips: Sequence[Audio | None],
    duration: float,
    timeline: TimelineConfig,
) -> tuple[Audio, list[PlacedSegment]]:
    """The output track of `clips` placed at their source `starts` (`timeline.place`: sped
    up to `timeline.max_speedup`, then shifted), and a segment per clip with its timing
    (speed, shift); texts are left empty for the caller."""
    rate = next((c.sample_rate for c in clips if c is not None), DEFAULT_OUTPUT_RATE)
    nexts: list[float | None] = [*starts[1:], None]
    placed, out = place(starts, clips, nexts, rate, timeline)
    track = render(placed, out, duration, rate)
    segments = []
    for a, b, clip, put, (o0, o1) in zip(starts, ends, clips, out, placed):
        speed = clip.duration / put.duration if clip is not None and put is not None else 1.0
        segments.append(
            PlacedSegment(
                round(a, 3),
                round(b, 3),
                "",
                "",
                o0,
                o1,
                speed=round(speed, 3),
                shift_s=round(o0 - a, 3),
            )
        )
    return track, segments


def source_clip(audio: Audio, start: float, end: float) -> Audio:
    """The source speech of a segment as the report gives it (times rounded to the ms), so
    that `voxlate render` cuts the same samples from the same input."""
    return audio.slice(round(start, 3), round(end, 3))


def needed_speed(clip: Audio | None, slot: float | None) -> float:
    """How much `clip` must be sped up to fit `slot` seconds (1.0 when it fits or has no
    limit; inf for no room at all)."""
    if clip is None or slot is None:
        return 1.0
    if slot <= 0:
        return math.inf
    return max(1.0, clip.duration / slot)


def speaker_table(utts: Sequence[Utterance], labels: Sequence[str], voice: Any) -> list[dict]:
    """The report's speakers: label, seconds of speech, segments, the voice they were given
    and the segments (indices) their voice was fitted on."""
    out = []
    for who in dict.fromkeys(w for w in labels if w):
        rows = [i for i, w in enumerate(labels) if w == who]
        used = voice.voice_of(who) if isinstance(voice, SpeakerVoice) else "the synthesizer's own"
        out.append(
            {
                "label": who,
                "speech_s": round(sum(utts[i].end - utts[i].start for i in rows), 2),
                "segments": len(rows),
                "voice": used,
                "utterances": rows,
            }
        )
    return out


def speaker_encoder(voice: Any) -> Any:
    """The speaker encoder of a voice stage (its own, or its tracker's), else Resemblyzer."""
    encoder = getattr(voice, "encoder", None) or getattr(
        getattr(voice, "tracker", None), "encoder", None
    )
    if encoder is None:
        from voxlate.engines.voice import ENCODERS

        encoder = ENCODERS.create("resemblyzer")
    return encoder


def per_speaker_voice(voice: str) -> bool:
    """Whether the voice mode `voice` speaks each source speaker in a voice of their own
    (preserve, anonymize), so that a clip's cache key names the speaker."""
    from voxlate.pipeline.voice.mode import parse_voice

    try:
        return parse_voice(voice).kind in ("preserve", "anonymize")
    except VoxlateError:
        return False


def voice_identity(voice: str) -> str:
    """What names a voice mode in a clip's cache key: the mode, and for a reference clip
    the SHA-256 of the clip's bytes (another file at the same path is another voice)."""
    from voxlate.parts import file_sha256
    from voxlate.pipeline.voice.mode import parse_voice

    m = parse_voice(voice)
    if m.kind == "reference" and m.reference is not None and os.path.isfile(m.reference):
        try:
            return f"{voice}#{file_sha256(m.reference)}"
        except OSError:
            return voice
    return voice


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
    """The JSON report (a contract other tools read; see docs/ARCHITECTURE.md).

    Version 2 adds what `voxlate render` re-creates the output from: the specs of the
    synthesizer and voice (`specs`), the timeline's settings, the speakers table, and per
    segment its speaker, speed, shift and whether it was shortened."""
    return {
        "report_version": REPORT_VERSION,
        "source_language": engines.source,
        "target_language": engines.target,
        "input": input_path,
        "output": output_path,
        "duration_s": result.duration,
        "segments": [asdict(s) for s in result.segments],
        "speakers": result.speakers,
        "timings_s": result.timings,
        "engines": engines.names,
        "specs": {
            "tts": engines.specs.get("tts", engines.names["tts"]),
            "voice": engines.specs.get("voice", engines.names["voice"]),
        },
        "synthesized": result.synthesized,
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
