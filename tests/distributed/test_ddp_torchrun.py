"""One trainer under `torchrun --nproc_per_node 2` on CPU (gloo): same loss curve, a loadable checkpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import voxlate
from voxlate.distributed import any_rank, rank_seed, shard

SCRIPT = Path(__file__).with_name("ddp_digits.py")
STEPS = 60


def _run(cmd: list[str], out: Path) -> None:
    out.mkdir()
    env = {**os.environ, "PYTHONPATH": str(Path(voxlate.__file__).parents[1])}
    env["OMP_NUM_THREADS"] = "1"
    r = subprocess.run(cmd + [str(out), str(STEPS)], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]


def _curve(out: Path) -> np.ndarray:
    lines = (out / "model.log.jsonl").read_text().splitlines()
    return np.array([json.loads(line)["loss"] for line in lines])


def test_helpers_without_torchrun(monkeypatch) -> None:
    for var in ("RANK", "WORLD_SIZE"):
        monkeypatch.delenv(var, raising=False)
    assert rank_seed(7) == 7 and shard(list(range(5))) == [0, 1, 2, 3, 4]
    assert any_rank(True) and not any_rank(False)
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert rank_seed(7) == 8 and shard(list(range(5))) == [1, 3]


@pytest.mark.slow
def test_torchrun_two_processes_matches_one(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from voxlate.tasks.digits.model import DigitDiffusion

    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.exists():
        pytest.skip("torchrun is not installed beside this python")
    one, two = tmp_path / "one", tmp_path / "two"
    _run([sys.executable, str(SCRIPT)], one)
    _run([str(torchrun), "--standalone", "--nproc_per_node", "2", str(SCRIPT)], two)

    ranks = [json.loads((two / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world_size"] for r in ranks] == [2, 2]
    assert [r["any_rank"] for r in ranks] == [[True, False], [True, False]]
    assert ranks[0]["first_digits"] != ranks[1]["first_digits"]  # each rank its own batches
    assert ranks[0]["weights_sum"] == pytest.approx(ranks[1]["weights_sum"], rel=1e-9, abs=1e-9)
    alone = json.loads((one / "rank0.json").read_text())
    assert alone["world_size"] == 1 and alone["first_digits"] == ranks[0]["first_digits"]
    assert alone["weights_sum"] != pytest.approx(
        ranks[0]["weights_sum"], rel=1e-6
    )  # rank 1 counted

    c1, c2 = _curve(one), _curve(two)
    assert len(c1) == len(c2) == STEPS // 5  # rank 0 alone writes the log
    for c in (c1, c2):  # both learn: the smoothed loss falls steadily
        assert c[-1] < 0.8 * c[0]
        assert np.all(np.diff(c) < 0.02)
    assert np.corrcoef(c1, c2)[0, 1] > 0.95  # the same shape
    assert 0.7 < c2[-1] / c1[-1] < 1.3

    model = DigitDiffusion.load(two / "model.pt")  # rank 0's checkpoint, no 'module.' prefix
    assert model.config.unet.base_channels == 8
    images = model.sample(torch.tensor([3, 7]), steps=5)
    assert images.shape == (2, 1, 16, 16) and torch.isfinite(images).all()
