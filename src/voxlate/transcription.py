"""Transcribing files of any length with any `Recognizer`.

Long audio is cut into windows of at most `max_window_s`; each cut is placed at
the frame with the lowest VAD speech probability in the window's last
`search_s` seconds, so words are rarely split. Segment times are shifted back to
the file's timeline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from voxlate.audio import Audio
from voxlate.engines.asr.base import Recognizer, Transcript
from voxlate.errors import NoSpeechError


@dataclass(frozen=True)
class WindowConfig:
    max_window_s: float = 28.0  # longest piece given to the recognizer (Whisper sees 30 s)
    search_s: float = 8.0  # the cut is searched in the last this-many seconds of a window
    vad: str = (
        "silero"  # VAD engine spec used to place cuts; "" cuts at the quietest 32 ms by energy
    )
    silence_rms: float = 1e-4  # a file whose RMS is below this holds no speech


def _frame_scores(audio: Audio, vad_spec: str) -> tuple[np.ndarray, float]:
    """Per-frame 'speechiness' (lower = better place to cut) and the frame length in seconds."""
    if vad_spec:
        from voxlate.engines.vad import REGISTRY, frame_probabilities

        vad = REGISTRY.create(vad_spec)
        return frame_probabilities(vad, audio), vad.frame_size / vad.sample_rate
    frame = int(0.032 * audio.sample_rate)
    n = len(audio.samples) // frame
    x = audio.samples[: n * frame].reshape(n, frame)
    return np.sqrt((x**2).mean(axis=1)), frame / audio.sample_rate


def window_bounds(audio: Audio, cfg: WindowConfig = WindowConfig()) -> list[tuple[float, float]]:
    """(start s, end s) windows covering `audio`, each at most `max_window_s` long."""
    total = audio.duration
    if total <= cfg.max_window_s:
        return [(0.0, total)]
    scores, frame_s = _frame_scores(audio, cfg.vad)
    bounds, start = [], 0.0
    while total - start > cfg.max_window_s:
        lo = int((start + cfg.max_window_s - cfg.search_s) / frame_s)
        hi = min(len(scores), int((start + cfg.max_window_s) / frame_s))
        cut = (
            (lo + int(np.argmin(scores[lo:hi]))) * frame_s + frame_s / 2
            if hi > lo
            else start + cfg.max_window_s
        )
        bounds.append((start, cut))
        start = cut
    bounds.append((start, total))
    return bounds


def transcribe_long(
    recognizer: Recognizer,
    audio: Audio,
    language: str | None,
    cfg: WindowConfig = WindowConfig(),
    progress: Callable[[float, float], None] | None = None,
) -> Transcript:
    """Transcribe `audio` window by window; `progress(done_s, total_s)` is called after each
    window with the seconds of audio transcribed so far and in all.

    Raises NoSpeechError for silent audio.
    """
    if len(audio.samples) == 0 or float(np.sqrt(np.mean(audio.samples**2))) < cfg.silence_rms:
        raise NoSpeechError("The input holds no speech (it is silent).")
    bounds = window_bounds(audio, cfg)
    segments: list[tuple[float, float, str]] = []
    lang = language
    for a, b in bounds:
        t = recognizer.transcribe(audio.slice(a, b), lang)
        lang = lang or t.language or None  # detected once, on the first window
        segs = t.segments or ((0.0, b - a, t.text),)
        segments += [(a + s, min(b, a + e), txt.strip()) for s, e, txt in segs if txt.strip()]
        if progress is not None:
            progress(b, audio.duration)
    return Transcript(
        text=" ".join(s[2] for s in segments), language=lang or "", segments=tuple(segments)
    )
