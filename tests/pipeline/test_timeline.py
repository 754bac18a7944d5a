"""Placing translated clips: no overlaps, compression bounded, order kept."""

from __future__ import annotations

import numpy as np
import pytest

from voxlate.audio import Audio, load_audio
from voxlate.dsp import time_stretch
from voxlate.pipeline.timeline import TimelineConfig, place, render

SR = 16_000


def tone(seconds: float) -> Audio:
    t = np.arange(int(seconds * SR)) / SR
    return Audio((0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), SR)


def test_clips_that_fit_start_at_their_source_time():
    placed, _ = place([0.5, 3.0], [tone(1.0), tone(1.0)], [3.0, None], SR)
    assert placed == [(0.5, 1.5), (3.0, 4.0)]


def test_long_clip_is_compressed_then_later_ones_shifted():
    cfg = TimelineConfig(max_speedup=1.25, gap_s=0.1)
    placed, clips = place(
        [0.0, 2.0, 2.5], [tone(3.0), tone(1.0), tone(1.0)], [2.0, 2.5, None], SR, cfg
    )
    assert clips[0].duration == pytest.approx(3.0 / 1.25, abs=0.02)
    for (_, a1), (b0, _) in zip(placed, placed[1:]):
        assert b0 >= a1 + cfg.gap_s - 1e-6  # no overlap
    assert placed[1][0] > 2.0  # shifted


def test_empty_clip_is_kept_in_place():
    placed, clips = place([1.0], [None], [None], SR)
    assert placed == [(1.0, 1.0)] and clips == [None]


def test_render_length_covers_input_and_output():
    placed, clips = place([0.0], [tone(2.0)], [None], SR)
    assert render(placed, clips, 5.0, SR).duration == pytest.approx(5.0, abs=0.01)
    assert render(placed, clips, 1.0, SR).duration == pytest.approx(2.0, abs=0.01)


def test_time_stretch_keeps_pitch(librivox_clip):
    a = load_audio(librivox_clip)
    b = time_stretch(a, 1.25)
    assert b.duration == pytest.approx(a.duration / 1.25, rel=0.01)

    # Pitch kept: the spectral centroid barely moves (resampling would raise it 25 %).
    def centroid(x: np.ndarray) -> float:
        mag = np.abs(np.fft.rfft(x))
        f = np.fft.rfftfreq(len(x), 1 / SR)
        return float((mag * f).sum() / mag.sum())

    assert centroid(b.samples) == pytest.approx(centroid(a.samples), rel=0.08)
