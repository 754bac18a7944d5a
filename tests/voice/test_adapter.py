"""The WORLD adapter: F0 and formants move as asked, duration is kept."""

from __future__ import annotations

import numpy as np

from voxlate.audio import Audio
from voxlate.engines.voice import ADAPTERS, VoiceAdapter
from voxlate.engines.voice.world import VoiceParams, WorldAdapter, analyze


def _median_f0(audio: Audio) -> float:
    f0 = analyze(audio).f0
    return float(np.median(f0[f0 > 0]))


def test_registered_and_protocol():
    adapter = ADAPTERS.create("world")
    assert isinstance(adapter, VoiceAdapter)


def test_f0_moves_in_the_intended_direction_and_duration_is_kept(joe_speech):
    adapter = WorldAdapter()
    f0 = _median_f0(joe_speech)
    up = adapter.convert(joe_speech, VoiceParams(f0_mean=float(np.log(f0 * 1.5))))
    down = adapter.convert(joe_speech, VoiceParams(f0_shift=-5.0))
    assert up.sample_rate == joe_speech.sample_rate
    assert len(up.samples) == len(joe_speech.samples) == len(down.samples)
    assert _median_f0(up) > f0 * 1.3
    assert _median_f0(down) < f0 * 0.85
    assert np.max(np.abs(up.samples)) <= 1.0


def test_rate_changes_duration(joe_speech):
    fast = WorldAdapter().convert(joe_speech, VoiceParams(rate=1.25))
    assert abs(fast.duration - joe_speech.duration / 1.25) < 0.05


def test_fit_towards_a_real_speaker_raises_similarity(encoder, joe_speech, librivox):
    from voxlate.audio import load_audio

    target = load_audio(librivox[0][0])
    adapter = WorldAdapter(encoder, search=False)
    params = adapter.fit(joe_speech, target)
    assert abs(np.exp(params.f0_mean) - _median_f0(target)) < 25.0  # Hz
    emb = encoder.embed(target)
    before = float(encoder.embed(joe_speech) @ emb)
    after = float(encoder.embed(adapter.convert(joe_speech, params)) @ emb)
    assert after > before + 0.05
