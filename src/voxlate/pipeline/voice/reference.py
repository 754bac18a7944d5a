"""Reference voice clips: loading and checking a sample of the voice to speak in."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from voxlate.audio import SAMPLE_RATE, Audio, load_audio
from voxlate.errors import InputError, VoxlateError

MIN_SPEECH_S = 1.0  # seconds of speech a reference clip must hold
SILENCE_PEAK = 1e-3  # a clip whose peak is below this (full scale 1.0) is silent


class ReferenceVoiceError(InputError):
    """A reference voice clip cannot be used (unreadable, silent or too short)."""


class SilentReferenceError(ReferenceVoiceError):
    """The reference voice clip holds no speech."""


class ShortReferenceError(ReferenceVoiceError):
    """The reference voice clip holds less than MIN_SPEECH_S of speech."""


def speech_seconds(audio: Audio) -> float:
    """Seconds of speech in `audio` by the Silero VAD (energy VAD if Silero is missing)."""
    from voxlate.engines.vad import REGISTRY, frame_probabilities

    try:
        vad = REGISTRY.create("silero")
    except (ImportError, VoxlateError):
        vad = REGISTRY.create("energy")
    probs = frame_probabilities(vad, audio)
    return float((probs > 0.5).sum()) * vad.frame_size / vad.sample_rate


def load_reference(path: str | os.PathLike) -> Audio:
    """Load a reference voice clip and check it holds at least 1 s of speech.

    Returns the clip as mono audio at its own rate (at least 16 kHz).
    Raises ReferenceVoiceError (or a subclass) with one sentence when the file is
    missing or unreadable, silent, or too short.
    """
    p = Path(path)
    try:
        audio = load_audio(p)
    except VoxlateError as e:
        raise ReferenceVoiceError(f"Cannot use {p} as a reference voice: {e}") from e
    if audio.sample_rate < SAMPLE_RATE:
        audio = audio.resample(SAMPLE_RATE)
    if len(audio.samples) == 0 or float(np.max(np.abs(audio.samples))) < SILENCE_PEAK:
        raise SilentReferenceError(
            f"The reference voice clip {p} is silent; give a recording of the voice speaking."
        )
    speech = speech_seconds(audio)
    if speech == 0.0:
        raise SilentReferenceError(
            f"The reference voice clip {p} holds no speech; give a recording of the voice speaking."
        )
    if speech < MIN_SPEECH_S:
        raise ShortReferenceError(
            f"The reference voice clip {p} holds only {speech:.1f} s of speech; "
            f"give at least {MIN_SPEECH_S:.0f} s (5-10 s works best)."
        )
    return audio
