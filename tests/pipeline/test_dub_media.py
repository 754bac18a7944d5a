"""`voxlate translate talk.mp4 -o talk.es.mp4` end to end, on a video made here from real
speech (LibriVox) and real music (Fish Fillets) over a generated picture.

Checks: the picture is bit-identical (stream copy), the music is heard under the Spanish
speech, the subtitle track holds the Spanish text, --keep-original-audio gives two audio
tracks, inputs that cannot be dubbed fail before any model loads, burn re-encodes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from voxlate.audio import load_audio
from voxlate.data.fillets import FILLETS_ROOT

pytestmark = pytest.mark.skipif(
    shutil.which("ffmpeg") is None or shutil.which("apertium") is None,
    reason="ffmpeg and apertium are needed",
)
MUSIC = FILLETS_ROOT / "music" / "rybky01.ogg"
RATE = 16_000
FAST = ("--mt", "apertium", "--tts", "espeak-ng", "--voice", "tts", "--quiet")


def run(*args: str | Path, timeout: float = 60) -> bytes:
    cmd = [str(a) for a in args]
    return subprocess.run(cmd, capture_output=True, check=True, timeout=timeout).stdout


def picture_md5(path: Path) -> bytes:
    return run("ffmpeg", "-v", "error", "-i", path, "-map", "0:v", "-c", "copy", "-f", "md5", "-")


def track(path: Path, index: int) -> np.ndarray:
    """Audio track `index` of `path`, mono at 16 kHz."""
    raw = run("ffmpeg", "-v", "error", "-i", path, "-map", f"0:a:{index}", "-ac", "1", "-ar",
              str(RATE), "-f", "f32le", "-")  # fmt: skip
    return np.frombuffer(raw, dtype="<f4")


def shifted(out: np.ndarray, music: np.ndarray, lag: int) -> tuple[np.ndarray, np.ndarray]:
    n = min(len(out), len(music))
    a, b = out[:n], music[:n]
    return (a[lag:], b[: n - lag]) if lag >= 0 else (a[: n + lag], b[-lag:])


def music_gain(out: np.ndarray, music: np.ndarray) -> float:
    """How much of `music` is in `out`: the least-squares gain <out, music> / <music, music>
    at the best lag within +-50 ms (1: the music at its level; 0: none). The dubbed speech
    does not correlate with the music, so it does not count."""
    return max(
        float(np.dot(x, y) / (np.dot(y, y) + 1e-9))
        for x, y in (shifted(out, music, lag) for lag in range(-800, 801, 10))
    )


def best_lag(out: np.ndarray, music: np.ndarray) -> int:
    return max(range(-800, 801, 10), key=lambda lag: float(np.dot(*shifted(out, music, lag))))


@pytest.fixture(scope="module")
def talk(tmp_path_factory, librivox_clip) -> tuple[Path, np.ndarray, np.ndarray]:
    """(a 7 s mp4: h264 test picture + speech with music under it at about 6 dB SNR, the
    music alone at 16 kHz, the speech span mask)."""
    if not MUSIC.exists():
        pytest.skip("fillets-ng-data is not installed")
    folder = tmp_path_factory.mktemp("dub")
    video = folder / "talk.mp4"
    speech = load_audio(librivox_clip, RATE).samples
    music = load_audio(MUSIC, RATE).samples[RATE : RATE + len(speech)]
    music = music * 0.5 * np.sqrt(np.mean(speech**2) / np.mean(music**2))
    mix = folder / "mix.wav"
    import soundfile as sf

    sf.write(mix, (speech + music).astype(np.float32), RATE)
    run("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-i", mix,
        "-shortest", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a",
        "aac", "-b:a", "96k", video)  # fmt: skip
    return video, music.astype(np.float32), speech


def test_dubbed_mp4_keeps_picture_music_and_has_subtitles(run_cli, talk, tmp_path):
    video, music, _ = talk
    out, rep = tmp_path / "talk.es.mp4", tmp_path / "talk.es.json"
    code, _, err = run_cli(
        "translate", video, "-o", out, "--report", rep, "--keep-original-audio", *FAST
    )
    assert code == 0, err
    assert picture_md5(out) == picture_md5(video)  # stream copy, bit-identical
    kinds = run("ffprobe", "-v", "error", "-show_entries", "stream=codec_type,codec_name:"
                "stream_tags=language", "-of", "csv=p=0", out).decode().split()  # fmt: skip
    assert kinds == ["h264,video,und", "aac,audio,spa", "aac,audio,eng", "mov_text,subtitle,spa"]
    dub = track(out, 0)
    assert len(dub) / RATE == pytest.approx(len(music) / RATE, abs=0.3)
    # The music is heard under the Spanish speech: the dub correlates with the true music.
    assert music_gain(dub, music) > 0.5
    subs = run("ffmpeg", "-v", "error", "-i", out, "-map", "0:s:0", "-f", "srt", "-").decode()
    assert "-->" in subs and "Dashwood" in subs and "entonces" in subs  # the Spanish text
    r = json.loads(rep.read_text())
    assert r["background"] == "keep" and r["timings_s"]["background"] > 0
    assert r["video"]["picture"] == "copied" and r["video"]["audio_tracks"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["talk.es.json", "talk.es.mp4"]


def test_drop_has_no_music_and_video_to_wav_works(run_cli, talk, tmp_path):
    video, music, _ = talk
    out = tmp_path / "talk.es.wav"
    code, _, err = run_cli("translate", video, "-o", out, "--background", "drop", *FAST)
    assert code == 0, err
    dub = load_audio(out, RATE).samples
    assert music_gain(dub, music) < 0.1  # the contrast to the test above


def test_inputs_that_cannot_be_dubbed_fail_before_models(run_cli, librivox_clip, tmp_path):
    silent = tmp_path / "silent.mp4"
    run("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-t", "1",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", silent)  # fmt: skip
    code, _, err = run_cli("translate", silent, "-o", tmp_path / "o.mp4")
    assert code == 1
    assert err.strip().splitlines() == [
        f"error: {silent} has no audio stream; there is no speech to translate."
    ]
    code, _, err = run_cli("translate", librivox_clip, "-o", tmp_path / "o.mp4")
    assert code == 1 and len(err.strip().splitlines()) == 1 and "has no video stream" in err
    code, _, err = run_cli("translate", librivox_clip, "-o", tmp_path / "o.wav",
                           "--keep-original-audio")  # fmt: skip
    assert code == 1 and "needs a video output" in err
    code, _, err = run_cli("translate", librivox_clip, "-o", tmp_path / "o.wav",
                           "--background", "loud")  # fmt: skip
    assert code == 1 and "--background must be" in err
    assert "loading models" not in err and not list(tmp_path.glob("o.*"))


@pytest.mark.slow
def test_burn_reencodes_into_mkv_with_bilingual_ass(run_cli, talk, tmp_path):
    video, _, _ = talk
    out, subs = tmp_path / "talk.es.mkv", tmp_path / "talk.es.ass"
    code, _, err = run_cli(
        "translate", video, "-o", out, "--subtitles", "burn", "--subtitles-file", subs,
        "--subtitle-text", "both", "--mt", "apertium", "--tts", "espeak-ng", "--voice", "tts",
    )  # fmt: skip
    assert code == 0, err
    assert "re-encodes the picture" in err
    assert picture_md5(out) != picture_md5(video)
    kinds = run("ffprobe", "-v", "error", "-show_entries", "stream=codec_type", "-of",
                "csv=p=0", out).decode().split()  # fmt: skip
    assert kinds == ["video", "audio"]  # burnt in: no subtitle track
    text = subs.read_text(encoding="utf-8")
    assert "Dialogue:" in text and "\\N" in text and "Dashwood" in text


def test_write_result_needs_no_engines(talk, tmp_path):
    """`voxlate render`'s path: a FileResult built by hand (no model loaded) is written as a
    video with the background ducked, speaker-labelled bilingual subtitles and the report."""
    from voxlate.audio import Audio
    from voxlate.pipeline.dub_output import DubOptions, write_result
    from voxlate.pipeline.file import FileResult
    from voxlate.pipeline.frames import PlacedSegment

    video, music, _ = talk
    rate = 24_000
    t = np.arange(int(len(music) / RATE * rate)) / rate
    dub = Audio((0.02 * np.sin(2 * np.pi * 300 * t)).astype(np.float32), rate)  # quiet: no bias
    segs = [PlacedSegment(0.5, 3.0, "Hello there.", "Hola.", 0.5, 3.0, "apertium"),
            PlacedSegment(3.5, 6.0, "Bye now.", "Adiós.", 3.6, 6.0, "apertium")]  # fmt: skip
    for s, who in zip(segs, ("anna", "ben")):
        object.__setattr__(s, "speaker", who)  # as diarization adds it
    result = FileResult(dub, segs, {"total": 1.0}, len(music) / RATE, background=Audio(music, RATE))
    rep = {"source_language": "en", "target_language": "es", "segments": []}
    out, report = tmp_path / "talk.es.mkv", tmp_path / "talk.es.json"
    opts = DubOptions(background="duck", subtitle_text="both")
    written = write_result(result, rep, video, out, report, options=opts)
    assert written["background"] == "duck" and written["video"]["subtitle_codec"] == "ass"
    assert picture_md5(out) == picture_md5(video)
    subs = run("ffmpeg", "-v", "error", "-i", out, "-map", "0:s:0", "-f", "ass", "-").decode()
    assert "anna: Hola.\\NHello there." in subs and "ben: Adiós.\\NBye now." in subs
    x, y = shifted(track(out, 0), music, best_lag(track(out, 0), music))

    def gain(a: float, b: float) -> float:  # the music's gain in the output from a to b s
        i, j = int(a * RATE), int(b * RATE)
        return float(np.dot(x[i:j], y[i:j]) / np.dot(y[i:j], y[i:j]))

    assert gain(0.0, 0.4) == pytest.approx(1.0, abs=0.15)  # before the speech: kept
    assert gain(1.0, 2.5) == pytest.approx(10 ** (-12 / 20), abs=0.08)  # under it: -12 dB


def test_render_after_an_edit_re_creates_the_video(run_cli, talk, tmp_path, monkeypatch):
    """`voxlate render talk.es.json -o talk.es.mp4` after editing one line: one segment is
    synthesised again, the picture is still copied, the music is back under the dub and
    the subtitle track says the new line."""
    monkeypatch.setenv("VOXLATE_CACHE", str(tmp_path / "cache"))
    video, music, _ = talk
    out, rep = tmp_path / "talk.es.mp4", tmp_path / "talk.es.json"
    code, _, err = run_cli("translate", video, "-o", out, "--report", rep, *FAST)
    assert code == 0, err
    report = json.loads(rep.read_text(encoding="utf-8"))
    report["segments"][0]["translation"] = "Una línea nueva, editada a mano."
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
    again = tmp_path / "again.mp4"
    code, _, err = run_cli("render", edited, "-o", again)
    assert code == 0, err
    assert f"{len(report['segments'])} segment(s), 1 synthesised again" in err
    assert picture_md5(again) == picture_md5(video)
    assert music_gain(track(again, 0), music) > 0.5  # the report's background mode: keep
    subs = run("ffmpeg", "-v", "error", "-i", again, "-map", "0:s:0", "-f", "srt", "-").decode()
    assert "editada a mano" in subs


@pytest.mark.slow
def test_two_speaker_video_with_music_dubs_in_two_voices(run_cli, librivox, cards, tmp_path):
    """The issue's 'done when': a two-speaker video with music, made from real clips, dubs
    (file defaults: Kokoro, each speaker's fitted voice) to a video whose picture is
    bit-identical, with the music under the Spanish speech, two speakers in two different
    voices and speaker-labelled subtitles embedded."""
    import soundfile as sf

    from voxlate.audio import Audio
    from voxlate.engines.voice import ENCODERS

    if not MUSIC.exists():
        pytest.skip("fillets-ng-data is not installed")
    pause = np.zeros(int(1.0 * RATE), dtype=np.float32)
    parts = [pause]
    for path in (librivox[1][0], cards[0][0], librivox[4][0], cards[2][0]):
        parts += [load_audio(path, RATE).samples, pause]
    speech = np.concatenate(parts)
    music = load_audio(MUSIC, RATE).samples[RATE : RATE + len(speech)]
    music = (music * 0.3 * np.sqrt(np.mean(speech**2) / np.mean(music**2))).astype(np.float32)
    sf.write(tmp_path / "mix.wav", speech + music, RATE)
    video = tmp_path / "two.mp4"
    run("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-i",
        tmp_path / "mix.wav", "-shortest", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt",
        "yuv420p", "-c:a", "aac", "-b:a", "96k", video)  # fmt: skip
    out, rep = tmp_path / "two.es.mp4", tmp_path / "two.es.json"
    code, _, err = run_cli(
        "translate", video, "-o", out, "--report", rep, "--speakers", "2", "--mt", "apertium", "-q"
    )
    assert code == 0, err
    assert picture_md5(out) == picture_md5(video)
    dub = track(out, 0)
    assert music_gain(dub, music) > 0.5
    r = json.loads(rep.read_text(encoding="utf-8"))
    assert [s["speaker"] for s in r["segments"]] == ["S1", "S2", "S1", "S2"]
    enc = ENCODERS.create("resemblyzer")
    e = [enc.embed(Audio(dub, RATE).slice(s["output_start"], s["output_end"]))
         for s in r["segments"]]  # fmt: skip
    same = min(float(e[0] @ e[2]), float(e[1] @ e[3]))
    other = max(float(e[0] @ e[1]), float(e[2] @ e[3]), float(e[0] @ e[3]), float(e[1] @ e[2]))
    assert same > other, (same, other)
    subs = run("ffmpeg", "-v", "error", "-i", out, "-map", "0:s:0", "-f", "srt", "-").decode()
    assert "S1: " in subs and "S2: " in subs
