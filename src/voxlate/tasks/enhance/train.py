"""Training an SGMSE+ or StoRM enhancer: on-the-fly mixing (or paired folders) into the
shared loop. StoRM trains jointly or in two stages: the predictor alone (`stage='predictor'`),
then the score network with that predictor frozen (`stage='score'`, `predictor_from`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from voxlate.audio import load_audio
from voxlate.checkpoint import export_inference, load_checkpoint
from voxlate.data.mixing import MixConfig, NoiseSampler, load_many, noisy_pairs
from voxlate.diffusion.training import TrainConfig, train
from voxlate.engines.enhance.score_model import EnhanceConfig, ScoreModel
from voxlate.errors import InputError
from voxlate.tasks.enhance.model import Stage, batch_to_specs, dsm_loss, storm_loss


def mixed_batches(
    clean: list[np.ndarray],
    noise: NoiseSampler,
    config: EnhanceConfig,
    mix: MixConfig,
    batch_size: int,
    seed: int,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless (y, x0) spectrogram batches (B, 2, F, chunk_frames), mixed on the fly."""
    n = (config.chunk_frames - 1) * config.stft.hop
    pairs = noisy_pairs(clean, noise, n, mix, seed)
    while True:
        ys, xs = zip(*(next(pairs) for _ in range(batch_size)), strict=True)
        yield batch_to_specs(
            torch.from_numpy(np.stack(ys)), torch.from_numpy(np.stack(xs)), config.stft
        )


def paired_batches(
    pairs: list[tuple[np.ndarray, np.ndarray]], config: EnhanceConfig, batch_size: int, seed: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless (y, x0) batches of aligned random excerpts from (noisy, clean) recordings."""
    rng = np.random.default_rng(seed)
    n = (config.chunk_frames - 1) * config.stft.hop
    while True:
        ys, xs = [], []
        for _ in range(batch_size):
            y, x = pairs[int(rng.integers(len(pairs)))]
            if len(y) < n:
                y, x = np.pad(y, (0, n - len(y))), np.pad(x, (0, n - len(x)))
            s = int(rng.integers(0, len(y) - n + 1))
            ys.append(y[s : s + n])
            xs.append(x[s : s + n])
        yield batch_to_specs(
            torch.from_numpy(np.stack(ys)), torch.from_numpy(np.stack(xs)), config.stft
        )


def load_predictor(model: ScoreModel, checkpoint: str | os.PathLike) -> None:
    """Copy the (EMA) predictor weights of a StoRM checkpoint into `model`.

    InputError if the checkpoint has no predictor or a different predictor architecture
    (the mask floor may differ: it has no weights).
    """
    ck = load_checkpoint(checkpoint)
    src = ck.config.predictor if isinstance(ck.config, EnhanceConfig) else None
    own = model.config.predictor
    if model.predictor is None or src is None or own is None:
        raise InputError(f"{checkpoint} has no StoRM predictor to start from.")
    if replace(src, mask_floor=0.0) != replace(own, mask_floor=0.0):
        raise InputError(f"The predictor in {checkpoint} has another architecture ({src}).")
    prefix = "predictor."
    weights = {k[len(prefix) :]: v for k, v in ck.inference_weights.items() if k.startswith(prefix)}
    model.predictor.load_state_dict(weights)


def train_enhancer(
    config: EnhanceConfig,
    train_config: TrainConfig,
    out: str | os.PathLike,
    clean_files: list[Path] | None = None,
    noise_files: list[Path] | None = None,
    pair_files: list[tuple[Path, Path]] | None = None,
    mix: MixConfig = MixConfig(),
    batch_size: int = 8,
    resume: str | os.PathLike | None = None,
    progress: bool = True,
    stage: Stage = "joint",
    predictor_from: str | os.PathLike | None = None,
    init_from: str | os.PathLike | None = None,
) -> Path:
    """Train on clean + noise files mixed on the fly, or on (noisy, clean) pairs; returns `out`.

    StoRM models (`config.predictor` set): `stage` picks what is trained ('joint': both,
    StoRM eq. 12; 'predictor': D only; 'score': the score network with D frozen), and
    `predictor_from` copies D's weights from an earlier StoRM checkpoint first.
    `init_from` starts every weight from a checkpoint of the same architecture (its EMA
    weights; fresh optimizer, step 0), before `predictor_from` replaces D's.
    """
    if config.predictor is None and (stage != "joint" or predictor_from is not None):
        raise InputError("Training stages and --predictor-from apply to StoRM models only.")
    sr = config.sample_rate
    if pair_files:
        pairs = [(load_audio(y, sr).samples, load_audio(x, sr).samples) for y, x in pair_files]
        batches = paired_batches(pairs, config, batch_size, train_config.seed)
    else:
        clean = load_many(clean_files or [], sr, "clean speech")
        recorded = load_many(noise_files or [], sr, "noise") if noise_files else []
        sampler = NoiseSampler(recorded, clean, mix)
        batches = mixed_batches(clean, sampler, config, mix, batch_size, train_config.seed)

    model = ScoreModel(config)
    if init_from is not None:
        try:
            model.load_state_dict(load_checkpoint(init_from).inference_weights)
        except RuntimeError as e:
            raise InputError(f"{init_from} does not fit this model: {e}") from e
    if predictor_from is not None:
        load_predictor(model, predictor_from)
    if model.predictor is not None and stage == "score":
        model.predictor.requires_grad_(False)
    if model.predictor is not None and stage == "predictor":
        model.net.requires_grad_(False)

    def loss_fn(
        model: torch.nn.Module, batch: tuple[torch.Tensor, torch.Tensor], gen: torch.Generator
    ) -> torch.Tensor:
        y, x0 = batch
        if config.predictor is None:
            return dsm_loss(model, x0, y, config, gen)
        return storm_loss(model, x0, y, config, gen, stage)

    return train(
        model,
        loss_fn,
        batches,
        config,
        train_config,
        out,
        resume=resume,
        progress=progress,
    )


def export_for_inference(
    src: str | os.PathLike, dst: str | os.PathLike, sampler_steps: int | None = None
) -> Path:
    """Write `src`'s inference weights (EMA if present) with its config, step and training
    history to `dst`, without the raw weights and optimizer state (about 1/4 the size).

    sampler_steps: the exported model's default number of sampling steps (`default_sampler`;
    StoRM: 0 = the predictor alone); None keeps the checkpoint's. InputError if < 0, or 0
    for an SGMSE+ model."""

    def with_steps(config: EnhanceConfig) -> EnhanceConfig:
        if sampler_steps is None:
            return config
        if sampler_steps < 0 or (sampler_steps == 0 and config.predictor is None):
            raise InputError("--sampling-steps must be >= 1 (0 is allowed only for StoRM models).")
        return replace(config, sampler_steps=sampler_steps)

    return export_inference(src, dst, expect=EnhanceConfig, edit_config=with_steps)
