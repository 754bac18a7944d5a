"""Speaker encoder contract, on real speech."""

from __future__ import annotations

import numpy as np

from voxlate.audio import load_audio
from voxlate.engines.voice import ENCODERS, SpeakerEncoder


def test_registry_names_resemblyzer():
    assert "resemblyzer" in ENCODERS.names()


def test_contract_shape_norm(encoder, librivox_clip):
    assert isinstance(encoder, SpeakerEncoder)
    e = encoder.embed(load_audio(librivox_clip))
    assert e.shape == (encoder.dim,) == (256,)
    assert e.dtype == np.float32
    assert abs(float(np.linalg.norm(e)) - 1.0) < 1e-4


def test_same_speaker_beats_different_speaker(encoder, librivox, cards):
    a, b = (encoder.embed(load_audio(p)) for p, _ in librivox[:2])
    c = encoder.embed(load_audio(cards[4][0]))
    assert float(a @ b) > float(a @ c) + 0.05
    assert float(a @ b) > 0.75


def test_any_rate_and_very_short_clip(encoder, czech_clips):
    audio = load_audio(czech_clips[0])  # 22.05 kHz stereo ogg -> mono
    assert encoder.embed(audio).shape == (256,)
    short = audio.slice(0, 0.1)
    assert np.isfinite(encoder.embed(short)).all()
