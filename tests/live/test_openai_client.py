"""The official `openai` Python client against `voxlate serve`'s app on a local port (issue 16)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from voxlate.audio import load_audio

from .conftest import VOICE, serving

openai = pytest.importorskip("openai")


@pytest.fixture(scope="module")
def client(pool):
    from voxlate.server.app import create_app
    from voxlate.server.config import ServerConfig

    app = create_app(ServerConfig(voice=VOICE, preload=(), token="k"), pool)
    with serving(app) as url:
        yield openai.OpenAI(base_url=f"{url}/v1", api_key="k", max_retries=0)


def test_models_list(client):
    ids = [m.id for m in client.models.list()]
    assert "whisper-1" in ids and "tts-1" in ids


def test_transcription_formats(client, short_clip):
    def run(fmt, **kw):
        with open(short_clip, "rb") as f:
            return client.audio.transcriptions.create(
                model="whisper-1", file=f, response_format=fmt, language="en", **kw
            )

    assert "young man" in run("json").text.lower()
    assert "young man" in run("text").lower()
    srt = run("srt")
    assert srt.startswith("1\n00:00:0") and "-->" in srt and "young man" in srt.lower()
    vtt = run("vtt")
    assert vtt.startswith("WEBVTT") and "00:00:00.000 -->" in vtt
    verbose = run("verbose_json")
    assert verbose.segments and verbose.segments[0].end > verbose.segments[0].start
    assert verbose.language == "en" and abs(verbose.duration - 2.99) < 0.05
    events = list(run("json", stream=True))
    assert events[0].type == "transcript.text.delta"
    assert events[-1].type == "transcript.text.done" and "young man" in events[-1].text.lower()


def test_translation_to_english(client, short_clip):
    with open(short_clip, "rb") as f:
        r = client.audio.translations.create(model="whisper-1", file=f, response_format="srt")
    assert "young man" in r.lower()


@pytest.mark.parametrize("fmt", ["mp3", "opus", "aac", "flac", "wav", "pcm"])
def test_speech_formats(client, tmp_path, fmt):
    r = client.audio.speech.create(
        model="tts-1", voice="alloy", input="Good morning, how are you?", response_format=fmt
    )
    data = r.read()
    if fmt == "pcm":  # 16-bit little-endian at 24 kHz, as OpenAI's
        x = np.frombuffer(data, "<i2").astype(np.float32) / 32768
        duration = len(x) / 24_000
    else:
        path = tmp_path / f"speech.{fmt}"
        path.write_bytes(data)
        a = load_audio(path)
        x, duration = a.samples, a.duration
        if fmt in ("wav", "flac"):
            assert sf.info(io.BytesIO(data)).samplerate == 24_000
    assert 0.8 < duration < 4 and np.abs(x).max() > 0.05


def test_speech_default_is_mp3_and_speed_and_voice_work(client):
    normal = client.audio.speech.create(model="tts-1", voice="alloy", input="One two three four.")
    assert normal.read()[:3] in (b"ID3", b"\xff\xfb", b"\xff\xf3")
    kw = {"model": "tts-1", "input": "One two three four.", "response_format": "pcm"}
    slow = len(client.audio.speech.create(voice="espeak-ng", **kw).read())
    fast = len(client.audio.speech.create(voice="espeak-ng", speed=2.0, **kw).read())
    assert 0.4 < fast / slow < 0.65
    piper = len(client.audio.speech.create(voice="piper", **kw).read())
    assert piper > 0
    with pytest.raises(openai.BadRequestError):
        client.audio.speech.create(voice="/etc/passwd", **kw)
