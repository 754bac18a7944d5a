"""ASR-BLEU of the live output against the file output: `voxlate bench live --asr-bleu N`.

Issue 26's target is the live output's ASR-BLEU within 3 points of the file output's on the
same clips. Both sides translate the same Fish Fillets reference lines (`voxlate.eval.asr_bleu`:
the synthesized English input, the Whisper base judge, BLEU/chrF on normalised text) with the
same loaded engines (live specs), so what differs is how the pipelines use them:

- live: each line streamed in real time through a fresh `StreamTranslator` (live endpointing,
  speculation, the first clause synthesized on its own, the stock voice until the speaker's
  is fitted); every `AudioOut` chunk joined in order is what the judge hears, the
  `Translation` events joined are the text;
- file: the same line through `FileTranslator` (whole sentences synthesized, voice fitted
  first); its output track is judged, its segments' translations are the text.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterable, Callable, Sequence
from dataclasses import dataclass

from voxlate.audio import Audio, concatenate
from voxlate.bench.report import load_line, voice_counts
from voxlate.engines.asr.base import Recognizer
from voxlate.errors import NoSpeechError
from voxlate.eval.asr_bleu import AsrBleuScore, RefLine, judge_speech, score
from voxlate.pipeline.engines import Engines
from voxlate.pipeline.file import FileTranslator
from voxlate.pipeline.stream import StreamConfig, StreamTranslator
from voxlate.pipeline.stream_events import AudioOut, ErrorEvent, Event, Latency, Translation
from voxlate.pipeline.stream_io import file_frames
from voxlate.tables import markdown_table

HEADER = ["output", "lines", "text BLEU", "ASR-BLEU", "ASR-chrF"]
EXAMPLES = 3


@dataclass(frozen=True)
class Output:
    """One line's translation by one pipeline: its text and its speech (None: silent)."""

    text: str
    speech: Audio | None
    errors: int = 0  # live: error events of the stream
    voices: tuple[str, ...] = ()  # live: the voice that spoke each utterance (`Latency.voice`)


def join_chunks(chunks: Sequence[Audio]) -> Audio | None:
    """Audio chunks end to end at the highest of their rates (a fallback voice may speak at
    another rate than the first); None for no samples at all."""
    if not any(len(c.samples) for c in chunks):
        return None
    return concatenate(list(chunks), max(c.sample_rate for c in chunks))


async def collect(events: AsyncIterable[Event]) -> Output:
    """A live stream's output: every `AudioOut` chunk joined in order, the `Translation`
    texts joined by spaces, the count of error events and the voice of each utterance."""
    chunks: list[Audio] = []
    texts: list[str] = []
    voices: list[str] = []
    errors = 0
    async for ev in events:
        if isinstance(ev, AudioOut):
            chunks.append(ev.audio)
        elif isinstance(ev, Translation) and ev.text.strip():
            texts.append(ev.text.strip())
        elif isinstance(ev, ErrorEvent):
            errors += 1
        elif isinstance(ev, Latency) and ev.first_audio_s is not None:
            voices.append(ev.voice or "tts")
    return Output(" ".join(texts), join_chunks(chunks), errors, tuple(voices))


def live_output(engines: Engines, audio: Audio, config: StreamConfig) -> Output:
    """`audio` streamed in real time through a fresh `StreamTranslator`; its output."""
    stream = StreamTranslator(engines, config)
    return asyncio.run(collect(stream.run(file_frames(audio, realtime=True))))


def file_output(translator: FileTranslator, audio: Audio, name: str) -> Output:
    """`audio` through the file pipeline; its output track and translations (none heard:
    an empty output, as a live stream that heard nothing gives)."""
    try:
        r = translator.translate(audio, name=name)
    except NoSpeechError:
        return Output("", None)
    return Output(" ".join(s.translation for s in r.segments if s.translation), r.audio)


@dataclass(frozen=True)
class Comparison:
    """Both pipelines' scores on the same lines, and what the judge heard in each."""

    lines: tuple[RefLine, ...]
    live: AsrBleuScore
    file: AsrBleuScore
    live_errors: int = 0
    live_voices: tuple[str, ...] = ()  # the voice of each utterance spoken live


def compare(
    lines: Sequence[RefLine],
    live: Sequence[Output],
    file: Sequence[Output],
    judge: Recognizer,
    target: str,
) -> Comparison:
    """Judge both outputs of every line and score them against the references."""
    refs = [x.reference for x in lines]

    def scored(outs: Sequence[Output]) -> AsrBleuScore:
        heard = [judge_speech(judge, o.speech, target) for o in outs]
        return score(refs, [o.text for o in outs], heard)

    return Comparison(
        tuple(lines),
        scored(live),
        scored(file),
        sum(o.errors for o in live),
        tuple(v for o in live for v in o.voices),
    )


