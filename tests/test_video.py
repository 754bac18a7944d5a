"""video.py: probing inputs, refusing what cannot be dubbed, and muxing with the picture copied."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voxlate.errors import InputError
from voxlate.video import (
    VIDEO_FORMATS,
    MediaInfo,
    Track,
    check_dub_io,
    mux_video,
    probe,
    video_format,
)

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")


def ffmpeg(*args: str | Path) -> None:
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y", *map(str, args)]
    subprocess.run(cmd, check=True, timeout=60)


def picture_md5(path: Path) -> str:
    out = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v", "-c", "copy", "-f", "md5", "-"],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return out.stdout.decode().strip()


def streams(path: Path) -> list[str]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,codec_name:stream_tags"
         "=language,title,handler_name", "-of", "csv=p=0", str(path)],
        capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    return out.stdout.decode().splitlines()


@pytest.fixture(scope="module")
def silent_video(tmp_path_factory) -> Path:
    """2 s of a generated picture with no audio stream (h264 in mp4)."""
    p = tmp_path_factory.mktemp("video") / "silent.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-t", "2", "-c:v", "libx264",
           "-preset", "ultrafast", "-pix_fmt", "yuv420p", p)  # fmt: skip
    return p


@pytest.fixture(scope="module")
def talk_video(tmp_path_factory, librivox_clip) -> Path:
    """The picture with a real speech track (aac in mp4), 3 s."""
    p = tmp_path_factory.mktemp("video") / "talk.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-i", librivox_clip, "-t", "3",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
           "-shortest", p)  # fmt: skip
    return p


def test_probe_and_refusals(silent_video, talk_video, librivox_clip, tmp_path):
    info = probe(talk_video)
    assert info.container == "mov" and info.video_codec == "h264" and info.audio_streams == 1
    assert info.duration == pytest.approx(3.0, abs=0.2)
    assert check_dub_io(info, "talk.mp4", tmp_path / "o.mkv") is VIDEO_FORMATS["mkv"]
    assert check_dub_io(info, "talk.mp4", tmp_path / "o.wav") is None  # audio out
    with pytest.raises(InputError, match="webm cannot hold it|which .webm cannot hold"):
        check_dub_io(info, "talk.mp4", tmp_path / "o.webm")  # h264 cannot be copied to webm
    assert check_dub_io(info, "talk.mp4", tmp_path / "o.webm", burn=True) is VIDEO_FORMATS["webm"]
    with pytest.raises(InputError, match="has no audio stream"):
        check_dub_io(probe(silent_video), "silent.mp4", tmp_path / "o.mp4")
    wav = probe(librivox_clip)
    assert not wav.has_video and wav.audio_streams == 1
    with pytest.raises(InputError, match="has no video stream"):
        check_dub_io(wav, "x.wav", tmp_path / "o.mp4")


def test_probe_refuses_what_is_not_media(tmp_path):
    playlist = tmp_path / "list.mp4"
    playlist.write_text("#EXTM3U\nhttp://example.com/a.ts\n")  # a playlist is never probed
    with pytest.raises(InputError, match="not a supported container"):
        probe(playlist)
    with pytest.raises(InputError, match="not found"):
        probe(tmp_path / "nope.mp4")
    fake = tmp_path / "fake.mkv"
    fake.write_bytes(b"\x1a\x45\xdf\xa3" + b"\0" * 60)
    with pytest.raises(InputError, match="Cannot read"):
        probe(fake)


def test_video_format_by_extension():
    assert video_format("a.MP4") is VIDEO_FORMATS["mp4"]
    assert video_format("a.wav") is None and video_format("-") is None


def test_mux_copies_the_picture_and_tags_tracks(talk_video, tmp_path):
    dub = tmp_path / "dub.wav"
    t = np.arange(3 * 24_000) / 24_000
    sf.write(dub, (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 24_000)
    subs = tmp_path / "s.srt"
    subs.write_text("1\n00:00:00,500 --> 00:00:02,000\nHola mundo\n\n", encoding="utf-8")
    info: MediaInfo = probe(talk_video)
    for ext in ("mp4", "mkv"):
        out = tmp_path / f"out.{ext}"
        vf = VIDEO_FORMATS[ext]
        if vf.subtitle_file == "ass":
            subs_in = tmp_path / "s.ass"
            from voxlate.subtitles import to_ass

            subs_in.write_text(to_ass([(0.5, 2.0, "Hola mundo")]), encoding="utf-8")
        else:
            subs_in = subs
        mux_video(talk_video, info, [Track(dub, "es", "Spanish (dubbed)")], out, vf,
                  original_audio=Track(talk_video, "en", "original"), subtitles=subs_in,
                  subtitle_language="es")  # fmt: skip
        assert picture_md5(out) == picture_md5(talk_video)
        found = streams(out)  # e.g. ['h264,video,und,...', 'aac,audio,spa,Spanish (dubbed)', ...]
        audio = [s for s in found if s.startswith(("aac", "opus"))]
        assert len(audio) == 2, found
        assert "spa" in audio[0] and "dubbed" in audio[0]
        assert "eng" in audio[1] and "original" in audio[1]
        assert any(s.startswith(vf.subtitle_codec) and "spa" in s for s in found), found


@pytest.mark.parametrize("ext,codecs", [("avi", ("mpeg4", "mp3")), ("ts", ("mpeg4", "aac")),
                                        ("flv", ("flv", "aac"))])  # fmt: skip
def test_other_video_containers_are_read(ext, codecs, talk_video, tmp_path):
    from voxlate.audio import load_audio

    p = tmp_path / f"talk.{ext}"
    ffmpeg("-i", talk_video, "-c:v", codecs[0], "-c:a", codecs[1], "-ar", "44100", p)
    info = probe(p)
    assert info.has_video and info.audio_streams == 1
    assert load_audio(p).duration == pytest.approx(3.0, abs=0.2)
    assert check_dub_io(info, p.name, tmp_path / "o.mkv") is VIDEO_FORMATS["mkv"]


def test_webm_from_a_vp9_input_keeps_the_picture_and_carries_webvtt(talk_video, tmp_path):
    src = tmp_path / "talk.webm"
    ffmpeg("-i", talk_video, "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8",
           "-b:v", "200k", "-c:a", "libopus", src)  # fmt: skip
    dub = tmp_path / "dub.wav"
    sf.write(dub, np.zeros(3 * 24_000, np.float32), 24_000)
    subs = tmp_path / "s.vtt"
    subs.write_text("WEBVTT\n\n00:00:00.500 --> 00:00:02.000\nHola mundo\n", encoding="utf-8")
    info = probe(src)
    vf = check_dub_io(info, "talk.webm", tmp_path / "o.webm")
    assert vf is VIDEO_FORMATS["webm"] and info.video_codec == "vp9"
    out = tmp_path / "o.webm"
    mux_video(src, info, [Track(dub, "es", "Spanish (dubbed)")], out, vf, subtitles=subs,
              subtitle_language="es")  # fmt: skip
    assert picture_md5(out) == picture_md5(src)
    found = streams(out)
    assert found[1].startswith("opus,audio,spa") and found[2].startswith("webvtt,subtitle,spa")
