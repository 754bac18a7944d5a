"""SpeakerDiff at tiny size: training, sampling, rejection sampling, metrics, EER, CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voxlate.diffusion.ddpm import DDPMConfig
from voxlate.diffusion.training import TrainConfig
from voxlate.engines.voice.speakerdiff import SpeakerDiff, SpeakerDiffConfig, sample_pseudo_speaker
from voxlate.errors import InputError
from voxlate.tasks.speakers.embed import EmbeddingSet, speaker_label
from voxlate.tasks.speakers.evaluate import diversity, evaluate_generated, nearest_cosine
from voxlate.tasks.speakers.model import train_speakerdiff
from voxlate.tasks.speakers.privacy import equal_error_rate, verification_scores

DIM = 16


def _clusters(n: int = 120, k: int = 4, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, DIM))
    lab = np.arange(n) % k
    x = centres[lab] + 0.3 * rng.normal(size=(n, DIM))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32), [f"spk{i}" for i in lab]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    x, _ = _clusters()
    out = tmp_path_factory.mktemp("sd") / "sd.pt"
    cfg = SpeakerDiffConfig(ddpm=DDPMConfig(T=50, schedule="sigmoid"), batch_size=32)
    tc = TrainConfig(steps=30, lr=1e-3, warmup_steps=1, ckpt_every=100, device="cpu")
    return train_speakerdiff(x, out, "mlp", tc, cfg, progress=False)


def test_train_and_sample_shapes(tiny_model: Path) -> None:
    m = SpeakerDiff.load(tiny_model)
    assert m.config.dim == DIM and m.config.ddpm.schedule == "sigmoid"
    assert len(m.config.mean) == DIM
    for sampler, steps in (("ddim", 10), ("ddpm", None)):
        e = m.sample(7, steps=steps, sampler=sampler, seed=3)
        assert e.shape == (7, DIM) and e.dtype == np.float32
        assert np.allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(m.sample(3, seed=5), m.sample(3, seed=5))


def test_unet1d_denoiser(tmp_path: Path) -> None:
    x, _ = _clusters(40)
    cfg = SpeakerDiffConfig(ddpm=DDPMConfig(T=20, schedule="sigmoid"), batch_size=8)
    tc = TrainConfig(steps=3, warmup_steps=1, ckpt_every=100, device="cpu")
    m = SpeakerDiff.load(train_speakerdiff(x, tmp_path / "u.pt", "unet1d", tc, cfg, progress=False))
    assert m.sample(2, steps=5).shape == (2, DIM)


def test_rejection_sampling_honours_min_distance(tiny_model: Path) -> None:
    x, _ = _clusters()
    for src in x[:5]:
        e = sample_pseudo_speaker(src, tiny_model, min_distance=0.5, seed=0, steps=10)
        assert 1.0 - float(e @ src) >= 0.5
        assert abs(float(np.linalg.norm(e)) - 1.0) < 1e-5
    with pytest.raises(InputError):
        sample_pseudo_speaker(x[0], tiny_model, min_distance=2.5, max_batches=2, steps=5)
    with pytest.raises(InputError):
        sample_pseudo_speaker(np.ones(DIM + 1), tiny_model)


def test_generation_metrics() -> None:
    x, _ = _clusters()
    assert np.allclose(nearest_cosine(x[:10], x), 1.0, atol=1e-6)  # copies
    r = evaluate_generated(x[:60], x[60:], x[60:])
    assert r.fd_generated == pytest.approx(0.0, abs=1e-6)
    assert r.nn_cos_generated == pytest.approx(r.nn_cos_heldout)
    same = np.tile(x[:1], (5, 1))
    assert diversity(same) == pytest.approx(0.0, abs=1e-6)
    assert diversity(x) > 0.3


def test_equal_error_rate() -> None:
    assert equal_error_rate(np.array([0.9, 0.8]), np.array([0.1, 0.2])) == 0.0
    assert equal_error_rate(np.array([0.1, 0.2]), np.array([0.9, 0.8])) == 1.0
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=5000), rng.normal(size=5000)
    assert equal_error_rate(a, b) == pytest.approx(0.5, abs=0.03)
    # two unit Gaussians 2 sigma apart: EER = Phi(-1) = 0.1587
    assert equal_error_rate(a + 2.0, b) == pytest.approx(0.1587, abs=0.02)


def test_verification_scores_counts() -> None:
    x, spk = _clusters(40, 4)
    t, n = verification_scores(x, spk, x, spk, exclude_same_index=True)
    assert len(t) == 40 and len(n) == 40 * 3
    assert t.mean() > n.mean()


def test_embedding_set_round_trip(tmp_path: Path) -> None:
    x, spk = _clusters(10)
    s = EmbeddingSet(x, [f"/a/{i}.wav" for i in range(10)], spk)
    back = EmbeddingSet.load(s.save(tmp_path / "e.npz"))
    assert np.array_equal(back.embeddings, x) and back.speakers == spk
    with pytest.raises(InputError):
        EmbeddingSet.load(tmp_path / "missing.npz")
    assert speaker_label(Path("/x/sound/level/cs/let-m-divna.ogg")) == "fillets-m"
    assert speaker_label(Path("/c/7_theo_3.wav")) == "theo"
    assert speaker_label(Path("/c/alice/001.wav")) == "alice"


def test_cli_train_sample_eval(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from voxlate.cli import app

    x, spk = _clusters(80)
    emb = EmbeddingSet(x, [""] * 80, spk).save(tmp_path / "e.npz")
    model = tmp_path / "m" / "sd.pt"
    r = CliRunner()
    res = r.invoke(app, ["speakers", "train", str(emb), "-o", str(model), "--steps", "5"])
    assert res.exit_code == 0, res.output
    assert model.with_suffix(".heldout.npz").is_file()
    res = r.invoke(
        app,
        [
            "speakers",
            "sample",
            "-n",
            "4",
            "--model",
            str(model),
            "--steps",
            "5",
            "-o",
            str(tmp_path / "g.npz"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert EmbeddingSet.load(tmp_path / "g.npz").embeddings.shape == (4, DIM)
    res = r.invoke(
        app,
        [
            "speakers",
            "eval",
            "--model",
            str(model),
            "-n",
            "30",
            "--steps",
            "5",
            "--plot",
            str(tmp_path / "t.png"),
            "--no-log",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "NN-cos" in res.output and (tmp_path / "t.png").stat().st_size > 1000
    res = r.invoke(app, ["speakers", "train", str(tmp_path / "nope.npz")])
    assert res.exit_code != 0


@pytest.mark.slow
def test_cli_embed_real_clips(tmp_path: Path, cards) -> None:
    from typer.testing import CliRunner

    from voxlate.cli import app

    folder = cards[0][0].parent
    res = CliRunner().invoke(app, ["speakers", "embed", str(folder), "-o", str(tmp_path / "e.npz")])
    assert res.exit_code == 0, res.output
    s = EmbeddingSet.load(tmp_path / "e.npz")
    assert s.embeddings.shape[1] == 256 and len(s) >= 3


def test_pseudo_speaker_plugs_into_the_anonymize_seam(tiny_model: Path) -> None:
    from voxlate.audio import Audio
    from voxlate.engines.voice.pseudo import (
        DerivedPseudoSpeaker,
        PseudoSpeaker,
        SpeakerDiffPseudoSpeaker,
    )
    from voxlate.engines.voice.world import analyze, measure

    class StubEncoder:
        dim = DIM

        def embed(self, audio: Audio) -> np.ndarray:
            v = np.zeros(DIM, dtype=np.float32)
            v[int(len(audio.samples)) % DIM] = 1.0
            return v

    sr = 16000
    t = np.arange(sr) / sr
    speech = Audio((0.3 * np.sin(2 * np.pi * 140 * t * (1 + 0.1 * t))).astype(np.float32), sr)
    pseudo = SpeakerDiffPseudoSpeaker(StubEncoder(), tiny_model, min_distance=0.4, seed=0)
    assert isinstance(pseudo, PseudoSpeaker)
    src = _clusters()[0][0]
    stats = measure(analyze(speech))
    params = pseudo.params(stats, src, speech)
    assert params in DerivedPseudoSpeaker(StubEncoder()).candidates(stats)
    assert pseudo.last_target is not None
    assert 1.0 - float(pseudo.last_target @ src) >= 0.4