def comparison_table(c: Comparison) -> str:
    """Rows live, file and live - file: lines, text BLEU, ASR-BLEU, ASR-chrF."""
    rows: list[list[object]] = [
        [name, s.n, s.text_bleu, s.asr_bleu, s.asr_chrf]
        for name, s in (("live", c.live), ("file", c.file))
    ]
    rows.append(
        [
            "live - file",
            c.live.n,
            c.live.text_bleu - c.file.text_bleu,
            c.live.asr_bleu - c.file.asr_bleu,
            c.live.asr_chrf - c.file.asr_chrf,
        ]
    )
    return markdown_table(HEADER, rows)


def examples(c: Comparison, k: int = EXAMPLES) -> list[str]:
    """`k` lines as 'reference | *live heard* | *file heard*': first those where the judge
    heard the two outputs differently, then the first lines."""
    from voxlate.text.normalize import normalize_text

    rows = list(zip(c.lines, c.live.hyps, c.file.hyps))
    differ = [r for r in rows if normalize_text(r[1]) != normalize_text(r[2])]
    picked = (differ + [r for r in rows if r not in differ])[:k]
    return [f"- {x.reference} | *{live}* | *{file}*" for x, live, file in picked]


def run_live_quality(
    engines: Engines,
    lines: Sequence[RefLine],
    inputs: Sequence[Audio],
    config: StreamConfig,
    judge: Recognizer,
    progress: Callable[[], None] | None = None,
) -> tuple[Comparison, float, float]:
    """Each line live, then through the file pipeline, with the same `engines`; both judged.
    Returns the comparison and the wall seconds of the live and the file side."""
    translator = FileTranslator(engines, progress=False, enhance_mode=config.enhance)
    live: list[Output] = []
    file: list[Output] = []
    live_s = file_s = 0.0
    for x, audio in zip(lines, inputs):
        t0 = time.perf_counter()
        live.append(live_output(engines, audio, config))
        t1 = time.perf_counter()
        file.append(file_output(translator, audio, x.id))
        live_s += t1 - t0
        file_s += time.perf_counter() - t1
        if progress is not None:
            progress()
    return compare(lines, live, file, judge, engines.target), live_s, file_s


def live_quality_part(
    engines: Engines,
    source: str,
    target: str,
    n: int,
    split: str,
    config: StreamConfig,
    describe: str,
) -> str:
    """The benchmark's ASR-BLEU section on `n` lines of `split`: its markdown.
    `describe` says how the engines were set up (voice, enhance, ...)."""
    from tqdm import tqdm

    from voxlate.eval.asr_bleu import INPUT_VOICES, JUDGE, input_speech, load_judge

    load0 = load_line()
    lines = reference_lines_for(source, target, n, split)
    inputs = input_speech(lines, source)
    judge = load_judge()
    bar = tqdm(total=len(lines), desc=f"live vs file {source}->{target}", leave=False)
    try:
        c, live_s, file_s = run_live_quality(engines, lines, inputs, config, judge, bar.update)
    finally:
        bar.close()
    audio_s = sum(a.duration for a in inputs)
    return (
        f"ASR-BLEU of the live output against the file output: {len(lines)} Fish Fillets lines "
        f"({split} split), input speech by `{INPUT_VOICES[source]}` ({audio_s:.1f} s), each "
        f"streamed in real time through a fresh live stream and translated by the file pipeline "
        f"with the same engines; judge `{JUDGE}` in '{target}'; BLEU/chrF on normalised text. "
        f"{describe}; engines: "
        + ", ".join(f"{k}=`{v}`" for k, v in engines.names.items())
        + f"\n\nwall: live {live_s:.1f} s, file {file_s:.1f} s · live error events "
        f"{c.live_errors} · live utterances by voice (first chunk): "
        f"{voice_counts(c.live_voices)} · load average at start {load0}, at end {load_line()}\n\n"
        f"{comparison_table(c)}\n\nExamples, lines heard differently first "
        "(reference | *live heard* | *file heard*):\n\n" + "\n".join(examples(c))
    )


def reference_lines_for(source: str, target: str, n: int, split: str) -> list[RefLine]:
    """`reference_lines`, with a pair or split it cannot give as a one-sentence error."""
    from voxlate.errors import InputError, UnsupportedLanguageError
    from voxlate.eval.asr_bleu import INPUT_VOICES, reference_lines

    if split not in ("test", "dev"):
        raise InputError(f"--split must be test or dev, not '{split}'.")
    if source not in INPUT_VOICES or "en" not in (source, target) or source == target:
        raise UnsupportedLanguageError(
            f"ASR-BLEU pairs English with a Fish Fillets language and speaks its input in "
            f"{' or '.join(sorted(INPUT_VOICES))}, so not {source}->{target}."
        )
    return reference_lines(source, target, n, split)
