"""Training UX shared by every trainer: time budgets, Ctrl-C saves a checkpoint, the ETA."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from voxlate.checkpoint import load_checkpoint
from voxlate.diffusion.training import TrainConfig
from voxlate.training import TrainingInterrupted, TrainRun, format_eta

BIG = 10**6  # steps no test could finish: only the budget or Ctrl-C ends these runs
BUDGET_MIN = 0.02  # 1.2 s


def test_train_run_budget_eta_and_sigint():
    before = signal.getsignal(signal.SIGINT)
    with TrainRun(minutes=0.0, total=10, progress=False) as run:
        time.sleep(0.05)
        run.advance(2)
        eta = run.eta_s()
        assert eta is not None and 0.1 < eta < 2.0  # 8 steps left at ~25 ms a step
        assert not run.stop
        os.kill(os.getpid(), signal.SIGINT)  # caught: sets the flag, raises nothing
        time.sleep(0.01)
        assert run.interrupted and run.stop
    assert signal.getsignal(signal.SIGINT) is before  # given back
    with TrainRun(minutes=0.001, total=BIG, progress=False) as run:
        assert run.eta_s() <= 0.06  # the budget ends before the steps do
        time.sleep(0.07)
        assert run.out_of_time and run.stop and not run.interrupted
    assert format_eta(3725) == "1:02:05" and format_eta(65) == "1:05"


def test_eta_is_on_the_bar(capsys):
    with TrainRun(minutes=5.0, total=100) as run:
        time.sleep(0.02)
        run.advance(loss="0.5")
    err = capsys.readouterr().err
    assert "ETA=" in err and "loss=0.5" in err


def _speaker_embeddings(n: int = 40, dim: int = 8) -> np.ndarray:
    e = np.random.default_rng(0).standard_normal((n, dim)).astype(np.float32)
    return e / np.linalg.norm(e, axis=1, keepdims=True)


def _assert_budget_run(out: Path, started: float) -> None:
    took = time.monotonic() - started
    ck = load_checkpoint(out)
    assert 0 < ck.step < BIG
    assert took < 30.0, took  # stopped by the 1.2 s budget (set-up included, machine loaded)


def test_speakers_trainer_stops_at_the_budget(tmp_path):
    from voxlate.engines.voice.speakerdiff import SpeakerDiff
    from voxlate.tasks.speakers.model import train_speakerdiff

    tc = TrainConfig(steps=BIG, lr=1e-3, max_minutes=BUDGET_MIN, device="cpu")
    t0 = time.monotonic()
    out = train_speakerdiff(
        _speaker_embeddings(), tmp_path / "s.pt", train_config=tc, progress=False
    )
    _assert_budget_run(out, t0)
    SpeakerDiff.load(out)


def test_digit_trainers_stop_at_the_budget(tmp_path):
    from voxlate.diffusion.ddpm import DDPMConfig
    from voxlate.diffusion.nets import UNet2DConfig
    from voxlate.tasks.digits.classifier import load_classifier, train_classifier
    from voxlate.tasks.digits.dataset import DigitImages
    from voxlate.tasks.digits.features import MelConfig
    from voxlate.tasks.digits.model import (
        DigitDiffusion,
        DigitDiffusionConfig,
        train_digit_diffusion,
    )

    mel = MelConfig(n_mels=16, frames=16)
    g = torch.Generator().manual_seed(0)
    data = DigitImages(
        torch.rand(20, 1, 16, 16, generator=g) * 2 - 1, torch.arange(20) % 10, ["s"] * 20
    )
    cfg = DigitDiffusionConfig(
        mel=mel,
        unet=UNet2DConfig(
            in_channels=1, out_channels=1, base_channels=4, channel_mults=(1,), num_classes=10
        ),
        ddpm=DDPMConfig(T=20, schedule="cosine"),
        batch_size=4,
    )
    tc = TrainConfig(steps=BIG, max_minutes=BUDGET_MIN, ckpt_every=BIG, device="cpu")
    t0 = time.monotonic()
    out = train_digit_diffusion(data, tmp_path / "d.pt", cfg, tc, progress=False)
    _assert_budget_run(out, t0)
    DigitDiffusion.load(out)
    t0 = time.monotonic()
    out = train_classifier(data, tmp_path / "c.pt", steps=BIG, minutes=BUDGET_MIN, progress=False)
    _assert_budget_run(out, t0)
    load_classifier(out)


def test_enhance_trainer_stops_at_the_budget(tmp_path, librivox):
    from voxlate.diffusion.nets import UNet2DConfig
    from voxlate.engines.enhance.score_model import EnhanceConfig
    from voxlate.tasks.enhance.train import train_enhancer

    cfg = replace(
        EnhanceConfig(),
        chunk_frames=16,
        net=UNet2DConfig(in_channels=4, out_channels=2, base_channels=4, channel_mults=(1,)),
    )
    tc = TrainConfig(steps=BIG, max_minutes=BUDGET_MIN, device="cpu")
    t0 = time.monotonic()
    out = train_enhancer(
        cfg, tc, tmp_path / "e.pt", [librivox[0][0]], [], batch_size=1, progress=False
    )
    _assert_budget_run(out, t0)


def test_every_trainer_command_has_a_time_budget():
    from typer.testing import CliRunner

    from voxlate.cli import app

    commands = [
        ["enhance", "train"],
        ["speakers", "train"],
        ["asr", "train"],
        ["st", "train"],
        ["st", "train-text"],
        ["digits", "train"],
        ["digits", "train-classifier"],
    ]
    for cmd in commands:
        r = CliRunner().invoke(app, [*cmd, "--help"], env={"COLUMNS": "200"})
        assert r.exit_code == 0 and "--minutes" in r.output, (cmd, r.output)


def test_sigint_to_a_training_subprocess_leaves_a_loadable_checkpoint(tmp_path):
    """Ctrl-C in `voxlate speakers train`: one sentence saying where the checkpoint is,
    exit code 130, and the checkpoint loads."""
    from voxlate.engines.voice.speakerdiff import SpeakerDiff
    from voxlate.tasks.speakers.embed import EmbeddingSet

    emb = _speaker_embeddings(60)
    EmbeddingSet(emb, [f"{i}.wav" for i in range(60)], [str(i % 6) for i in range(60)], "x").save(
        tmp_path / "e.npz"
    )
    out = tmp_path / "m.pt"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1] / "src"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "voxlate", "speakers", "train", str(tmp_path / "e.npz"), "-o",
         str(out), "--steps", str(BIG), "--minutes", "0", "--threads", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    log = out.with_suffix(".log.jsonl")  # written every 50 steps: the loop is running
    deadline = time.monotonic() + 120
    while not log.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert proc.poll() is None, proc.communicate()
    assert not out.exists()  # no periodic checkpoint yet: what exists next is Ctrl-C's
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert f"checkpoint saved to {out}" in err and "Traceback" not in err
    ck = load_checkpoint(out)
    assert 50 <= ck.step < BIG
    SpeakerDiff.load(out)


def test_sigint_in_the_epoch_loop_saves_the_weights(tmp_path):
    from voxlate.tasks.ctc.epochs import EpochTrainConfig, run_epochs

    model = torch.nn.Linear(3, 1)
    x, y = torch.randn(64, 3), torch.randn(64, 1)
    calls = {"n": 0}
    saved: list[tuple[dict, list]] = []

    def losses(idx):
        calls["n"] += 1
        if calls["n"] == 5:
            os.kill(os.getpid(), signal.SIGINT)  # as if the user pressed Ctrl-C mid-epoch
        return {"loss": torch.nn.functional.mse_loss(model(x[idx]), y[idx])}

    cfg = EpochTrainConfig(epochs=3, max_minutes=0, augment=None)
    with pytest.raises(TrainingInterrupted) as e:
        run_epochs(
            model, cfg, lambda rng: [list(range(i, i + 4)) for i in range(0, 64, 4)], losses,
            dict, "dev_loss", lambda w, h, m: saved.append((w, h)), str(tmp_path / "x.pt"),
            progress=False,
        )  # fmt: skip
    assert calls["n"] == 5 and e.value.step == 5  # stopped right after the step it came in
    assert "checkpoint saved to" in str(e.value)
    weights, history = saved[-1]
    assert torch.equal(weights["weight"], model.state_dict()["weight"]) and history == []
