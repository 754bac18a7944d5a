"""`voxlate bench translate --as-user`: `voxlate translate` timed as a command."""

from __future__ import annotations

import pytest

from voxlate.bench.wall import run_wall_bench
from voxlate.errors import EngineError

FAST = ["--mt", "apertium", "--voice", "tts", "--tts", "espeak-ng", "--enhance", "none",
        "--background", "drop"]  # fmt: skip


@pytest.mark.slow
def test_the_command_is_timed_from_outside_with_its_stages(librivox_clip) -> None:
    body = run_wall_bench([librivox_clip], minutes=0, args=FAST)
    row = next(line for line in body.splitlines() if line.startswith(f"| {librivox_clip.name}"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    audio, wall, rtf = float(cells[1][:-2]), float(cells[2][:-2]), float(cells[3])
    assert audio == pytest.approx(7.1, abs=0.2)
    stages = sum(float(c) for c in cells[5:12])
    assert wall > stages  # the wall holds the start-up that no stage of the report does
    assert rtf == pytest.approx(wall / audio, rel=0.05)
    assert "--mt apertium" in body


def test_a_failing_command_is_one_sentence(tmp_path) -> None:
    missing = tmp_path / "missing.wav"
    with pytest.raises(EngineError, match="voxlate translate failed on missing.wav: error:"):
        run_wall_bench([missing], minutes=0, args=FAST)


def test_as_user_refuses_negative_minutes(run_cli) -> None:
    code, _, err = run_cli("bench", "translate", "--as-user", "--minutes", "-1")
    assert code != 0 and "--minutes" in err
