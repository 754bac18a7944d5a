"""The GE2E features without librosa (issue 16: a 30-43 s numba compile on the first run)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from voxlate.audio import load_audio
from voxlate.engines.voice.melspec import hz_to_mel, mel_power_spectrogram, mel_to_hz


def test_mel_scale_round_trip_and_knee():
    f = np.array([0.0, 500.0, 1000.0, 4000.0, 8000.0])
    assert np.allclose(mel_to_hz(hz_to_mel(f)), f)
    assert hz_to_mel(np.array(1000.0)) == pytest.approx(15.0)  # 1 kHz = 15 mel (Slaney)


def test_pure_tone_lands_in_the_right_band(librivox_clip):
    t = np.arange(16_000) / 16_000
    mel = mel_power_spectrogram(np.sin(2 * np.pi * 440 * t), 16_000, 400, 160, 40)
    assert mel.shape == (40, 101)
    band = int(np.argmax(mel[:, 50]))
    centres = mel_to_hz(np.linspace(0, hz_to_mel(8000.0), 42))[1:-1]
    assert abs(centres[band] - 440) < 80


@pytest.mark.slow  # librosa's numba kernels compile on a fresh install (~30 s)
def test_equals_librosa_and_resemblyzer(librivox_clip):
    librosa = pytest.importorskip("librosa")
    x = load_audio(librivox_clip, 16_000).samples
    ref = librosa.feature.melspectrogram(y=x, sr=16_000, n_fft=400, hop_length=160, n_mels=40)
    got = mel_power_spectrogram(x, 16_000, 400, 160, 40)
    assert got.shape == ref.shape
    assert np.abs(got - ref).max() <= 1e-5 * np.abs(ref).max()

    from resemblyzer import preprocess_wav

    from voxlate.engines.voice import ENCODERS
    from voxlate.engines.voice.resemblyzer import _load_model

    ours = ENCODERS.create("resemblyzer").embed(load_audio(librivox_clip))
    theirs = _load_model().embed_utterance(preprocess_wav(x, source_sr=16_000))
    assert float(ours @ theirs) > 0.9999


def test_speaker_embedding_compiles_nothing(librivox_clip, tmp_path):
    """Embedding a voice triggers no numba compilation (nothing lands in the numba cache)."""
    pytest.importorskip("resemblyzer")
    cache = tmp_path / "numba"
    code = (
        "from voxlate.audio import load_audio; from voxlate.engines.voice import ENCODERS; "
        f"e = ENCODERS.create('resemblyzer').embed(load_audio({str(librivox_clip)!r})); "
        "assert e.shape == (256,)"
    )
    env = dict(
        os.environ,
        NUMBA_CACHE_DIR=str(cache),
        PYTHONPATH=str(Path(__file__).parents[2] / "src"),
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=300)
    assert not cache.exists() or not any(cache.rglob("*.nbi"))
