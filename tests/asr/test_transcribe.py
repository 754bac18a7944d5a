import json

import numpy as np
import pytest

from voxlate.audio import Audio, concatenate, load_audio, save_audio
from voxlate.engines.asr import Transcript
from voxlate.errors import NoSpeechError, UnsupportedLanguageError
from voxlate.transcription import WindowConfig, transcribe_long, window_bounds


class FakeRecognizer:
    """Says 'x' once per call, over the whole window it got."""

    languages = None

    def __init__(self) -> None:
        self.calls: list[float] = []

    def transcribe(self, audio: Audio, language: str | None = None) -> Transcript:
        self.calls.append(audio.duration)
        return Transcript("x", language or "en", ((0.1, audio.duration - 0.1, "x"),))


def _long(librivox) -> Audio:
    parts = []
    for p, _ in librivox * 2:
        parts += [load_audio(p, 16000), Audio.silence(0.6, 16000)]
    return concatenate(parts, 16000)


@pytest.mark.parametrize("vad", ["silero", ""])
def test_long_audio_windows_cut_in_pauses(librivox, vad):
    audio = _long(librivox)
    cfg = WindowConfig(max_window_s=20.0, search_s=8.0, vad=vad)
    bounds = window_bounds(audio, cfg)
    assert bounds[0][0] == 0 and bounds[-1][1] == pytest.approx(audio.duration)
    assert all(b - a <= 20.0 + 1e-6 for a, b in bounds) and len(bounds) >= audio.duration / 20
    for _, cut in bounds[:-1]:  # each cut lands in a quiet stretch
        x = audio.slice(cut - 0.05, cut + 0.05).samples
        assert np.sqrt(np.mean(x**2)) < 0.02
    rec = FakeRecognizer()
    done = []
    t = transcribe_long(rec, audio, "en", cfg, progress=lambda d, n: done.append(d))
    assert len(rec.calls) == len(bounds) and done[-1] == pytest.approx(audio.duration)
    assert [s[0] for s in t.segments] == pytest.approx([a + 0.1 for a, _ in bounds])


def test_silence_is_no_speech():
    with pytest.raises(NoSpeechError):
        transcribe_long(FakeRecognizer(), Audio.silence(2.0, 16000), "en")


def test_transcribe_cli_english(librivox, tmp_path, cli):
    from voxlate.metrics import wer
    from voxlate.text import normalize_text

    clip, ref = librivox[0]
    out, srt, js = tmp_path / "o.txt", tmp_path / "o.srt", tmp_path / "o.json"
    code, _, err = cli(
        ["transcribe", clip, "--language", "en", "-o", out, "--srt", srt, "--json", js, "-q"]
    )
    assert code == 0, err
    text = out.read_text().strip()
    assert wer([normalize_text(ref)], [normalize_text(text)]) < 0.3
    assert srt.read_text().startswith("1\n00:00:0")
    report = json.loads(js.read_text())
    assert report["engine"] == "faster-whisper:tiny.en" and report["segments"][0]["start"] >= 0
    assert report["text"] == text


def test_transcribe_cli_prints_text_for_long_file(librivox, tmp_path, cli):
    long = tmp_path / "long.wav"
    save_audio(long, _long(librivox[:2]))  # ~30 s: cut into two windows
    code, out, err = cli(["transcribe", long, "-l", "en", "--window", "20"])
    assert code == 0, err
    assert "dashwood" in out.lower() and "transcribing" in err


def test_transcribe_cli_errors(librivox, tmp_path, cli):
    clip = librivox[0][0]
    code, _, err = cli(["transcribe", tmp_path / "missing.wav", "-l", "en"])
    assert code == 1 and "not found" in err and "Traceback" not in err
    code, _, err = cli(["transcribe", clip, "-l", "xx"])
    assert code == 1 and "No embedded speech recognizer for 'xx'" in err
    code, _, err = cli(["transcribe", clip, "-l", "ko", "--asr", "faster-whisper"])
    assert code == 1 and "handles en, not 'ko'" in err
    code, _, err = cli(["transcribe", clip, "-l", "en", "--asr", "nosuch"])
    assert code == 1 and "Unknown asr engine" in err
    silent = tmp_path / "silent.wav"
    save_audio(silent, Audio.silence(1.0, 16000))
    code, _, err = cli(["transcribe", silent, "-l", "en"])
    assert code == 3 and "no speech" in err
    with pytest.raises(UnsupportedLanguageError):
        from voxlate.cli.transcribe import choose_recognizer_spec

        choose_recognizer_spec("xx", None)
    assert choose_recognizer_spec("ko", None) == "faster-whisper:base"  # beat Vosk (docs/asr.md)
    assert choose_recognizer_spec("de", None) == choose_recognizer_spec(None, None)
    assert choose_recognizer_spec(None, None) == "faster-whisper:base"
