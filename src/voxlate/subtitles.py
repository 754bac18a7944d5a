"""Subtitles: SubRip (SRT) and WebVTT, from (start s, end s, text) cues."""

from __future__ import annotations

from collections.abc import Sequence


def srt_time(seconds: float) -> str:
    """Seconds -> 'HH:MM:SS,mmm'."""
    ms = max(0, int(round(seconds * 1000)))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def to_srt(items: Sequence[tuple[float, float, str]]) -> str:
    """SRT text for (start s, end s, text) cues, numbered from 1; empty texts skipped."""
    cues = [(a, b, t.strip()) for a, b, t in items if t.strip()]
    return "".join(
        f"{i}\n{srt_time(a)} --> {srt_time(b)}\n{t}\n\n" for i, (a, b, t) in enumerate(cues, 1)
    )


def to_vtt(items: Sequence[tuple[float, float, str]]) -> str:
    """WebVTT text for (start s, end s, text) cues (webvtt-py); empty texts skipped."""
    import webvtt

    doc = webvtt.WebVTT()
    for a, b, t in items:
        if t.strip():
            doc.captions.append(webvtt.Caption(_vtt_time(a), _vtt_time(max(a, b)), t.strip()))
    return doc.content


def _vtt_time(seconds: float) -> str:
    """Seconds -> 'HH:MM:SS.mmm'."""
    return srt_time(seconds).replace(",", ".")
