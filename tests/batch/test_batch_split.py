"""Splitting long recordings at pauses (batch/split.py) without Ray: cuts, part files, the join."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voxlate.audio import Audio
from voxlate.batch.discover import plan_items
from voxlate.batch.plan import batch_record
from voxlate.batch.split import (
    Part,
    PartResult,
    cut_near,
    join_parts,
    load_part,
    part_bounds,
    part_count,
    part_path,
    parts_dir,
    save_part,
)
from voxlate.engines import vad as vad_engines
from voxlate.pipeline.frames import PlacedSegment
from voxlate.pipeline.segmenter import SegmenterConfig

RATE = 16000


def _bursts(pattern: list[tuple[float, bool]]) -> Audio:
    """Noise bursts (speech stand-ins) and silences: (seconds, loud?) in order."""
    rng = np.random.default_rng(0)
    parts = [
        (rng.normal(0, 0.3, int(s * RATE)) if loud else rng.normal(0, 1e-4, int(s * RATE)))
        for s, loud in pattern
    ]
    return Audio(np.concatenate(parts).astype(np.float32), RATE)


def test_part_count() -> None:
    assert part_count(100.0, 0) == 1 and part_count(30.0, 40.0) == 1
    assert part_count(100.0, 40.0) == 3 and part_count(80.0, 40.0) == 2


def test_cuts_fall_in_pauses_and_neighbours_agree() -> None:
    # 0-9 s loud, 9-10 pause, 10-19 loud, 19-19.6 pause, 19.6-30 loud
    audio = _bursts([(9, True), (1, False), (9, True), (0.6, False), (10.4, True)])
    vad = vad_engines.REGISTRY.create("energy")
    seg = SegmenterConfig()
    assert 9.0 <= cut_near(audio, 11.0, vad, seg) <= 10.0  # the pause nearest 11 s
    assert 19.0 <= cut_near(audio, 20.0, vad, seg) <= 19.6
    bounds = [part_bounds(audio, Part(k, 3), vad, seg) for k in range(3)]
    assert bounds[0][0] == 0.0 and bounds[-1][1] == pytest.approx(audio.duration)
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))  # they tile the recording


def test_part_files_round_trip_and_go_stale(tmp_path: Path) -> None:
    (item,) = plan_items([_wav(tmp_path / "in" / "long.wav", 1.0)], tmp_path / "out", "es")
    seg = PlacedSegment(0.5, 1.5, "hello", "hola", 0.5, 1.4)
    track = Audio(np.full(22050, 0.1, np.float32), 22050)
    result = PartResult(10.0, 20.0, track, [seg], {"asr": 0.5}, {"asr": "x"})
    path = part_path(item, Part(1, 3))
    save_part(path, result, "sha", {"o": 1})
    back = load_part(path, "sha", {"o": 1})
    assert back is not None and back.segments == [seg] and back.start == 10.0
    assert np.allclose(back.track.samples, 0.1) and back.track.sample_rate == 22050
    assert load_part(path, "other", {"o": 1}) is None  # the input changed
    assert load_part(path, "sha", {"o": 2}) is None  # other options
    assert load_part(part_path(item, Part(2, 3)), "sha", {"o": 1}) is None  # never written


def _wav(path: Path, seconds: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.zeros(int(seconds * RATE), np.float32), RATE)
    return path


def test_join_lays_parts_in_order_and_writes_the_report_last(tmp_path: Path) -> None:
    (item,) = plan_items([_wav(tmp_path / "long.wav", 1.0)], tmp_path / "out", "es", srt=True)
    rate = 1000
    one = Audio(np.full(2 * rate, 0.25, np.float32), rate)
    parts = [
        PartResult(2.0, 5.0, one, [PlacedSegment(0.1, 1.0, "b", "B", 0.1, 0.9)], {"tts": 1.0}, {}),
        PartResult(0.0, 2.0, one, [PlacedSegment(0.2, 1.5, "a", "A", 0.2, 1.4)], {"tts": 2.0}, {}),
        PartResult(5.0, 6.0, None, [], {}, {}),  # a part with no speech
    ]
    for k, p in enumerate(parts):
        save_part(part_path(item, Part(k, 3)), p, "sha", {})
    rep = join_parts(item, parts, "en", "es", "sha", {})
    audio, sr = sf.read(item.output)
    assert sr == rate and len(audio) == 6 * rate
    assert np.allclose(audio[: 4 * rate], 0.25, atol=1e-3) and np.allclose(audio[4 * rate :], 0)
    assert [s["source_text"] for s in rep["segments"]] == ["a", "b"]
    assert rep["segments"][1]["start"] == 2.1 and rep["segments"][1]["output_end"] == 2.9
    assert rep["parts"] == [[0.0, 2.0], [2.0, 5.0], [5.0, 6.0]] and rep["duration_s"] == 6.0
    assert rep["timings_s"] == {"tts": 3.0}
    assert json.loads(item.report.read_text())["batch"] == batch_record("sha", {})
    assert "A" in item.srt.read_text()
    assert not parts_dir(item).exists() and not parts_dir(item).parent.exists()
