"""The converter's diffusion decoder (converter_diffusion.py) behind the same adapter, on real
clips, with tiny checkpoints built here (the contract, not the quality: that is
tasks/converter/validate.py and `voxlate bench voice`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voxlate.audio import SAMPLE_RATE, Audio, concatenate, load_audio


def tiny_config(**kw):
    from voxlate.engines.voice.converter_diffusion import DiffusionConverterConfig

    base = dict(n_speakers=3, channels=32, bottleneck=8, score_channels=32, score_blocks=2,
                sample_steps=4)  # fmt: skip
    return DiffusionConverterConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def tiny_diffusion(tmp_path_factory) -> Path:
    """Random weights, except a non-zero score output layer (it starts at zero)."""
    import torch

    from voxlate.checkpoint import save_checkpoint
    from voxlate.engines.voice.converter_diffusion import DiffusionConverterNet

    torch.manual_seed(0)
    net = DiffusionConverterNet(tiny_config())
    torch.nn.init.normal_(net.score.out.weight, std=0.05)
    path = tmp_path_factory.mktemp("convdiff") / "tiny.pt"
    return save_checkpoint(path, config=net.cfg, model=net.state_dict())


@pytest.fixture(scope="module")
def target(czech_clips) -> Audio:
    clips = [load_audio(p, SAMPLE_RATE) for p in czech_clips[:8]]
    return concatenate(clips, SAMPLE_RATE).slice(0, 6.0)


def test_the_adapter_loads_a_diffusion_checkpoint_and_converts(
    tiny_diffusion, target, librivox_clip
):
    from voxlate.engines.voice import ADAPTERS
    from voxlate.engines.voice.converter import ConverterAdapter, ConverterParams

    adapter = ADAPTERS.create(f"converter:{tiny_diffusion}")
    assert isinstance(adapter, ConverterAdapter) and adapter.kind == "diffusion"
    adapter.fit_seconds = 1.0
    speech = load_audio(librivox_clip, 24000).slice(0, 3.0)  # Kokoro's rate
    params = adapter.fit(speech, target)
    assert isinstance(params, ConverterParams) and np.isfinite(params.embedding).all()
    assert params.bias.shape == (39,) and params.out_delta is not None
    assert params.out_delta.shape == (39, 32) and np.isfinite(params.fit_loss)
    out = adapter.convert(speech, params)
    assert out.sample_rate == 24000 and len(out.samples) == len(speech.samples)
    assert np.isfinite(out.samples).all() and np.abs(out.samples).max() > 0.01


def test_sampling_starts_at_the_prior_and_steps_matter(tiny_diffusion):
    """Temperature 0 with a zero score network gives the prior mean; more DDIM steps give a
    different (finite) sample with the random score network."""
    import torch

    from voxlate.checkpoint import load_checkpoint
    from voxlate.engines.voice.converter_diffusion import DiffusionConverterNet

    ck = load_checkpoint(tiny_diffusion)
    net = DiffusionConverterNet(ck.config)
    net.load_state_dict(ck.model)
    net.eval()
    mel = torch.randn(1, 120, 80)
    z = net.content(mel)
    spk = net.speakers.weight[:1]
    a = net.sample(z, spk, steps=2)
    b = net.sample(z, spk, steps=8)
    assert a.shape == (1, 120, 39) and torch.isfinite(b).all()
    assert (a - b).abs().mean() > 1e-5
    torch.nn.init.zeros_(net.score.out.weight)
    mu = net.average(z).transpose(1, 2)
    assert torch.allclose(net.sample(z, spk, temperature=0.0), mu, atol=1e-5)


def test_diffusion_adaptation_lowers_the_denoising_loss(tiny_diffusion, target):
    """The fitted speaker vector and bias rebuild the target's envelope better than the
    table's mean vector does (the same noise draws)."""
    import torch

    from voxlate.checkpoint import load_checkpoint
    from voxlate.engines.voice.converter import world_frames
    from voxlate.engines.voice.converter_diffusion import (
        DiffusionConverterNet,
        adapt_diffusion,
    )
    from voxlate.engines.voice.converter_model import log_mel

    ck = load_checkpoint(tiny_diffusion)
    net = DiffusionConverterNet(ck.config)
    net.load_state_dict(ck.model)
    mel, mcep = log_mel(target), world_frames(target, aperiodicity=False).mcep
    n = min(len(mel), len(mcep))
    res = adapt_diffusion(net, [mel[:n]], [mcep[:n, 1:]], max_seconds=3.0, max_steps=60)
    assert res.steps >= 10 and res.seconds < 30.0

    def loss(emb: np.ndarray, bias: np.ndarray) -> float:
        with torch.no_grad():
            z = net.content(torch.from_numpy(mel[:n])[None])
            mu = net.average(z)
            y = net.normalise(torch.from_numpy(mcep[:n, 1:])).T[None]
            g = torch.Generator().manual_seed(7)
            k = 16
            return float(net.denoise_loss(
                z.expand(k, -1, -1), mu.expand(k, -1, -1), y.expand(k, -1, -1),
                torch.ones(k, n), torch.from_numpy(emb)[None].expand(k, -1), g,
                torch.from_numpy(bias)[None, :, None],
            ))  # fmt: skip

    before = loss(net.speakers.weight.detach().mean(0).numpy(), np.zeros(39, np.float32))
    assert loss(res.embedding, res.bias) < before


def test_a_foreign_checkpoint_is_refused_in_one_sentence(tmp_path):
    from voxlate.checkpoint import save_checkpoint
    from voxlate.diffusion.ddpm import DDPMConfig
    from voxlate.engines.voice.converter import ConverterAdapter
    from voxlate.errors import InputError

    path = save_checkpoint(tmp_path / "x.pt", config=DDPMConfig(), model={})
    with pytest.raises(InputError, match="not a converter"):
        ConverterAdapter(path)
