"""Decoding is the one door for audio: allow-listed containers, capped, finite (issue 15)."""

from __future__ import annotations

import time

import numpy as np
import pytest
import soundfile as sf

from voxlate.audio import load_audio
from voxlate.audio_decode import sniff_format
from voxlate.errors import InputError


def test_hls_playlist_named_wav_is_refused(hls_playlist, secret_mp3):
    assert load_audio(secret_mp3, 16_000).duration > 2  # the secret itself is readable audio
    with pytest.raises(InputError, match="not a supported audio format"):
        load_audio(hls_playlist, 16_000)


@pytest.mark.parametrize(
    "text",
    [
        "ffconcat version 1.0\nfile '{secret}'\n",
        "#EXTM3U\n{secret}\n",
        "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nm=audio 5004 RTP/AVP 0\n",
    ],
)
def test_text_containers_are_refused(tmp_path, secret_mp3, text):
    p = tmp_path / "list.mp3"
    p.write_text(text.format(secret=secret_mp3))
    with pytest.raises(InputError):
        load_audio(p)


def test_flac_bomb_refused_from_its_header(flac_bomb):
    t0 = time.perf_counter()
    with pytest.raises(InputError, match="longer than the limit of 30 minutes"):
        load_audio(flac_bomb, 16_000, max_seconds=30 * 60)
    assert time.perf_counter() - t0 < 1.0


def test_duration_cap_checked_while_decoding(hidden_length_flac, long_webm):
    assert sf.info(str(hidden_length_flac)).frames > 2**62  # length unknown: ffmpeg decodes
    for path in (hidden_length_flac, long_webm):
        with pytest.raises(InputError, match="longer than the limit of 1 minutes"):
            load_audio(path, 16_000, max_seconds=60)
        assert load_audio(path, 16_000, max_seconds=200).duration == pytest.approx(180, abs=0.1)


def test_non_finite_samples_are_refused(nan_wav, tmp_path):
    with pytest.raises(InputError, match="NaN or infinite"):
        load_audio(nan_wav)
    x = np.zeros(16_000, np.float32)
    x[100] = np.inf
    inf = tmp_path / "inf.wav"
    sf.write(inf, x, 16_000, subtype="FLOAT")
    with pytest.raises(InputError, match="NaN or infinite"):
        load_audio(inf, 16_000)


def test_error_names_the_file_as_told(nan_wav):
    with pytest.raises(InputError) as e:
        load_audio(nan_wav, name="the uploaded file")
    assert str(nan_wav) not in str(e.value) and "the uploaded file" in str(e.value)


def test_allowed_containers_still_decode(tmp_path, librivox):
    import subprocess

    src = librivox[1][0]
    ref = load_audio(src, 16_000)
    for ext in ("mp3", "m4a", "webm", "ogg", "flac", "aiff"):
        out = tmp_path / f"clip.{ext}"
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(src), str(out)], check=True)
        a = load_audio(out, 16_000)
        assert a.sample_rate == 16_000
        assert a.duration == pytest.approx(ref.duration, abs=0.1), ext
        assert np.abs(a.samples).max() > 0.05, ext


def test_sniffer_knows_only_audio_containers():
    assert sniff_format(b"RIFF\0\0\0\0WAVEfmt ") == "wav"
    assert sniff_format(b"\0\0\0\x1cftypM4A ") == "mov"
    assert sniff_format(b"ID3\x04") == "mp3"
    for text in (b"#EXTM3U", b"ffconcat version 1.0", b"<?xml", b"\x89PNG\r\n", b"GIF89a"):
        assert sniff_format(text) is None


def test_cli_translate_refuses_nan_input_before_loading_models(run_cli, nan_wav, tmp_path):
    out = tmp_path / "out.wav"
    code, _, err = run_cli("translate", str(nan_wav), "-t", "es", "-o", str(out))
    assert code != 0 and "NaN or infinite" in err and "Traceback" not in err
    assert not out.exists()  # before: exit 0 with a silent file
