"""The converter's trainer: a tiny run on real clips saves a checkpoint the adapter loads;
the CLI command's help and a tiny time-boxed run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voxlate.audio import SAMPLE_RATE, load_audio


@pytest.fixture(scope="module")
def feature_files(tmp_path_factory, czech_clips) -> list[Path]:
    """Two speakers' features from 6 real Czech lines each."""
    from voxlate.data.fillets import speaker_of
    from voxlate.tasks.converter.corpus import extract_speaker

    folder = tmp_path_factory.mktemp("feats")
    by: dict[str, list[Path]] = {"m": [], "v": []}
    for p in czech_clips:
        s = speaker_of(p)
        if s in by and len(by[s]) < 6:
            by[s].append(p)
    out = []
    for s, paths in by.items():
        f = extract_speaker(s, (load_audio(p, SAMPLE_RATE) for p in paths))
        assert f.mels and all(len(m) == len(c) for m, c in zip(f.mels, f.mceps, strict=True))
        f.save(folder / f"train-{s}.npz")
        out.append(folder / f"train-{s}.npz")
    return out


def test_features_round_trip(feature_files):
    from voxlate.tasks.converter.corpus import SpeakerFeatures

    f = SpeakerFeatures.load(feature_files[0])
    assert f.speaker == "m" and len(f.mels) == 6
    assert f.mels[0].shape[1] == 80 and f.mceps[0].shape[1] == 40
    assert all(np.isfinite(m).all() for m in f.mels)


def test_tiny_training_saves_a_checkpoint_the_adapter_loads(tmp_path, feature_files):
    from voxlate.checkpoint import load_checkpoint
    from voxlate.engines.voice.converter import ConverterAdapter
    from voxlate.engines.voice.converter_model import ConverterConfig
    from voxlate.tasks.converter.train import train_converter
    from voxlate.tasks.options import ConverterTrainOptions

    opts = ConverterTrainOptions(minutes=0.5, steps=25, batch=4, channels=32)
    out = train_converter(tmp_path / "c.pt", opts, progress=False, log=lambda s: None,
                          paths=feature_files)  # fmt: skip
    ck = load_checkpoint(out, expect=ConverterConfig)
    assert ck.step == 25 and ck.extra["speakers"] == ["m", "v"]
    assert ck.extra["history"][-1]["val"] > 0
    adapter = ConverterAdapter(out)
    assert adapter.net.cfg.channels == 32


def test_train_converter_help(run_cli):
    code, out, _ = run_cli("voice", "train-converter", "--help")
    assert code == 0
    for flag in (
        "--minutes",
        "--bottleneck",
        "--kokoro-sentences",
        "--features",
        "--output",
        "--decoder",
        "--device",
        "--score-channels",
        "--sample-steps",
    ):
        assert flag in out


@pytest.mark.slow
def test_train_converter_cli_tiny_run(run_cli, tmp_path):
    out = tmp_path / "c.pt"
    code, stdout, err = run_cli(
        "voice", "train-converter", "-o", out, "--minutes", "0.1", "--steps", "20",
        "--channels", "32", "--batch", "4", "--max-speakers", "2", "--cap-minutes", "0.3",
        "--kokoro-sentences", "0", "--features", tmp_path / "feats", "--quiet",
    )  # fmt: skip
    assert code == 0, err
    assert out.is_file() and "converter ->" in stdout
    assert len(list((tmp_path / "feats").glob("train-*.npz"))) == 2


