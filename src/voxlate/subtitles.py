"""Subtitles and transcript files: SubRip (SRT), WebVTT, ASS and tab-separated values.

SRT is composed by the `srt` library and WebVTT by `webvtt-py`, ASS here; cues are
(start s, end s, text) with empty texts skipped; a text may hold two lines (bilingual).
`segment_cues` turns a dub's segments (objects or report dicts) into cues: the target,
the source or both texts, re-timed to the dub (`output_start`/`output_end`), labelled
with the speaker when the segments name more than one.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

Cue = tuple[float, float, str]  # (start s, end s, text)
SubtitleText = Literal["target", "source", "both"]
SUBTITLE_TEXTS: tuple[SubtitleText, ...] = ("target", "source", "both")
SUBTITLE_FILES = {".srt": "srt", ".vtt": "vtt", ".ass": "ass"}  # extension -> format


def _field(segment: Any, key: str) -> Any:
    if isinstance(segment, Mapping):
        return segment.get(key)
    return getattr(segment, key, None)


def segment_cues(
    segments: Sequence[Any], text: SubtitleText = "target", dub_timing: bool = True
) -> list[Cue]:
    """Cues of a dub's segments (dataclasses or report dicts).

    text: `target` (the translation), `source` (the recognised text) or `both` (two
        lines: translation, then source).
    dub_timing: time cues by `output_start`/`output_end` (where the dubbed line is heard),
        else by the source's `start`/`end`.
    A segment's `speaker` (when the segments name more than one) prefixes its text:
    "S1: ...".
    """
    if text not in SUBTITLE_TEXTS:
        raise ValueError(f"subtitle text must be one of {SUBTITLE_TEXTS}, not {text!r}")
    speakers = {_field(s, "speaker") for s in segments} - {None, ""}
    label = len(speakers) > 1
    out: list[Cue] = []
    for s in segments:
        a, b = ("output_start", "output_end") if dub_timing else ("start", "end")
        target = " ".join(str(_field(s, "translation") or "").split())
        source = " ".join(str(_field(s, "source_text") or "").split())
        lines = {"target": [target], "source": [source], "both": [target, source]}[text]
        lines = [line for line in lines if line]
        if not lines:
            continue
        who = _field(s, "speaker")
        if label and who not in (None, ""):
            lines[0] = f"{speaker_label(who)}: {lines[0]}"
        out.append((float(_field(s, a)), float(_field(s, b)), "\n".join(lines)))
    return out


def speaker_label(speaker: Any) -> str:
    """How a cue names a speaker: an integer n as "S{n+1}", a name as it is."""
    if isinstance(speaker, int) and not isinstance(speaker, bool):
        return f"S{speaker + 1}"
    return str(speaker)


def subtitle_format(path: str | os.PathLike) -> str:
    """The subtitle format `path`'s extension names: srt, vtt or ass (ValueError otherwise)."""
    fmt = SUBTITLE_FILES.get(Path(path).suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: subtitles are written as .srt, .vtt or .ass")
    return fmt


def to_subtitles(items: Sequence[Cue], fmt: str, language: str = "") -> str:
    """Cues as a file of `fmt`: srt, vtt (also 'webvtt') or ass."""
    if fmt == "srt":
        return to_srt(items)
    if fmt in ("vtt", "webvtt"):
        return to_vtt(items)
    if fmt == "ass":
        return to_ass(items, language)
    raise ValueError(f"unknown subtitle format {fmt!r}")


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


ASS_HEADER = """[Script Info]
ScriptType: v4.00+
PlayResX: 384
PlayResY: 288
WrapStyle: 0
ScaledBorderAndShadow: yes
{language}
[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, \
Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, \
Shadow, Alignment, MarginL, MarginR, MarginV, Encoding
Style: Default,Arial,18,&H00FFFFFF,&H000000FF,&H00000000,&H80000000,0,0,0,0,100,100,0,0,1,\
1.5,0.5,2,12,12,12,1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
""".replace("\\\n", "")


def ass_time(seconds: float) -> str:
    """Seconds -> 'H:MM:SS.cc' (ASS's centiseconds)."""
    cs = max(0, int(round(seconds * 100)))
    h, cs = divmod(cs, 360_000)
    m, cs = divmod(cs, 6_000)
    s, cs = divmod(cs, 100)
    return f"{h}:{m:02d}:{s:02d}.{cs:02d}"


def to_ass(items: Sequence[Cue], language: str = "") -> str:
    """Advanced SubStation Alpha text for cues (one Default style); empty texts skipped.

    Line breaks become ASS's `\\N`; braces (ASS override tags) are dropped from texts.
    """
    head = ASS_HEADER.format(language=f"Language: {language}\n" if language else "")
    rows = []
    for a, b, t in _cues(items):
        text = "\\N".join(
            " ".join(line.replace("{", "").replace("}", "").split()) for line in t.splitlines()
        )
        rows.append(f"Dialogue: 0,{ass_time(a)},{ass_time(b)},Default,,0,0,0,,{text}")
    return head + "\n".join(rows) + ("\n" if rows else "")


def to_tsv(items: Sequence[Cue]) -> str:
    """Tab-separated 'start<TAB>end<TAB>text' lines with a header; times in integer
    milliseconds, as openai-whisper writes them. Tabs and newlines in texts become spaces."""
    rows = ["start\tend\ttext"]
    for a, b, t in _cues(items):
        text = " ".join(t.replace("\t", " ").split())
        rows.append(f"{round(a * 1000)}\t{round(b * 1000)}\t{text}")
    return "\n".join(rows) + "\n"
