"""Long recordings split at pauses into parts for several workers, then joined in order.

A recording longer than `BatchOptions.split_over_s` is translated as n = ceil(D / split_over_s)
parts. Each part job finds its own cut points: the pause nearest each nominal boundary
k*D/n, found by the VAD in a window of +-SEARCH_S around it. The neighbouring part computes
the same cut from the same samples (the VAD is reset before each window), so the parts tile
the recording with no planning pass over the audio. A finished part is saved atomically to
``OUT_DIR/.parts/<output name>/<k>.npz`` with the input checksum and options; when the last
part is in, the driver joins them into the usual wav, srt and report (report last) and
deletes the parts. A killed run keeps its finished parts: the next one translates only the
missing ones.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from voxlate.audio import Audio, atomic_path, save_audio, write_text_atomic
from voxlate.batch.discover import BatchItem
from voxlate.batch.plan import batch_record
from voxlate.errors import NoSpeechError
from voxlate.pipeline.frames import PlacedSegment
from voxlate.pipeline.segmenter import SegmenterConfig, segment_audio
from voxlate.subtitles import to_srt

SEARCH_S = 8.0  # a cut is searched this far (s) either side of its nominal place
MIN_PAUSE_S = 0.1  # shortest silence (s) a cut may be placed in


@dataclass(frozen=True)
class Part:
    """Part `index` of `count` of one recording."""

    index: int  # 0-based
    count: int  # parts in all


def part_count(duration: float, split_over_s: float) -> int:
    """How many parts a `duration`-second recording is translated in (1: not split)."""
    if split_over_s <= 0 or duration <= split_over_s:
        return 1
    return math.ceil(duration / split_over_s)


def cut_near(audio: Audio, t: float, vad: Any, config: SegmenterConfig) -> float:
    """The middle of the pause nearest `t` (s) within +-SEARCH_S; `t` when there is none."""
    lo = max(0.0, t - SEARCH_S)
    window = audio.slice(lo, min(audio.duration, t + SEARCH_S))
    spans = segment_audio(window, vad, config)
    edges = [0.0] + [x for s in spans for x in (s.start, s.end)] + [window.duration]
    pauses = [lo + (a + b) / 2 for a, b in zip(edges[::2], edges[1::2]) if b - a >= MIN_PAUSE_S]
    best = min(pauses, key=lambda p: abs(p - t)) if pauses else t
    return round(float(best), 3)


def part_bounds(audio: Audio, part: Part, vad: Any, config: SegmenterConfig) -> tuple[float, float]:
    """(start, end) seconds of `part` of `audio`, cut at pauses."""
    d = audio.duration
    start = 0.0 if part.index == 0 else cut_near(audio, d * part.index / part.count, vad, config)
    last = part.index == part.count - 1
    end = d if last else cut_near(audio, d * (part.index + 1) / part.count, vad, config)
    return start, max(start, end)


def duration_s(path: Path) -> float:
    """Length of a recording (s) from its header; 0 when the header cannot be read."""
    import soundfile as sf

    try:
        return float(sf.info(str(path)).duration)
    except (RuntimeError, TypeError, ValueError):  # mp3/m4a via ffmpeg only: not split
        return 0.0


@dataclass
class SplitProgress:
    """The parts of one input in a run: how many are still out, and what came back."""

    sha256: str  # the input's checksum
    count: int  # parts in all
    remaining: int  # part jobs not finished in this run
    seconds: float = 0.0  # worker time of its parts so far (s)
    attempts: int = 1  # most tries of any part
    worker: Any = None  # WorkerInfo of the last part to finish
    errors: list[str] = field(default_factory=list)  # one sentence per failed part


def parts_dir(item: BatchItem) -> Path:
    return item.output.parent / ".parts" / item.output.name


def remove_part_temps(item: BatchItem) -> None:
    """Delete temp files of parts that a killed worker was writing."""
    folder = parts_dir(item)
    if folder.is_dir():
        for tmp in folder.glob(".*"):
            tmp.unlink(missing_ok=True)


def part_path(item: BatchItem, part: Part) -> Path:
    return parts_dir(item) / f"{part.index}-of-{part.count}.npz"


@dataclass(frozen=True)
class PartResult:
    """A translated part: its track and segments on the part's own clock."""

    start: float  # where the part starts in the recording (s)
    end: float  # where it ends (s)
    track: Audio | None  # translated speech; None when the part holds no speech
    segments: list[PlacedSegment]  # times relative to `start`
    timings: dict[str, float]  # seconds per stage
    engines: dict[str, str]  # engine names, as in the report


