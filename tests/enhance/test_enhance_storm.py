"""StoRM (predictor + score model): tiny models trained here, real LibriVox speech."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import voxlate.cli.enhance  # noqa: F401 - registers the commands
from voxlate.audio import load_audio
from voxlate.checkpoint import load_checkpoint
from voxlate.cli.groups import app
from voxlate.data.mixing import MixConfig
from voxlate.diffusion.nets import UNet2DConfig
from voxlate.diffusion.training import TrainConfig
from voxlate.engines.enhance import REGISTRY
from voxlate.engines.enhance.diffusion import DiffusionEnhancer
from voxlate.engines.enhance.predictor import PredictorConfig
from voxlate.engines.enhance.score_model import (
    EnhanceConfig,
    SamplerOptions,
    ScoreModel,
    default_sampler,
    enhance_waveform,
    storm_config,
)
from voxlate.engines.enhance.stft import spec_to_wav
from voxlate.errors import InputError
from voxlate.eval.enhancement import estoi, si_sdr
from voxlate.tasks.enhance.losses import estoi_loss
from voxlate.tasks.enhance.model import batch_to_specs
from voxlate.tasks.enhance.train import load_predictor, train_enhancer

runner = CliRunner()

TINY_STORM = storm_config(
    replace(
        EnhanceConfig(),
        chunk_frames=32,
        net=UNet2DConfig(
            in_channels=4, out_channels=2, base_channels=4, channel_mults=(1, 2), time_scale=1000.0
        ),
    ),
    PredictorConfig(hidden=32, layers=1),
)
# Coloured noise only (no babble), SNR around the test clip's 5 dB.
MIX = MixConfig(snr_low_db=0.0, snr_high_db=10.0, p_babble=0.0)


def _train(out, clean, stage="joint", steps=2, lr=1e-3, predictor_from=None):
    tc = TrainConfig(steps=steps, lr=lr, warmup_steps=10, log_every=10, device="cpu")
    return train_enhancer(TINY_STORM, tc, out, clean_files=clean, noise_files=[], mix=MIX,
                          batch_size=8, progress=False, stage=stage,
                          predictor_from=predictor_from)  # fmt: skip


@pytest.fixture(scope="module")
def storm_checkpoint(tmp_path_factory, librivox):
    """Tiny StoRM: the predictor trained 200 steps on LibriVox clips 1-4 (clip 0, the
    test folder's speech, is held out), then the score network 3 steps with D frozen."""
    root = tmp_path_factory.mktemp("storm")
    clean = [p for p, _ in librivox[1:]]
    stage1 = _train(root / "pred.pt", clean, stage="predictor", steps=200, lr=5e-3)
    return _train(root / "storm.pt", clean, stage="score", steps=3, predictor_from=stage1)


def test_storm_predictor_learns_and_enhances_a_real_clip(storm_checkpoint, test_folder) -> None:
    """After 200 CPU steps the predictor alone (steps = 0) improves held-out LibriVox
    speech in pink noise (5 dB) by > 2 dB SI-SDR; the full sampler keeps length and
    returns finite audio."""
    ck = load_checkpoint(storm_checkpoint)
    assert ck.config.kind == "storm" and ck.config.predictor == TINY_STORM.predictor
    model = ScoreModel(ck.config).eval()
    model.load_state_dict(ck.inference_weights)
    noisy = load_audio(test_folder / "noisy" / "u0.wav").samples
    clean = load_audio(test_folder / "clean" / "u0.wav").samples
    est = enhance_waveform(model, noisy, SamplerOptions(steps=0)).samples
    before, after = si_sdr(noisy, clean), si_sdr(est, clean)
    assert after > before + 2.0, f"predictor: SI-SDR {before:.1f} -> {after:.1f} dB"
    out = enhance_waveform(model, noisy).samples  # default: 10 steps from D(y)
    assert out.shape == noisy.shape and np.isfinite(out).all()


def test_score_stage_freezes_the_loaded_predictor(storm_checkpoint, tmp_path) -> None:
    """Stage 'score' copies the stage-1 EMA predictor and leaves it unchanged; stage
    'predictor' leaves the score network at its (zero-output) initialisation."""
    ck = load_checkpoint(storm_checkpoint)
    pred = load_checkpoint(storm_checkpoint.parent / "pred.pt")
    for k, v in pred.ema.items():
        if k.startswith("predictor."):
            assert torch.equal(ck.model[k], v), k
    assert not torch.equal(ck.model["net.out.weight"], pred.model["net.out.weight"])
    assert torch.count_nonzero(pred.model["net.out.weight"]) == 0


def test_storm_oracle_score_recovers_clean_speech(test_folder) -> None:
    """The StoRM sampling chain (D(y), prior N(D(y), sigma(T)^2), drift toward D(y),
    resynthesis) with the exact kernel score of the true clean speech returns it."""
    cfg = replace(TINY_STORM, net=UNet2DConfig(in_channels=6, base_channels=4, channel_mults=(1,)))
    y = load_audio(test_folder / "noisy" / "u0.wav").samples[:8000]
    x = load_audio(test_folder / "clean" / "u0.wav").samples[:8000]
    _, X0 = batch_to_specs(torch.from_numpy(y)[None], torch.from_numpy(x)[None], cfg.stft)

    class Oracle(ScoreModel):
        def score(self, x_t, t, cond):
            mean, std = cfg.sde.marginal_prob(X0, t, cond[:, 2:])
            return -(x_t - mean) / std.reshape(-1, 1, 1, 1) ** 2

    model = Oracle(cfg).eval()
    out = enhance_waveform(model, y, SamplerOptions(steps=10, corrector_steps=0)).samples
    assert si_sdr(out, x) > si_sdr(y, x) + 15.0
    # steps = 0 is D(y) itself, resynthesised.
    Y, _ = batch_to_specs(torch.from_numpy(y)[None], torch.from_numpy(x)[None], cfg.stft)
    with torch.no_grad():
        d = spec_to_wav(model.predictor(Y), cfg.stft, len(y))[0].numpy() * np.abs(y).max()
    d0 = enhance_waveform(model, y, SamplerOptions(steps=0)).samples
    assert np.allclose(d0, d, atol=1e-5)


def test_untrained_skip_score_samples_the_estimate_back(test_folder) -> None:
    """With score_skip, an untrained score network (zero output layer) is the exact score
    for x_0 = D(y): the default 10-step sampler returns D(y) (> 20 dB SI-SDR to it), while
    without the skip the same untrained network returns noise around it."""
    y = load_audio(test_folder / "noisy" / "u0.wav").samples[:8000]
    torch.manual_seed(0)
    model = ScoreModel(TINY_STORM).eval()
    d = enhance_waveform(model, y, SamplerOptions(steps=0)).samples
    assert si_sdr(enhance_waveform(model, y).samples, d) > 20.0
    plain = ScoreModel(replace(TINY_STORM, score_skip=False)).eval()
    plain.load_state_dict(model.state_dict())
    assert si_sdr(enhance_waveform(plain, y).samples, d) < 10.0


def test_engine_spec_defaults_and_step_errors(storm_checkpoint, tiny_checkpoint, librivox_clip):
    """`diffusion:CKPT` (what --enhance takes) loads a StoRM checkpoint with StoRM's sampler."""
    assert default_sampler(EnhanceConfig()) == SamplerOptions()
    assert default_sampler(TINY_STORM).steps == 10
    enh = REGISTRY.create(f"diffusion:{storm_checkpoint}")
    assert enh.options.steps == 10 and enh.options.corrector_steps == 0
    audio = load_audio(librivox_clip).slice(0, 0.5).resample(8000)
    out = enh.enhance(audio)
    assert out.sample_rate == 8000 and abs(len(out.samples) - len(audio.samples)) <= 1
    from voxlate.engines.enhance.diffusion import DiffusionEnhancer

    with pytest.raises(InputError):
        DiffusionEnhancer(tiny_checkpoint, steps=0)  # SGMSE+ has no predictor
    with pytest.raises(InputError):
        train_enhancer(EnhanceConfig(), TrainConfig(steps=1), "x.pt", stage="score")


def test_cli_storm_two_stages_run_and_eval(tmp_path, test_folder) -> None:
    clean = str(test_folder / "clean")
    p1, p2 = tmp_path / "p.pt", tmp_path / "s.pt"
    common = ["--kind", "storm", "--clean", clean, "--steps", "2", "--base-channels", "4",
              "--chunk-frames", "16", "--batch-size", "2", "--predictor-hidden", "8",
              "--device", "cpu", "--sigma-max", "0.3"]  # fmt: skip
    r = runner.invoke(app, ["enhance", "train", *common, "--stage", "predictor", "-o", str(p1),
                            "--mask-floor", "0.1", "--estoi-weight", "0.01"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert load_checkpoint(p1).config.predictor_estoi_weight == 0.01
    r = runner.invoke(app, ["enhance", "train", *common, "--stage", "score",
                            "--predictor-from", str(p1), "--init-from", str(p1),
                            "-o", str(p2)])  # fmt: skip
    assert r.exit_code == 0, r.output
    cfg = load_checkpoint(p2).config
    assert cfg.kind == "storm" and cfg.predictor.hidden == 8 and cfg.sde.sigma_max == 0.3
    assert cfg.predictor.mask_floor == 0.1  # inherited from --predictor-from
    out = tmp_path / "o.wav"
    noisy = test_folder / "noisy" / "u0.wav"
    r = runner.invoke(
        app, ["enhance", str(noisy), "-o", str(out), "--model", str(p2), "--steps", "2"]
    )
    assert r.exit_code == 0, r.output
    assert load_audio(out).duration == pytest.approx(1.5, abs=0.01)
    bench, png = tmp_path / "bench.md", tmp_path / "spec.png"
    r = runner.invoke(app, ["eval", "enhance", "--model", str(p2), "--test", str(test_folder),
                            "--steps", "2", "--no-deepfilter", "--png", str(png),
                            "--examples", "1", "--benchmarks", str(bench)])  # fmt: skip
    assert r.exit_code == 0, r.output
    text = bench.read_text()
    assert "| storm |" in text and "| storm predictor D(y) |" in text and "StoRM" in text
    small = tmp_path / "small.pt"
    r = runner.invoke(app, ["enhance", "export", str(p2), "-o", str(small)])
    assert r.exit_code == 0, r.output
    ck, full = load_checkpoint(small), load_checkpoint(p2)
    assert ck.ema is None and ck.optimizer is None and ck.config == full.config
    assert all(torch.equal(ck.model[k], v) for k, v in full.ema.items())
    assert small.stat().st_size < p2.stat().st_size / 2
    chosen = tmp_path / "d.pt"  # the default sampler chosen at export: D(y) alone
    r = runner.invoke(app, ["enhance", "export", str(p2), "-o", str(chosen), "--steps", "0"])
    assert r.exit_code == 0, r.output
    assert default_sampler(load_checkpoint(chosen).config).steps == 0
    assert DiffusionEnhancer(chosen).options.steps == 0
    assert DiffusionEnhancer(chosen, steps=3).options.steps == 3
    r = runner.invoke(app, ["enhance", "export", str(p2), "-o", str(chosen), "--steps", "-1"])
    assert isinstance(r.exception, InputError)
    r = runner.invoke(app, ["enhance", "train", "--kind", "storm", "--stage", "predictor",
                            "--clean", clean, "--kind", "nope", "-o", str(p1)])  # fmt: skip
    assert isinstance(r.exception, InputError)


def test_mask_floor_bounds_the_mask_and_loads_across_floors(storm_checkpoint) -> None:
    """m = f + (1 - f) sigmoid(.) stays in (f, 1); a floor-0 predictor's weights load into
    a model with a floor (the floor has no weights), another width does not."""
    cfg = replace(TINY_STORM, predictor=replace(TINY_STORM.predictor, mask_floor=0.2))
    model = ScoreModel(cfg)
    load_predictor(model, storm_checkpoint)
    y = torch.randn(2, 2, 256, 20)
    m = model.predictor.mask(y)
    assert m.min() >= 0.2 and m.max() <= 1.0
    base = ScoreModel(TINY_STORM)
    load_predictor(base, storm_checkpoint)
    assert torch.allclose(m, 0.2 + 0.8 * base.predictor.mask(y))
    wide = replace(TINY_STORM, predictor=replace(TINY_STORM.predictor, hidden=16))
    with pytest.raises(InputError):
        load_predictor(ScoreModel(wide), storm_checkpoint)


def test_init_from_copies_every_weight(storm_checkpoint, tmp_path, librivox) -> None:
    """init_from starts the model from a checkpoint's EMA weights (step 0, lr 0: unchanged)."""
    tc = TrainConfig(steps=1, lr=0.0, warmup_steps=1, device="cpu")
    clean = [p for p, _ in librivox[1:3]]
    out = train_enhancer(TINY_STORM, tc, tmp_path / "i.pt", clean_files=clean, mix=MIX,
                         batch_size=2, progress=False, init_from=storm_checkpoint)  # fmt: skip
    src, ck = load_checkpoint(storm_checkpoint), load_checkpoint(out)
    assert ck.step == 1
    assert all(torch.equal(ck.model[k], v) for k, v in src.inference_weights.items())
    with pytest.raises(InputError):
        wide = replace(TINY_STORM, predictor=replace(TINY_STORM.predictor, hidden=16))
        train_enhancer(wide, tc, tmp_path / "j.pt", clean_files=clean, mix=MIX, batch_size=2,
                       progress=False, init_from=storm_checkpoint)  # fmt: skip


def test_estoi_loss_tracks_estoi(test_folder) -> None:
    """1 - estoi_loss is within 0.05 of pystoi's ESTOI on a noisy clip, ~1 for the clean one,
    and has finite gradients (also for excerpts shorter than a segment)."""
    noisy = load_audio(test_folder / "noisy" / "u0.wav").samples
    clean = load_audio(test_folder / "clean" / "u0.wav").samples
    y, x = batch_to_specs(torch.from_numpy(noisy)[None], torch.from_numpy(clean)[None],
                          TINY_STORM.stft)  # fmt: skip
    assert estoi_loss(x, x, TINY_STORM.stft).item() == pytest.approx(0.0, abs=1e-4)
    assert 1 - estoi_loss(y, x, TINY_STORM.stft).item() == pytest.approx(
        estoi(noisy, clean), abs=0.05
    )
    y = y[..., :20].clone().requires_grad_(True)
    estoi_loss(y, x[..., :20], TINY_STORM.stft).backward()
    assert torch.isfinite(y.grad).all() and y.grad.abs().sum() > 0
