"""Placing translated speech on the output timeline without overlaps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from voxlate.audio import Audio
from voxlate.dsp import time_stretch


@dataclass(frozen=True)
class TimelineConfig:
    max_speedup: float = 1.25  # the most a clip is compressed to fit before its next one (x)
    gap_s: float = 0.1  # least silence kept between consecutive clips (s)


def place(
    starts: Sequence[float],
    clips: Sequence[Audio | None],
    next_starts: Sequence[float | None],
    sample_rate: int,
    config: TimelineConfig = TimelineConfig(),
) -> tuple[list[tuple[float, float]], list[Audio | None]]:
    """Choose where each clip plays: at its source start, compressed or shifted so none overlap.

    A clip longer than the time until the next source utterance is sped up by up to
    `max_speedup`; what still does not fit pushes later clips back. Returns the
    (output_start, output_end) of each clip in seconds and the clips as placed.
    """
    placed: list[tuple[float, float]] = []
    out: list[Audio | None] = []
    cursor = 0.0
    for start, clip, nxt in zip(starts, clips, next_starts):
        t0 = max(start, cursor)
        if clip is None or len(clip.samples) == 0:
            placed.append((t0, t0))
            out.append(None)
            continue
        clip = clip.resample(sample_rate)
        if nxt is not None:
            room = nxt - config.gap_s - t0
            if room > 0 and clip.duration > room:
                rate = min(config.max_speedup, clip.duration / room)
                clip = time_stretch(clip, rate)
        t1 = t0 + clip.duration
        placed.append((round(t0, 3), round(t1, 3)))
        out.append(clip)
        cursor = t1 + config.gap_s
    return placed, out


def render(
    placed: Sequence[tuple[float, float]],
    clips: Sequence[Audio | None],
    duration: float,
    sample_rate: int,
) -> Audio:
    """Mix the placed clips into one track at least `duration` seconds long."""
    end = max([duration] + [b for _, b in placed])
    y = np.zeros(int(np.ceil(end * sample_rate)) + 1, dtype=np.float32)
    for (a, _), clip in zip(placed, clips):
        if clip is None:
            continue
        i = int(round(a * sample_rate))
        y[i : i + len(clip.samples)] += clip.samples[: len(y) - i]
    return Audio(np.clip(y, -1.0, 1.0), sample_rate)
