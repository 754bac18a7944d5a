"""Shared engines for the voice tests: one Resemblyzer encoder and Piper joe per session."""

from __future__ import annotations

import numpy as np
import pytest

from voxlate.audio import Audio


@pytest.fixture(scope="session")
def encoder():
    pytest.importorskip("resemblyzer")
    from voxlate.engines.voice import ENCODERS

    return ENCODERS.create("resemblyzer")


@pytest.fixture(scope="session")
def synth():
    """English text -> Piper joe speech (22.05 kHz)."""
    piper = pytest.importorskip("piper")
    from voxlate.engines.tts.piper import embedded_voice_path

    joe = piper.PiperVoice.load(str(embedded_voice_path()))
    # No sampling noise: the same text gives the same audio, so similarity margins are stable.
    still = piper.SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)

    def speak(text: str) -> Audio:
        return Audio(
            np.concatenate([c.audio_float_array for c in joe.synthesize(text, syn_config=still)]),
            joe.config.sample_rate,
        )

    return speak


@pytest.fixture(scope="session")
def joe_speech(synth) -> Audio:
    return synth("he was not an ill disposed young man")
