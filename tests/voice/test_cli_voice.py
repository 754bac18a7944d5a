"""`voxlate voice similarity` and `voxlate voice embed` end to end."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from voxlate.cli import app

runner = CliRunner()


def test_similarity_prints_cosine(librivox, cards):
    same = runner.invoke(app, ["voice", "similarity", str(librivox[0][0]), str(librivox[2][0])])
    diff = runner.invoke(app, ["voice", "similarity", str(librivox[0][0]), str(cards[1][0])])
    assert same.exit_code == 0 and diff.exit_code == 0, same.output + diff.output
    assert float(same.output.strip().splitlines()[-1]) > float(diff.output.strip().splitlines()[-1])


def test_similarity_missing_file(tmp_path, librivox_clip):
    r = runner.invoke(app, ["voice", "similarity", str(librivox_clip), str(tmp_path / "x.wav")])
    assert r.exit_code != 0
    assert "not found" in str(r.exception) or "not found" in r.output


def test_embed_folder(tmp_path, cards):
    d = tmp_path / "clips"
    d.mkdir()
    for p, _ in cards[:3]:
        shutil.copy(p, d / p.name)
    out = tmp_path / "emb.npz"
    r = runner.invoke(app, ["voice", "embed", str(d), "-o", str(out), "-q"])
    assert r.exit_code == 0, r.output
    z = np.load(out)
    assert z["embeddings"].shape == (3, 256)
    assert len(z["paths"]) == 3


def test_embed_empty_folder(tmp_path):
    r = runner.invoke(app, ["voice", "embed", str(tmp_path), "-o", str(tmp_path / "e.npz")])
    assert r.exit_code != 0


def test_cli_main_exit_code(tmp_path):
    from voxlate.cli import main

    with pytest.raises(SystemExit) as e:
        main(["voice", "similarity", str(tmp_path / "a.wav"), str(tmp_path / "b.wav")])
    assert e.value.code == 1
