from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import voxlate.cli.enhance  # noqa: F401 - registers the commands
from voxlate.audio import load_audio
from voxlate.checkpoint import load_checkpoint
from voxlate.cli.groups import app
from voxlate.engines.enhance import REGISTRY
from voxlate.engines.enhance.score_model import (
    EnhanceConfig,
    SamplerOptions,
    ScoreModel,
    enhance_waveform,
)
from voxlate.engines.enhance.stft import STFTConfig, spec_to_wav, wav_to_spec
from voxlate.errors import InputError

runner = CliRunner()


def test_compressed_stft_round_trip() -> None:
    cfg = STFTConfig()
    x = torch.randn(2, 5000)
    s = wav_to_spec(x, cfg)
    assert s.shape == (2, 2, 256, 5000 // 128 + 1)
    assert torch.allclose(spec_to_wav(s, cfg, 5000), x, atol=1e-4)


def test_checkpoint_rebuilds_and_samples(tiny_checkpoint) -> None:
    ck = load_checkpoint(tiny_checkpoint)
    assert isinstance(ck.config, EnhanceConfig) and ck.step == 2
    model = ScoreModel(ck.config)
    model.load_state_dict(ck.inference_weights)
    y = np.random.default_rng(0).standard_normal(3000).astype(np.float32) * 0.1
    out = enhance_waveform(model, y, SamplerOptions(steps=3))
    assert out.samples.shape == (3000,) and np.isfinite(out.samples).all()


def test_engine_spec_keeps_length_and_rate(tiny_checkpoint, librivox_clip) -> None:
    enh = REGISTRY.create(f"diffusion:{tiny_checkpoint}")
    enh.options = SamplerOptions(steps=2)
    audio = load_audio(librivox_clip).slice(0, 0.5).resample(8000)
    out = enh.enhance(audio)
    assert out.sample_rate == 8000 and abs(len(out.samples) - len(audio.samples)) <= 1
    assert REGISTRY.create("diffusion").options.steps == 0  # the shipped StoRM: D(y) alone
    with pytest.raises(InputError):
        REGISTRY.create("diffusion:/no/such.pt")


def test_cli_enhance_forms(tmp_path, tiny_checkpoint, test_folder) -> None:
    noisy = test_folder / "noisy" / "u0.wav"
    out = tmp_path / "a.wav"
    r = runner.invoke(
        app,
        ["enhance", str(noisy), "-o", str(out), "--model", str(tiny_checkpoint), "--steps", "2"],
    )
    assert r.exit_code == 0, r.output
    assert load_audio(out).duration == pytest.approx(1.5, abs=0.01)
    out2 = tmp_path / "b.wav"
    r = runner.invoke(app, ["enhance", "run", str(noisy), "-o", str(out2), "--engine", "spectral"])
    assert r.exit_code == 0, r.output
    assert out2.exists()


def test_cli_errors(tmp_path, tiny_checkpoint) -> None:
    r = runner.invoke(
        app, ["enhance", str(tmp_path / "missing.wav"), "-o", str(tmp_path / "o.wav")]
    )
    assert isinstance(r.exception, InputError) and "not found" in str(r.exception)
    r = runner.invoke(app, ["enhance", "train", "-o", str(tmp_path / "m.pt")])
    assert isinstance(r.exception, InputError)
    r = runner.invoke(
        app, ["enhance", "train", "--clean", str(tmp_path / "none"), "-o", str(tmp_path / "m.pt")]
    )
    assert isinstance(r.exception, InputError) and "Folder not found" in str(r.exception)
    assert not (tmp_path / "o.wav").exists()


def test_cli_train_and_eval(tmp_path, test_folder) -> None:
    ckpt = tmp_path / "m.pt"
    r = runner.invoke(app, ["enhance", "train", "--clean", str(test_folder / "clean"), "--steps", "2",
                            "--base-channels", "4", "--chunk-frames", "16", "--batch-size", "2",
                            "--device", "cpu", "-o", str(ckpt)])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert load_checkpoint(ckpt).config.net.base_channels == 4
    bench = tmp_path / "bench.md"
    png = tmp_path / "spec.png"
    r = runner.invoke(app, ["eval", "enhance", "--model", str(ckpt), "--test", str(test_folder), "--steps", "2",
                            "--no-deepfilter", "--png", str(png), "--examples", "1",
                            "--benchmarks", str(bench)])  # fmt: skip
    assert r.exit_code == 0, r.output
    text = bench.read_text()
    assert "| noisy |" in text and "| diffusion |" in text and "| spectral |" in text
    assert png.stat().st_size > 1000


def test_python_m_voxlate_one_line_error(tmp_path) -> None:
    """Through the real entry point: a missing input is one sentence and exit code 1."""
    try:
        import voxlate.cli  # noqa: F401
    except ImportError as e:  # another command module not merged yet
        pytest.skip(f"voxlate.cli does not import yet: {e}")
    p = subprocess.run([sys.executable, "-m", "voxlate", "enhance", str(tmp_path / "x.wav"), "-o",
                        str(tmp_path / "y.wav")], capture_output=True, text=True)  # fmt: skip
    assert p.returncode == 1
    assert (
        p.stderr.strip().startswith("error: Input file not found") and "Traceback" not in p.stderr
    )


def test_oracle_score_recovers_clean_speech(test_folder) -> None:
    """The whole chain (features, OUVE, PC sampler, resynthesis) with the exact kernel score
    s = -(x - mu(x0, y, t)) / sigma(t)^2 of the true clean x0 returns the clean speech."""
    from voxlate.diffusion.samplers import pc_sample
    from voxlate.eval.enhancement import si_sdr
    from voxlate.tasks.enhance.model import batch_to_specs

    cfg = EnhanceConfig()
    y = load_audio(test_folder / "noisy" / "u0.wav").samples[:8000]
    x = load_audio(test_folder / "clean" / "u0.wav").samples[:8000]
    Y, X0 = batch_to_specs(torch.from_numpy(y)[None], torch.from_numpy(x)[None], cfg.stft)

    def score(xt: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        mean, std = cfg.sde.marginal_prob(X0, t, Y)
        return -(xt - mean) / std.reshape(-1, 1, 1, 1) ** 2

    g = torch.Generator().manual_seed(0)
    x_T = cfg.sde.prior_sample(Y.shape, y=Y, generator=g)
    out = pc_sample(score, cfg.sde, x_T, steps=30, snr=0.5, t_eps=cfg.t_eps, y=Y, generator=g)
    w = spec_to_wav(out, cfg.stft, len(y))[0].numpy() * np.abs(y).max()
    assert si_sdr(w, x) > si_sdr(y, x) + 15.0


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_bf16_training_and_sampling(tmp_path, librivox) -> None:
    """Two bf16 steps on CUDA, then sampling on CUDA; the checkpoint loads on CPU."""
    from dataclasses import replace

    from voxlate.diffusion.nets import UNet2DConfig
    from voxlate.diffusion.training import TrainConfig
    from voxlate.tasks.enhance.train import train_enhancer

    net = UNet2DConfig(
        in_channels=4, out_channels=2, base_channels=4, channel_mults=(1, 2), time_scale=1000.0
    )
    tiny = replace(EnhanceConfig(), chunk_frames=16, net=net)
    out = tmp_path / "gpu.pt"
    tc = TrainConfig(steps=2, precision="bf16", device="cuda")
    train_enhancer(
        tiny, tc, out, clean_files=[librivox[0][0]], noise_files=[], batch_size=2, progress=False
    )
    enh = REGISTRY.create(f"diffusion:{out}")
    assert enh.device.type == "cuda"
    enh.options = SamplerOptions(steps=2)
    audio = load_audio(librivox[0][0]).slice(0, 0.5)
    assert len(enh.enhance(audio).samples) == len(audio.samples)
    assert load_checkpoint(out, map_location="cpu").step == 2
