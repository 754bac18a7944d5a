"""Video containers: probing an input and writing a dubbed video, through ffmpeg and ffprobe.

The same hardening as `audio_decode.py`: every call is an argument list (no shell), the
input's container is sniffed from its first bytes and named to ffmpeg with ``-f`` and
``-format_whitelist`` (no playlist, concat or image demuxer can be probed into),
``-protocol_whitelist file,pipe`` (no network), and each call has a time limit. A failure
is one sentence (`InputError` for what the user can fix, `EngineError` for ffmpeg itself).

`probe(path)` says what streams a file holds (cheap: ffprobe reads headers only), so a
command can refuse a video without audio, or a video output from an audio-only input,
before any model loads. `mux_video` writes the output: the picture stream-copied
(``-c:v copy``, bit-identical) or, when subtitles are burnt in, re-encoded; the dubbed
track encoded for the container (AAC in mp4, Opus in mkv/webm); optionally the original
audio as a second, labelled track; optionally a soft subtitle track with its language.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from voxlate.audio_decode import FFMPEG_FORMATS, SNIFF_BYTES, sniff_format
from voxlate.errors import EngineError, InputError, MissingDependencyError
from voxlate.languages import to_639_3

PROBE_TIMEOUT_S = 30.0  # wall seconds for ffprobe to read a file's headers
MUX_TIMEOUT_S = 600.0  # wall seconds for a stream-copy mux
BURN_S_PER_S = 4.0  # extra wall seconds per second of video when it is re-encoded (burn)
SUBTITLE_FORMATS = ("srt", "ass", "webvtt")  # ffmpeg demuxers of the subtitle files we write


@dataclass(frozen=True)
class VideoFormat:
    """How to write one kind of video output."""

    name: str  # the extension without its dot
    muxer: str  # ffmpeg's -f
    audio_codec: tuple[str, ...]  # ffmpeg options for the audio tracks
    subtitle_codec: str  # the soft-subtitle codec the container carries
    subtitle_file: str  # the subtitle file format given to ffmpeg: srt, ass or webvtt
    video_codecs: frozenset[str] | None  # codecs that can be stream-copied in (None: any)
    burn_codec: tuple[str, ...]  # ffmpeg options when the picture is re-encoded


VIDEO_FORMATS: dict[str, VideoFormat] = {
    f.name: f
    for f in [
        VideoFormat(
            "mp4",
            "mp4",
            ("-c:a", "aac", "-b:a", "128k"),
            "mov_text",
            "srt",
            frozenset({"h264", "hevc", "av1", "vp9", "mpeg4", "mpeg2video", "mjpeg"}),
            ("-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p"),
        ),
        VideoFormat(
            "mkv",
            "matroska",
            ("-c:a", "libopus", "-b:a", "96k"),
            "ass",
            "ass",
            None,
            ("-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p"),
        ),
        VideoFormat(
            "webm",
            "webm",
            ("-c:a", "libopus", "-b:a", "96k"),
            "webvtt",
            "webvtt",
            frozenset({"vp8", "vp9", "av1"}),
            ("-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "0"),
        ),
    ]
}


def video_format(path: str | os.PathLike) -> VideoFormat | None:
    """The video format `path`'s extension names (mp4, mkv, webm), or None for anything else."""
    p = str(path)
    return None if p == "-" else VIDEO_FORMATS.get(Path(p).suffix.lower().lstrip("."))


@dataclass(frozen=True)
class MediaInfo:
    """What a media file holds, from ffprobe."""

    container: str  # the sniffed ffmpeg demuxer
    video_codec: str | None  # the first video stream's codec (None: no picture)
    audio_streams: int  # how many audio streams
    duration: float | None  # seconds, when the container states it

    @property
    def has_video(self) -> bool:
        return self.video_codec is not None


