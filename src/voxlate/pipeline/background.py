"""The background of a recording (music, ambience, effects) and mixing it under the dub.

The estimate uses what ships: the enhancer separates speech from the rest, so the
background is the source minus the enhanced speech, taken on the whole signal (not only
the utterances), at the source's rate. `mix_background` puts it under the dubbed track:
`keep` at its level, `duck` lowered by `DUCK_DB` where dubbed speech plays (ramps of
`DUCK_RAMP_S`), `drop` not at all.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from voxlate.audio import Audio
from voxlate.engines.enhance.base import Enhancer

BACKGROUND_RATE = 48_000  # Hz; the source is read at this rate when its background is kept
BackgroundMode = Literal["keep", "duck", "drop"]
BACKGROUND_MODES: tuple[BackgroundMode, ...] = ("keep", "duck", "drop")
DUCK_DB = -12.0  # dB: the background's level under dubbed speech with 'duck'
DUCK_RAMP_S = 0.1  # s: how long the ducking takes to go down and back up
PEAK_LIMIT = 0.99  # a mix louder than this is scaled down as a whole (no clipping)


def check_background_mode(mode: str) -> BackgroundMode:
    """`mode` if it is keep, duck or drop; ValueError otherwise."""
    if mode not in BACKGROUND_MODES:
        raise ValueError(f"background must be one of {BACKGROUND_MODES}, not {mode!r}")
    return mode  # type: ignore[return-value]


def estimate_background(audio: Audio, enhancer: Enhancer) -> Audio:
    """`audio` minus `enhancer`'s speech estimate, at `audio`'s rate and length."""
    speech = enhancer.enhance(audio)
    s = speech.resample(audio.sample_rate).samples
    n = len(audio.samples)
    if len(s) < n:
        s = np.pad(s, (0, n - len(s)))
    return Audio((audio.samples - s[:n]).astype(np.float32), audio.sample_rate)


def speech_mask(spans: list[tuple[float, float]], n: int, rate: int) -> np.ndarray:
    """1.0 inside the (start s, end s) spans, 0.0 elsewhere, over `n` samples."""
    mask = np.zeros(n, dtype=np.float32)
    for a, b in spans:
        i, j = max(0, int(a * rate)), min(n, int(np.ceil(b * rate)))
        if j > i:
            mask[i:j] = 1.0
    return mask


def smooth(x: np.ndarray, width: int) -> np.ndarray:
    """A centred moving average of `width` samples (linear ramps at a step; the ends are
    held, not faded)."""
    if width <= 1 or len(x) == 0:
        return x
    padded = np.pad(x.astype(np.float64), (width // 2, width - width // 2 - 1), mode="edge")
    c = np.concatenate([[0.0], np.cumsum(padded)])
    return (c[width:] - c[:-width]).astype(np.float32) / width


def duck_gain(
    spans: list[tuple[float, float]], n: int, rate: int, depth_db: float = DUCK_DB
) -> np.ndarray:
    """The background's gain per sample: `depth_db` under the spans, 1 elsewhere, with ramps."""
    ramp = max(1, int(DUCK_RAMP_S * rate))
    mask = np.clip(smooth(speech_mask(spans, n, rate), ramp), 0.0, 1.0)
    low = 10 ** (depth_db / 20)
    return (1.0 - mask * (1.0 - low)).astype(np.float32)


def mix_background(
    dub: Audio,
    background: Audio | None,
    mode: BackgroundMode,
    speech_spans: list[tuple[float, float]] = (),  # type: ignore[assignment]
) -> Audio:
    """The dubbed track with `background` under it (at the dub's rate, the longer length).

    speech_spans: where the dubbed speech plays (output seconds), for `duck`.
    """
    mode = check_background_mode(mode)
    if background is None or mode == "drop" or len(background.samples) == 0:
        return dub
    bg = background.resample(dub.sample_rate).samples
    n = max(len(dub.samples), len(bg))
    out = np.zeros(n, dtype=np.float32)
    out[: len(dub.samples)] += dub.samples
    if mode == "duck":
        bg = bg * duck_gain(list(speech_spans), len(bg), dub.sample_rate)
    out[: len(bg)] += bg
    peak = float(np.abs(out).max()) if n else 0.0
    if peak > PEAK_LIMIT:
        out *= PEAK_LIMIT / peak
    return Audio(out, dub.sample_rate)
