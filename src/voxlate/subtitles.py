"""Subtitles and transcript files: SubRip (SRT), WebVTT and tab-separated values.

SRT is composed by the `srt` library and WebVTT by `webvtt-py`; cues are
(start s, end s, text) with empty texts skipped.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence

Cue = tuple[float, float, str]  # (start s, end s, text)


def srt_time(seconds: float) -> str:
    """Seconds -> 'HH:MM:SS,mmm'."""
    ms = max(0, int(round(seconds * 1000)))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def _cues(items: Sequence[Cue]) -> list[Cue]:
    return [(max(0.0, a), max(0.0, b), t.strip()) for a, b, t in items if t.strip()]


def to_srt(items: Sequence[Cue]) -> str:
    """SRT text for (start s, end s, text) cues, numbered from 1; empty texts skipped."""
    import srt

    subs = [
        srt.Subtitle(i, _dt.timedelta(seconds=a), _dt.timedelta(seconds=b), t)
        for i, (a, b, t) in enumerate(_cues(items), 1)
    ]
    return srt.compose(subs, reindex=True) if subs else ""


def to_vtt(items: Sequence[Cue]) -> str:
    """WebVTT text for (start s, end s, text) cues; empty texts skipped."""
    import webvtt

    vtt = webvtt.WebVTT()
    for a, b, t in _cues(items):
        vtt.captions.append(
            webvtt.Caption(
                start=srt_time(a).replace(",", "."), end=srt_time(b).replace(",", "."), text=t
            )
        )
    return vtt.content


def to_tsv(items: Sequence[Cue]) -> str:
    """Tab-separated 'start<TAB>end<TAB>text' lines with a header; times in integer
    milliseconds, as openai-whisper writes them. Tabs and newlines in texts become spaces."""
    rows = ["start\tend\ttext"]
    for a, b, t in _cues(items):
        text = " ".join(t.replace("\t", " ").split())
        rows.append(f"{round(a * 1000)}\t{round(b * 1000)}\t{text}")
    return "\n".join(rows) + "\n"