def save_part(path: Path, result: PartResult, sha256: str, record: dict[str, Any]) -> None:
    """Write a part atomically with what it was made from."""
    meta = {
        "start": result.start,
        "end": result.end,
        "segments": [asdict(s) for s in result.segments],
        "timings": result.timings,
        "engines": result.engines,
        "batch": batch_record(sha256, record),
        "rate": result.track.sample_rate if result.track is not None else 0,
    }
    samples = result.track.samples if result.track is not None else np.zeros(0, np.float32)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, samples=samples, meta=np.array(json.dumps(meta)))


def part_is_done(path: Path, sha256: str, record: dict[str, Any]) -> bool:
    """Whether the part at `path` was made from these bytes and options (reads no audio)."""
    try:
        with np.load(path) as z:
            meta = json.loads(str(z["meta"]))
    except (OSError, ValueError, KeyError):
        return False
    return meta.get("batch") == batch_record(sha256, record)


def load_part(path: Path, sha256: str, record: dict[str, Any]) -> PartResult | None:
    """The part saved at `path` if it was made from these bytes and options, else None."""
    if not part_is_done(path, sha256, record):
        return None
    try:
        with np.load(path) as z:
            meta = json.loads(str(z["meta"]))
            samples = z["samples"].astype(np.float32)
    except (OSError, ValueError, KeyError):
        return None
    track = Audio(samples, meta["rate"]) if meta["rate"] else None
    segments = [PlacedSegment(**s) for s in meta["segments"]]
    return PartResult(meta["start"], meta["end"], track, segments, meta["timings"], meta["engines"])


def join_parts(
    item: BatchItem,
    parts: list[PartResult],
    source: str,
    target: str,
    sha256: str,
    record: dict[str, Any],
) -> dict[str, Any]:
    """Join the parts in order into the item's wav (+ srt) and report; returns the report.

    Each part's track is laid at the part's start; speech that runs past the end of its
    part is mixed with the next part's start. The report is written last.
    """
    parts = sorted(parts, key=lambda p: p.start)
    duration = parts[-1].end
    tracks = [p.track for p in parts if p.track is not None]
    if not tracks:
        raise NoSpeechError(f"No speech found in {item.input}.")
    rate = tracks[0].sample_rate
    length = max(
        [int(round(duration * rate))]
        + [int(round(p.start * rate)) + len(p.track.samples) for p in parts if p.track]
    )
    out = np.zeros(length, dtype=np.float32)
    segments: list[PlacedSegment] = []
    timings: dict[str, float] = {}
    for p in parts:
        if p.track is not None:
            a = int(round(p.start * rate))
            out[a : a + len(p.track.samples)] += p.track.resample(rate).samples
        segments += [
            PlacedSegment(
                round(s.start + p.start, 3),
                round(s.end + p.start, 3),
                s.source_text,
                s.translation,
                round(s.output_start + p.start, 3),
                round(s.output_end + p.start, 3),
            )
            for s in p.segments
        ]
        for k, v in p.timings.items():
            timings[k] = round(timings.get(k, 0.0) + v, 4)
    report = {
        "source_language": source,
        "target_language": target,
        "input": str(item.input),
        "output": str(item.output),
        "duration_s": round(duration, 3),
        "segments": [asdict(s) for s in segments],
        "timings_s": timings,
        "engines": parts[0].engines,
        "parts": [[p.start, p.end] for p in parts],
        "batch": batch_record(sha256, record),
    }
    save_audio(item.output, Audio(np.clip(out, -1.0, 1.0), rate))
    if item.srt is not None:
        cues = [(s.output_start, s.output_end, s.translation) for s in segments]
        write_text_atomic(item.srt, to_srt(cues))
    write_text_atomic(item.report, json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    shutil.rmtree(parts_dir(item), ignore_errors=True)
    try:
        parts_dir(item).parent.rmdir()  # .parts itself, when no other input has parts
    except OSError:
        pass
    return report