def test_tiny_diffusion_training_saves_a_checkpoint_the_adapter_loads(
    tmp_path, feature_files, czech_clips
):
    from voxlate.checkpoint import load_checkpoint
    from voxlate.engines.voice.converter import ConverterAdapter
    from voxlate.engines.voice.converter_diffusion import DiffusionConverterConfig
    from voxlate.tasks.converter.train_diffusion import train_diffusion
    from voxlate.tasks.options import ConverterTrainOptions

    opts = ConverterTrainOptions(minutes=0.5, steps=25, batch=4, channels=32, score_channels=32,
                                 score_blocks=2, decoder="diffusion", device="cpu")  # fmt: skip
    out = train_diffusion(tmp_path / "d.pt", opts, progress=False, log=lambda s: None,
                          paths=feature_files)  # fmt: skip
    ck = load_checkpoint(out, expect=DiffusionConverterConfig)
    assert ck.step == 25 and ck.extra["decoder"] == "diffusion" and ck.ema is not None
    h = ck.extra["history"][-1]
    assert h["val"] > 0 and h["val_denoise"] > 0
    adapter = ConverterAdapter(out, fit_seconds=0.5)
    assert adapter.kind == "diffusion" and adapter.net.cfg.score_channels == 32
    clip = load_audio(czech_clips[0], 24000)
    target = load_audio(czech_clips[1], SAMPLE_RATE)
    converted = adapter.convert(clip, adapter.fit(clip, target))
    assert converted.sample_rate == 24000 and len(converted.samples) == len(clip.samples)
    assert np.isfinite(converted.samples).all() and np.abs(converted.samples).max() > 0.01


def test_unknown_decoder_and_missing_cuda_are_one_sentence(run_cli, tmp_path):
    import torch

    code, _, err = run_cli("voice", "train-converter", "-o", tmp_path / "c.pt",
                           "--decoder", "gan", "--features", tmp_path / "f")  # fmt: skip
    assert code != 0 and "error: Unknown --decoder 'gan'" in err and "Traceback" not in err
    if not torch.cuda.is_available():
        code, _, err = run_cli("voice", "train-converter", "-o", tmp_path / "c.pt",
                               "--device", "cuda", "--features", tmp_path / "f")  # fmt: skip
        assert code != 0 and "no CUDA device" in err and "Traceback" not in err


@pytest.mark.slow
def test_train_converter_cli_tiny_diffusion_run_on_cpu(run_cli, tmp_path):
    out = tmp_path / "d.pt"
    code, stdout, err = run_cli(
        "voice", "train-converter", "-o", out, "--decoder", "diffusion", "--device", "cpu",
        "--minutes", "0.1", "--steps", "20", "--channels", "32", "--score-channels", "32",
        "--score-blocks", "2", "--batch", "4", "--max-speakers", "2", "--cap-minutes", "0.3",
        "--kokoro-sentences", "0", "--features", tmp_path / "feats", "--quiet",
    )  # fmt: skip
    assert code == 0, err
    assert "diffusion decoder" in stdout and "cpu" in stdout and "converter ->" in stdout
    from voxlate.engines.voice.converter import ConverterAdapter

    assert ConverterAdapter(out).kind == "diffusion"


def test_export_converter_keeps_a_diffusion_decoder_in_float16(run_cli, tmp_path):
    import torch

    from voxlate.checkpoint import load_checkpoint, save_checkpoint
    from voxlate.engines.voice.converter import ConverterAdapter
    from voxlate.engines.voice.converter_diffusion import (
        DiffusionConverterConfig,
        DiffusionConverterNet,
    )

    cfg = DiffusionConverterConfig(n_speakers=2, channels=16, bottleneck=8, score_channels=16,
                                   score_blocks=1)  # fmt: skip
    net = DiffusionConverterNet(cfg)
    src = save_checkpoint(tmp_path / "d.train.pt", config=cfg, model=net.state_dict(),
                          ema=net.state_dict())  # fmt: skip
    code, _, err = run_cli("voice", "export-converter", src, "-o", tmp_path / "d.pt")
    assert code == 0, err
    ck = load_checkpoint(tmp_path / "d.pt", expect=DiffusionConverterConfig)
    assert ck.model["score.out.weight"].dtype == torch.float16
    assert ConverterAdapter(tmp_path / "d.pt").kind == "diffusion"
