"""Every command that writes a file checks its output before the work: `-o` naming a folder is
refused in one sentence with exit 1 (an input error), before any data is read or model trained (it used to fail
only at the final rename, after the work)."""

from __future__ import annotations

from pathlib import Path

import pytest

COMMANDS = [
    ("asr", "train", "TRAIN.jsonl", "DEV.jsonl"),
    ("st", "train", "TRAIN.jsonl", "DEV.jsonl"),
    ("st", "train-text", "TRAIN.jsonl", "DEV.jsonl"),
    ("digits", "train", "CORPUS"),
    ("digits", "train-classifier", "CORPUS"),
    ("digits", "export", "CKPT.pt"),
    ("enhance", "train"),
    ("enhance", "export", "CKPT.pt"),
    ("speakers", "embed", "FOLDER"),
    ("speakers", "train", "EMB.npz"),
    ("speakers", "export", "CKPT.pt"),
    ("speakers", "sample"),
    ("voice", "embed", "FOLDER"),
    ("voice", "train-tuner"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_an_output_that_is_a_folder_is_refused_before_the_work(
    command: tuple[str, ...], tmp_path: Path, run_cli
) -> None:
    (tmp_path / "FOLDER").mkdir()
    folder = tmp_path / "out"
    folder.mkdir()
    args = [a if a.isupper() or "." not in a else str(tmp_path / a) for a in command]
    args = [str(tmp_path / a) if a == "FOLDER" or a == "CORPUS" else a for a in args]
    code, _, err = run_cli(*args, "-o", str(folder))
    assert code == 1, err
    assert "is a folder" in err and "Traceback" not in err
    assert list(folder.iterdir()) == []
