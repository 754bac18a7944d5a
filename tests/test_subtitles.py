"""Subtitles: SRT, WebVTT and ASS; target, source or both texts; speaker labels; dub timing."""

from __future__ import annotations

import pytest

from voxlate.pipeline.frames import PlacedSegment
from voxlate.subtitles import (
    ass_time,
    segment_cues,
    subtitle_format,
    to_ass,
    to_srt,
    to_subtitles,
    to_vtt,
)

SEGMENTS = [
    {
        "start": 0.0,
        "end": 1.0,
        "source_text": "Hello  world.",
        "translation": "Hola mundo.",
        "output_start": 0.25,
        "output_end": 1.5,
        "speaker": 0,
    },
    {
        "start": 1.2,
        "end": 2.0,
        "source_text": "Bye.",
        "translation": "Adiós.",
        "output_start": 1.6,
        "output_end": 2.4,
        "speaker": 1,
    },
    {  # nothing said: no cue
        "start": 2.5,
        "end": 3.0,
        "source_text": "",
        "translation": "",
        "output_start": 2.5,
        "output_end": 3.0,
        "speaker": 1,
    },
]


def test_cues_are_timed_to_the_dub_and_labelled_by_speaker():
    cues = segment_cues(SEGMENTS)
    assert cues == [(0.25, 1.5, "S1: Hola mundo."), (1.6, 2.4, "S2: Adiós.")]
    assert segment_cues(SEGMENTS, dub_timing=False)[1][:2] == (1.2, 2.0)


def test_one_speaker_or_none_is_not_labelled():
    one = [{**s, "speaker": "anna"} for s in SEGMENTS]
    assert segment_cues(one)[0][2] == "Hola mundo."
    placed = [PlacedSegment(0.0, 1.0, "Hi.", "Hola.", 0.1, 0.9)]  # no speaker field at all
    assert segment_cues(placed) == [(0.1, 0.9, "Hola.")]
    named = [{**SEGMENTS[0], "speaker": "anna"}, {**SEGMENTS[1], "speaker": "ben"}]
    assert segment_cues(named)[1][2] == "ben: Adiós."


def test_source_and_bilingual_texts():
    assert segment_cues(SEGMENTS, "source")[0][2] == "S1: Hello world."
    both = segment_cues(SEGMENTS, "both")
    assert both[0][2] == "S1: Hola mundo.\nHello world."
    with pytest.raises(ValueError):
        segment_cues(SEGMENTS, "all")  # type: ignore[arg-type]


def test_vtt_and_srt_keep_both_lines():
    both = segment_cues(SEGMENTS, "both")
    vtt = to_vtt(both)
    assert vtt.startswith("WEBVTT")
    assert "00:00:00.250 --> 00:00:01.500\nS1: Hola mundo.\nHello world." in vtt
    assert "1\n00:00:00,250 --> 00:00:01,500\nS1: Hola mundo.\nHello world.\n" in to_srt(both)


def test_ass_events_styles_and_escapes():
    cues = [(0.25, 61.5, "Hola {\\b1}mundo\nHello world"), (3725.0, 3726.0, "  ")]
    text = to_ass(cues, "spa")
    assert "[Script Info]" in text and "[V4+ Styles]" in text and "Language: spa" in text
    events = [line for line in text.splitlines() if line.startswith("Dialogue:")]
    assert events == [
        "Dialogue: 0,0:00:00.25,0:01:01.50,Default,,0,0,0,,Hola \\b1mundo\\NHello world"
    ]
    assert ass_time(3725.006) == "1:02:05.01"
    style = next(line for line in text.splitlines() if line.startswith("Style:"))
    fmt = next(line for line in text.splitlines() if line.startswith("Format: Name"))
    assert len(style.split(",")) == len(fmt.split(","))  # one value per field


def test_format_from_extension():
    assert [subtitle_format(p) for p in ("a.srt", "b.VTT", "c.ass")] == ["srt", "vtt", "ass"]
    with pytest.raises(ValueError):
        subtitle_format("d.txt")
    cues = segment_cues(SEGMENTS)
    assert to_subtitles(cues, "webvtt") == to_vtt(cues)
    assert to_subtitles(cues, "srt") == to_srt(cues)
