"""Writing a dub: audio or video, subtitles and the report, as one transaction.

`write_result` needs no engine: it takes a `FileResult` (the dubbed speech track, its
segments, the background estimate) and the options, so `voxlate translate` calls it after
the translation and `voxlate render` after rebuilding a result from an edited report.

- An audio output (wav, flac, ogg, opus, mp3, m4a) gets the dubbed track, with the
  background under it per `DubOptions.background` (keep, duck, drop).
- A video output (mp4, mkv, webm; `video.py`) gets the input's picture stream-copied,
  that track as its first audio track (AAC in mp4, Opus in mkv/webm, tagged with the
  target language), with `keep_original_audio` the input's audio as a second track titled
  "original", and subtitles embedded as a soft track or burnt into the picture
  (re-encoded) per `DubOptions.subtitles`.
- `--srt` and `--subtitles-file` write the cues (target, source or both texts, re-timed to
  the dub, speaker-labelled when the segments name more than one speaker).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from voxlate.audio import Audio, save_audio
from voxlate.audio_encode import audio_format, encode_audio
from voxlate.errors import InputError
from voxlate.languages import name as language_name
from voxlate.outputs import Output, write_outputs
from voxlate.pipeline.background import BackgroundMode, check_background_mode, mix_background
from voxlate.subtitles import SubtitleText, segment_cues, subtitle_format, to_srt, to_subtitles
from voxlate.video import (
    MediaInfo,
    Track,
    VideoFormat,
    check_dub_io,
    mux_video,
    probe,
    temp_folder,
    video_format,
)

if TYPE_CHECKING:
    from voxlate.pipeline.file import FileResult

SubtitleMode = Literal["embed", "burn", "none"]
SUBTITLE_MODES: tuple[SubtitleMode, ...] = ("embed", "burn", "none")


@dataclass(frozen=True)
class DubOptions:
    """How a dub is written (the output side of `voxlate translate` and `voxlate render`)."""

    background: BackgroundMode = "keep"  # keep | duck | drop: the source's background under it
    subtitles: SubtitleMode = "embed"  # embed | burn | none: subtitles in a video output
    subtitle_text: SubtitleText = "target"  # target | source | both (two lines per cue)
    keep_original_audio: bool = False  # a video output also carries the source's audio

    def __post_init__(self) -> None:
        check_background_mode(self.background)
        if self.subtitles not in SUBTITLE_MODES:
            raise ValueError(f"subtitles must be one of {SUBTITLE_MODES}")


def check_dub_output(
    input_path: str | os.PathLike,
    output_path: str | os.PathLike,
    options: DubOptions,
    input_name: str | None = None,
    subtitles_path: str | os.PathLike | None = None,
) -> MediaInfo | None:
    """Every check of a dub's output that can fail before the work (no model needed).

    Returns the input's `MediaInfo` for a video output (None for an audio output).
    Raises InputError (one sentence): an input without audio or picture for a video
    output, a picture the container cannot copy, an unknown audio or subtitle extension,
    a video-only option with an audio output.
    """
    label = input_name or str(input_path)
    if subtitles_path is not None and Path(subtitles_path).suffix.lower() not in (
        ".srt",
        ".vtt",
        ".ass",
    ):
        raise InputError(f"Subtitles are written as .srt, .vtt or .ass, not {subtitles_path}.")
    vf = video_format(output_path)
    if vf is None:
        audio_format(output_path)
        if options.keep_original_audio:
            raise InputError("--keep-original-audio needs a video output (.mp4, .mkv, .webm).")
        if options.subtitles == "burn":
            raise InputError("--subtitles burn needs a video output (.mp4, .mkv, .webm).")
        return None
    info = probe(input_path, name=label)
    check_dub_io(info, label, output_path, burn=options.subtitles == "burn")
    return info


def dubbed_track(result: FileResult, options: DubOptions) -> Audio:
    """The dub with the background under it, per `options.background`."""
    spans = [(s.output_start, s.output_end) for s in result.segments]
    return mix_background(result.audio, result.background, options.background, spans)


def write_result(
    result: FileResult,
    rep: dict[str, Any],
    input_path: str | os.PathLike,
    output_path: str | os.PathLike,
    report_path: str | os.PathLike | None = None,
    srt_path: str | os.PathLike | None = None,
    subtitles_path: str | os.PathLike | None = None,
    options: DubOptions | None = None,
    media: MediaInfo | None = None,
) -> dict[str, Any]:
    """Write a dub's outputs as one transaction (all appear, or none); returns the report.

    result: the dubbed speech (`audio`), its `segments` and the `background` estimate
        (None: nothing to mix, whatever `options.background` says).
    rep: the report (`file.report`); the written one adds `background` (the mode used)
        and, for a video output, `video` (container, picture copied, tracks, subtitles).
    input_path: the source recording; a video output takes its picture (and with
        `keep_original_audio` its audio) from it.
    output_path: audio (wav, flac, ogg, opus, mp3, m4a; `-` is wav on stdout) or video
        (mp4, mkv, webm), by extension.
    report_path, srt_path, subtitles_path: optional files (subtitles: .srt/.vtt/.ass).
    media: the input's `check_dub_output` answer when the caller has it (else probed).
    """
    opts = options or DubOptions()
    source, target = str(rep.get("source_language", "")), str(rep.get("target_language", ""))
    vf = video_format(output_path)
    if vf is not None and media is None:
        media = check_dub_output(input_path, output_path, opts, subtitles_path=subtitles_path)
    track = dubbed_track(result, opts)
    used: BackgroundMode = opts.background if result.background is not None else "drop"
    cues = segment_cues(result.segments, opts.subtitle_text)
    sub_lang = source if opts.subtitle_text == "source" else target
    rep = {**rep, "background": used}
    files: list[Output] = []
    if vf is None:
        fmt = audio_format(output_path)
        sound = encode_audio(track.samples, track.sample_rate, fmt)
        files.append(Output(Path(output_path), lambda p: p.write_bytes(sound)))
    else:
        assert media is not None
        video = VideoOutput(input_path, media, vf, track, cues, opts, source, target)
        rep["video"] = video.describe()
        files.append(Output(Path(output_path), video.write))
    if report_path is not None:
        text = json.dumps(rep, ensure_ascii=False, indent=2) + "\n"
        files.append(Output(Path(report_path), lambda p: p.write_text(text, encoding="utf-8")))
    if srt_path is not None:
        srt = to_srt(cues)
        files.append(Output(Path(srt_path), lambda p: p.write_text(srt, encoding="utf-8")))
    if subtitles_path is not None:
        subs = to_subtitles(cues, subtitle_format(subtitles_path), sub_lang)
        files.append(Output(Path(subtitles_path), lambda p: p.write_text(subs, encoding="utf-8")))
    write_outputs(files)
    return rep


@dataclass(frozen=True)
class VideoOutput:
    """A dubbed video to write at a given (temp) path."""

    source: str | os.PathLike
    media: MediaInfo
    vf: VideoFormat
    track: Audio
    cues: list[tuple[float, float, str]]
    options: DubOptions
    source_language: str
    target_language: str

    @property
    def subtitle_language(self) -> str:
        text = self.options.subtitle_text
        return self.source_language if text == "source" else self.target_language

    def describe(self) -> dict[str, Any]:
        """The report's `video` entry."""
        o = self.options
        subs = o.subtitles if self.cues else "none"
        return {
            "container": self.vf.name,
            "picture": "re-encoded" if subs == "burn" else "copied",
            "audio_tracks": 2 if o.keep_original_audio else 1,
            "subtitles": subs,
            "subtitle_codec": self.vf.subtitle_codec if subs == "embed" else None,
            "subtitle_text": o.subtitle_text,
        }

    def write(self, path: Path) -> None:
        o = self.options
        target = self.target_language
        with temp_folder() as tmp:
            folder = Path(tmp)
            wav = folder / "dub.wav"
            save_audio(wav, self.track)
            tracks = [Track(wav, target, f"{language_name(target)} (dubbed)")]
            original = (
                Track(Path(self.source), self.source_language, "original")
                if o.keep_original_audio
                else None
            )
            subs = None
            if o.subtitles != "none" and self.cues:
                fmt = "ass" if o.subtitles == "burn" else self.vf.subtitle_file
                subs = folder / f"subtitles.{'vtt' if fmt == 'webvtt' else fmt}"
                subs.write_text(
                    to_subtitles(self.cues, fmt, self.subtitle_language), encoding="utf-8"
                )
            mux_video(
                self.source,
                self.media,
                tracks,
                path,
                self.vf,
                original_audio=original,
                subtitles=subs,
                subtitle_language=self.subtitle_language,
                burn=o.subtitles == "burn",
                duration=self.media.duration,
            )
