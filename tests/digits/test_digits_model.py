"""Digit diffusion and classifier at tiny size, the SC09 metrics, and the CLI end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from voxlate.diffusion.ddpm import DDPMConfig
from voxlate.diffusion.nets import UNet2DConfig
from voxlate.diffusion.training import TrainConfig
from voxlate.tasks.digits.classifier import (
    ClassifierConfig,
    classify,
    load_classifier,
    train_classifier,
)
from voxlate.tasks.digits.dataset import DigitImages
from voxlate.tasks.digits.features import MelConfig
from voxlate.tasks.digits.metrics import (
    accuracy,
    frechet_distance,
    inception_score,
    modified_inception_score,
)
from voxlate.tasks.digits.model import DigitDiffusion, DigitDiffusionConfig, train_digit_diffusion

MEL = MelConfig(n_mels=16, frames=16)


def _tiny_data(n: int = 20) -> DigitImages:
    g = torch.Generator().manual_seed(0)
    return DigitImages(
        torch.rand(n, 1, MEL.n_mels, MEL.frames, generator=g) * 2 - 1,
        torch.arange(n) % 10,
        [f"s{i % 3}" for i in range(n)],
    )


def test_inception_score_bounds() -> None:
    onehot = np.eye(10)[np.arange(100) % 10]
    assert inception_score(onehot) == pytest.approx(10.0, rel=1e-6)
    assert inception_score(np.full((50, 10), 0.1)) == pytest.approx(1.0, abs=1e-9)
    collapsed = np.eye(10)[np.zeros(30, dtype=int)]
    assert inception_score(collapsed) == pytest.approx(1.0, abs=1e-6)
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(10), size=200)
    assert 1.0 <= inception_score(p) <= 10.0
    assert modified_inception_score(np.full((5, 10), 0.1)) == pytest.approx(1.0)
    assert accuracy(onehot, np.arange(100) % 10) == 1.0


def test_frechet_distance_known_answers() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(500, 4))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    shift = np.array([1.0, 2.0, 0.0, 0.0])
    assert frechet_distance(a, a + shift) == pytest.approx(5.0, rel=1e-6)
    # N(0, I) vs N(0, 4I) in 4-D: Tr(I + 4I - 2*2I) = 4
    b = a * 2.0
    expected = np.trace(np.cov(a.T)) + np.sum(a.mean(0) ** 2)  # means differ by mean(a)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)


def test_tiny_diffusion_train_and_sample(tmp_path: Path) -> None:
    torch.manual_seed(0)
    cfg = DigitDiffusionConfig(
        mel=MEL,
        unet=UNet2DConfig(
            in_channels=1, out_channels=1, base_channels=8, channel_mults=(1, 2), num_classes=10
        ),
        ddpm=DDPMConfig(T=20, schedule="cosine"),
        batch_size=8,
    )
    tc = TrainConfig(steps=4, lr=1e-3, warmup_steps=1, ckpt_every=100, device="cpu")
    out = train_digit_diffusion(_tiny_data(), tmp_path / "m.pt", cfg, tc, progress=False)
    m = DigitDiffusion.load(out)
    assert m.config == cfg
    digits = torch.tensor([3, 7, 7])
    for sampler, steps, g in (("ddim", 5, 3.0), ("ddim", 20, 0.0), ("ddpm", None, 1.0)):
        x = m.sample(digits, steps=steps, sampler=sampler, guidance=g)
        assert x.shape == (3, 1, MEL.n_mels, MEL.frames)
        assert torch.isfinite(x).all()
    a = m.sample(digits, steps=5, guidance=3.0, seed=1)
    assert torch.equal(a, m.sample(digits, steps=5, guidance=3.0, seed=1))  # DDIM eta=0


def test_tiny_classifier(tmp_path: Path) -> None:
    data = _tiny_data()
    out = train_classifier(
        data,
        tmp_path / "c.pt",
        ClassifierConfig(mel=MEL, channels=(4, 8), features=16),
        steps=3,
        batch_size=8,
        progress=False,
    )
    probs, feats = classify(load_classifier(out), data.images)
    assert probs.shape == (20, 10) and feats.shape == (20, 16)
    assert np.allclose(probs.sum(1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_cli_end_to_end_tiny(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from voxlate.cli import app

    r = CliRunner()
    corpus, model, clf = tmp_path / "corpus", tmp_path / "d.pt", tmp_path / "c.pt"

    def ok(*args: str) -> str:
        res = r.invoke(app, list(args))
        assert res.exit_code == 0, res.output
        return res.output

    ok(
        "digits",
        "build-corpus",
        str(corpus),
        "--espeak-voices",
        "3",
        "--piper-voices",
        "0",
        "--repetitions",
        "1",
    )
    ok(
        "digits",
        "train",
        str(corpus),
        "-o",
        str(model),
        "--steps",
        "2",
        "--base-channels",
        "8",
        "--timesteps",
        "10",
        "--device",
        "cpu",
    )
    ok("digits", "train-classifier", str(corpus), "-o", str(clf), "--steps", "2")
    ok(
        "generate",
        "digits",
        "--digit",
        "7",
        "-n",
        "2",
        "--steps",
        "3",
        "--sampler",
        "ddim",
        "--guidance",
        "3",
        "-o",
        str(tmp_path / "out"),
        "--model",
        str(model),
        "--griffin-lim-iters",
        "4",
    )
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "7_000.wav",
        "7_001.wav",
        "grid.png",
    ]
    out = ok(
        "digits",
        "eval",
        str(corpus),
        "--model",
        str(model),
        "--classifier",
        str(clf),
        "--per-digit",
        "1",
        "--guidance",
        "0,3",
        "--steps",
        "2,full",
        "--no-log",
    )
    assert "DDPM 10 steps, s=3" in out and "accuracy" in out
    bad = r.invoke(app, ["generate", "digits", "--digit", "12", "--model", str(model)])
    assert bad.exit_code != 0
