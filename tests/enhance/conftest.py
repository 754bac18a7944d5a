"""A tiny enhancement checkpoint trained for two steps, shared by the tests."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from voxlate.audio import Audio, load_audio, save_audio
from voxlate.data.mixing import MixConfig, coloured_noise, mix_at_snr
from voxlate.diffusion.nets import UNet2DConfig
from voxlate.diffusion.training import TrainConfig
from voxlate.engines.enhance.score_model import EnhanceConfig
from voxlate.tasks.enhance.train import train_enhancer

torch.set_num_threads(1)

TINY = replace(
    EnhanceConfig(),
    chunk_frames=16,
    net=UNet2DConfig(
        in_channels=4, out_channels=2, base_channels=4, channel_mults=(1, 2), time_scale=1000.0
    ),
)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, librivox) -> Path:
    out = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    clean = [p for p, _ in librivox[:2]]
    tc = TrainConfig(steps=2, lr=1e-3, log_every=1, device="cpu")
    train_enhancer(
        TINY,
        tc,
        out,
        clean_files=clean,
        noise_files=[],
        mix=MixConfig(),
        batch_size=2,
        progress=False,
    )
    return out


@pytest.fixture(scope="session")
def test_folder(tmp_path_factory, librivox) -> Path:
    """clean/ + noisy/ with two 1.5 s pairs (LibriVox + pink noise at 5 dB)."""
    root = tmp_path_factory.mktemp("testset")
    rng = np.random.default_rng(0)
    for i, (p, _) in enumerate(librivox[:2]):
        x = load_audio(p, 16_000).samples[16_000 : 16_000 + 24_000]
        y = mix_at_snr(x, coloured_noise(len(x), 1.0, rng), 5.0)
        save_audio(root / "clean" / f"u{i}.wav", Audio(x, 16_000))
        save_audio(root / "noisy" / f"u{i}.wav", Audio(y, 16_000))
    return root
