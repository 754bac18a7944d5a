"""The converter adapter (`--voice MODE+converter`) on real clips, with a tiny checkpoint
built here (random weights: the contract, not the quality; quality is `voxlate bench voice`)."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import pytest

from voxlate.audio import SAMPLE_RATE, Audio, concatenate, load_audio


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory) -> Path:
    import torch

    from voxlate.checkpoint import save_checkpoint
    from voxlate.engines.voice.converter_model import ConverterConfig, ConverterNet

    torch.manual_seed(0)
    cfg = ConverterConfig(n_speakers=3, channels=32, bottleneck=8)
    path = tmp_path_factory.mktemp("conv") / "tiny.pt"
    return save_checkpoint(path, config=cfg, model=ConverterNet(cfg).state_dict())


@pytest.fixture(scope="module")
def target(czech_clips) -> Audio:
    """About 6 s of one Czech actor (the fit's target)."""
    clips = [load_audio(p, SAMPLE_RATE) for p in czech_clips[:8]]
    return concatenate(clips, SAMPLE_RATE).slice(0, 6.0)


def test_fit_and_convert_keep_rate_and_length(tiny_checkpoint, target, librivox_clip):
    from voxlate.engines.voice import ADAPTERS
    from voxlate.engines.voice.converter import ConverterAdapter, ConverterParams

    adapter = ADAPTERS.create(f"converter:{tiny_checkpoint}")
    assert isinstance(adapter, ConverterAdapter) and adapter.name == "converter"
    adapter.fit_seconds = 2.0
    speech = load_audio(librivox_clip, 24000).slice(0, 3.0)  # Kokoro's rate
    t = time.monotonic()
    params = adapter.fit(speech, target)
    assert time.monotonic() - t < 20.0  # 2 s of optimisation + one WORLD analysis
    assert isinstance(params, ConverterParams) and np.isfinite(params.embedding).all()
    assert 60 < np.exp(params.f0_mean) < 400
    out = adapter.convert(speech, params)
    assert out.sample_rate == 24000 and len(out.samples) == len(speech.samples)
    assert np.isfinite(out.samples).all() and np.abs(out.samples).max() > 0.01


def test_the_target_moves_f0(tiny_checkpoint, target, librivox_clip):
    """F0 is mapped onto the target's range: a target 6 semitones up raises the output's F0."""
    from voxlate.engines.voice.converter import ConverterAdapter, f0_stats, world_frames

    adapter = ConverterAdapter(tiny_checkpoint, fit_seconds=0.5)
    speech = load_audio(librivox_clip, SAMPLE_RATE).slice(0, 3.0)
    params = adapter.fit(speech, target)
    higher = dataclasses.replace(params, f0_mean=params.f0_mean + 0.35)
    high = adapter.convert(speech, higher)
    low = adapter.convert(speech, params)
    mu_hi, _ = f0_stats(world_frames(high, aperiodicity=False).f0)
    mu_lo, _ = f0_stats(world_frames(low, aperiodicity=False).f0)
    assert mu_hi - mu_lo > 0.25


def test_missing_checkpoint_is_one_sentence(tmp_path):
    from voxlate.engines.voice.converter import ConverterAdapter
    from voxlate.errors import VoxlateError

    with pytest.raises(VoxlateError, match="not found"):
        ConverterAdapter(tmp_path / "none.pt")


def test_too_short_target_is_refused(tiny_checkpoint, librivox_clip):
    from voxlate.engines.voice.converter import ConverterAdapter
    from voxlate.errors import InputError

    adapter = ConverterAdapter(tiny_checkpoint)
    speech = load_audio(librivox_clip, SAMPLE_RATE)
    with pytest.raises(InputError):
        adapter.fit(speech, speech.slice(0, 0.2))


def test_knn_average_moves_frames_onto_the_target_codebook():
    from voxlate.engines.voice.converter import knn_average

    rng = np.random.default_rng(0)
    book = rng.normal(size=(50, 39)).astype(np.float32)
    y = book[[3, 7, 11]] + 0.01
    assert np.allclose(knn_average(y, book, k=1), book[[3, 7, 11]])
    assert knn_average(y, book, k=4).shape == (3, 39)


def test_knn_strength_changes_the_output(tiny_checkpoint, target, librivox_clip):
    from voxlate.engines.voice.converter import ConverterAdapter

    plain = ConverterAdapter(tiny_checkpoint, fit_seconds=0.5)
    matched = ConverterAdapter(tiny_checkpoint, fit_seconds=0.5, knn_strength=1.0)
    speech = load_audio(librivox_clip, SAMPLE_RATE).slice(0, 2.0)
    params = plain.fit(speech, target)
    assert params.codebook is not None and params.codebook.shape[1] == 39
    a, b = plain.convert(speech, params), matched.convert(speech, params)
    assert np.abs(a.samples - b.samples).mean() > 1e-4


def test_the_shipped_checkpoint_is_the_default():
    from voxlate.engines.voice import ADAPTERS
    from voxlate.shipped import shipped_path

    adapter = ADAPTERS.create("converter")
    assert adapter.path == shipped_path("converter.pt")
    assert adapter.net.cfg.n_speakers >= 20  # trained across the split's training speakers


def test_tune_last_adapts_the_output_layer(tiny_checkpoint, target, librivox_clip):
    from voxlate.engines.voice.converter import ConverterAdapter

    adapter = ConverterAdapter(tiny_checkpoint, fit_seconds=0.5, tune_last=True)
    speech = load_audio(librivox_clip, SAMPLE_RATE).slice(0, 2.0)
    params = adapter.fit(speech, target)
    assert params.out_delta is not None and params.out_delta.shape == (39, 32)
    assert np.abs(params.out_delta).max() > 0
    out = adapter.convert(speech, params)
    assert np.isfinite(out.samples).all() and len(out.samples) == len(speech.samples)


def test_adaptation_adam_matches_torch_adam():
    """The adaptation's hand-written Adam takes torch.optim.Adam's steps exactly."""
    import torch

    from voxlate.engines.voice.converter_model import Adam

    torch.manual_seed(0)
    ours = [torch.randn(3, 4, requires_grad=True), torch.randn(5, requires_grad=True)]
    ref = [p.detach().clone().requires_grad_(True) for p in ours]
    opts = (Adam(ours, lr=0.03), torch.optim.Adam(ref, lr=0.03))
    for _ in range(50):
        for params, opt in zip((ours, ref), opts):
            loss = (params[0] ** 3).abs().sum() + (params[1].sin() ** 2).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


def test_adaptation_does_not_import_torch_dynamo(tiny_checkpoint, target, librivox_clip):
    """torch.optim's optimizers import torch._dynamo (~1 CPU-s, holding the GIL) when built:
    a `voxlate translate` with the converter must not pay it."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from voxlate.audio import SAMPLE_RATE, load_audio\n"
        "from voxlate.engines.voice.converter import ConverterAdapter\n"
        f"a = ConverterAdapter({str(tiny_checkpoint)!r}, fit_seconds=0.5)\n"
        f"t = load_audio({str(librivox_clip)!r}, SAMPLE_RATE).slice(0, 3.0)\n"
        "a.fit(t, t)\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_adaptation_steps_default_per_decoder(tiny_checkpoint, target, monkeypatch):
    """The regression decoder adapts in `FIT_STEPS` steps (chosen on the validation speakers,
    docs/voice.md), unless told otherwise; the clock does not end it first here."""
    import voxlate.engines.voice.converter_model as cm
    from voxlate.engines.voice import converter as conv

    assert conv.FIT_STEPS == 25 and conv.DIFFUSION_FIT_STEPS == 150
    adapter = conv.ConverterAdapter(tiny_checkpoint, fit_seconds=300.0)
    assert adapter.kind == "regression" and adapter.fit_steps == conv.FIT_STEPS
    seen: list[int] = []
    real = cm.optimise

    def counting(*args, **kwargs):
        steps, loss = real(*args, **kwargs)
        seen.append(steps)
        return steps, loss

    monkeypatch.setattr(cm, "optimise", counting)
    adapter.fit(target, target)
    conv.ConverterAdapter(tiny_checkpoint, fit_seconds=300.0, fit_steps=12).fit(target, target)
    assert seen == [conv.FIT_STEPS, 12]