def _tool(name: str, why: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise MissingDependencyError(f"{name} (needed {why})", apt="ffmpeg")
    return path


def _demuxer(path: Path, label: str) -> str:
    if not path.exists():
        raise InputError(f"Input file not found: {label}")
    if not path.is_file() or path.stat().st_size == 0:
        raise InputError(f"Input is not a media file (a folder or empty): {label}")
    with open(path, "rb") as fh:
        fmt = sniff_format(fh.read(SNIFF_BYTES))
    if fmt is None:
        raise InputError(
            f"Cannot read {label} (not a supported container: "
            "mp4, mov, m4a, mkv, webm, avi, ts, flv, ogg, wav, flac, mp3, aac)."
        )
    return fmt


def _input_args(path: Path, fmt: str) -> list[str]:
    """ffmpeg/ffprobe options that open `path` with the `fmt` demuxer and nothing else."""
    assert fmt in FFMPEG_FORMATS or fmt in SUBTITLE_FORMATS, fmt
    return [
        "-protocol_whitelist",
        "file,pipe",
        "-format_whitelist",
        fmt,
        "-f",
        fmt,
        "-i",
        f"file:{path.resolve()}",
    ]


def probe(path: str | os.PathLike, name: str | None = None) -> MediaInfo:
    """The streams of `path` (InputError, one sentence, if it cannot be read as media)."""
    p = Path(path)
    label = name if name is not None else str(p)
    fmt = _demuxer(p, label)
    ffprobe = _tool("ffprobe", "to read video files")
    cmd = [ffprobe, "-v", "error", "-hide_banner", "-print_format", "json", "-show_streams"]
    cmd += ["-show_format", *_input_args(p, fmt)]
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=PROBE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as e:
        raise InputError(f"Reading {label}'s headers took over {PROBE_TIMEOUT_S:g} s.") from e
    if done.returncode != 0:
        raise InputError(f"Cannot read {label} as media (not a valid {fmt} file).")
    try:
        info = json.loads(done.stdout or b"{}")
    except json.JSONDecodeError as e:
        raise InputError(f"Cannot read {label} as media (ffprobe's answer was not JSON).") from e
    streams = info.get("streams", [])
    # An attached picture (cover art) is not a video.
    videos = [
        s
        for s in streams
        if s.get("codec_type") == "video" and not s.get("disposition", {}).get("attached_pic")
    ]
    audios = [s for s in streams if s.get("codec_type") == "audio"]
    try:
        duration = float(info.get("format", {}).get("duration"))
    except (TypeError, ValueError):
        duration = None
    return MediaInfo(fmt, videos[0].get("codec_name") if videos else None, len(audios), duration)


def check_dub_io(
    info: MediaInfo, label: str, output: str | os.PathLike, burn: bool = False
) -> VideoFormat | None:
    """Check that `output` can be made from an input with `info`; returns its video format.

    Raises InputError (one sentence) for an input without audio, a video output from an
    audio-only input, or a picture codec the output container cannot carry unless re-encoded.
    """
    if info.audio_streams == 0:
        raise InputError(f"{label} has no audio stream; there is no speech to translate.")
    vf = video_format(output)
    if vf is None:
        return None
    if not info.has_video:
        raise InputError(
            f"{label} has no video stream, so it cannot become a .{vf.name} video; "
            "write audio (.wav, .m4a, ...) instead."
        )
    if not burn and vf.video_codecs is not None and info.video_codec not in vf.video_codecs:
        raise InputError(
            f"The picture of {label} is {info.video_codec}, which .{vf.name} cannot hold "
            "without re-encoding; write .mkv (or .mp4) instead."
        )
    return vf


@dataclass(frozen=True)
class Track:
    """An audio file to put in the video, with its tags."""

    path: Path  # a wav the caller wrote
    language: str  # ISO 639-1
    title: str  # e.g. "Spanish (dubbed)", "original"


def mux_video(
    source: str | os.PathLike,
    source_info: MediaInfo,
    tracks: list[Track],
    output: Path,
    vf: VideoFormat,
    *,
    original_audio: Track | None = None,
    subtitles: Path | None = None,
    subtitle_language: str = "",
    burn: bool = False,
    duration: float | None = None,
) -> None:
    """Write `output` (a temp path; the caller renames it): `source`'s picture, then `tracks`.

    original_audio: when given (its `path` is ignored), `source`'s first audio stream is
        re-encoded as the last audio track with this track's tags.
    subtitles: a file in `vf.subtitle_file` format; embedded as a soft track tagged
        `subtitle_language`, or burnt into the picture (re-encoded) when `burn`.
    duration: the picture's length (s), to bound a burn's time limit.
    """
    ffmpeg = _tool("ffmpeg", "to write video files")
    src = Path(source)
    cmd = [ffmpeg, "-nostdin", "-hide_banner", "-v", "error", "-y"]
    cmd += _input_args(src, source_info.container)
    for t in tracks:
        cmd += _input_args(t.path, "wav")
    sub_input = None
    if subtitles is not None and not burn:
        sub_input = 1 + len(tracks)
        cmd += _input_args(subtitles, vf.subtitle_file)
    cmd += ["-map", "0:v:0"]
    for i in range(len(tracks)):
        cmd += ["-map", f"{i + 1}:a:0"]
    if original_audio is not None:
        cmd += ["-map", "0:a:0"]
    if sub_input is not None:
        cmd += ["-map", f"{sub_input}:s:0"]
    if burn and subtitles is not None:
        cmd += ["-vf", f"subtitles=filename={_filter_path(subtitles)}", *vf.burn_codec]
    else:
        cmd += ["-c:v", "copy"]
    cmd += list(vf.audio_codec)
    tagged = [*tracks, *([original_audio] if original_audio is not None else [])]
    for i, t in enumerate(tagged):
        cmd += [f"-metadata:s:a:{i}", f"language={to_639_3(t.language)}"]
        cmd += [f"-metadata:s:a:{i}", f"title={t.title}"]  # matroska, webm
        cmd += [f"-metadata:s:a:{i}", f"handler_name={t.title}"]  # mp4 (its track name)
        cmd += [f"-disposition:a:{i}", "default" if i == 0 else "0"]
    if sub_input is not None:
        cmd += ["-c:s", vf.subtitle_codec]
        if subtitle_language:
            cmd += ["-metadata:s:s:0", f"language={to_639_3(subtitle_language)}"]
    else:
        cmd += ["-sn"]
    cmd += ["-dn", "-map_chapters", "-1", "-f", vf.muxer, str(output)]
    limit = MUX_TIMEOUT_S + (BURN_S_PER_S * (duration or 0.0) if burn else 0.0)
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=limit, check=False)
    except subprocess.TimeoutExpired as e:
        raise EngineError(f"ffmpeg took over {limit:g} s to write {output.name}.") from e
    if done.returncode != 0:
        last = (done.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        why = last[-1][:200] if last else f"exit code {done.returncode}"
        raise EngineError(f"ffmpeg could not write the video ({why}).")


def _filter_path(path: Path) -> str:
    """`path` quoted for a filter argument (':' and quotes escaped; our temp names are plain)."""
    text = str(path.resolve())
    for ch in ("\\", ":", "'", ",", "[", "]", ";"):
        text = text.replace(ch, "\\" + ch)
    return text


def temp_folder() -> tempfile.TemporaryDirectory[str]:
    """A private temp folder for the files ffmpeg reads (tracks, subtitles)."""
    return tempfile.TemporaryDirectory(prefix="voxlate-video.")
