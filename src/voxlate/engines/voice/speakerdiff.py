"""SpeakerDiff at inference: sampling new (pseudo) speaker embeddings for ``--voice anonymize``.

SpeakerDiff: a DDPM over speaker-embedding vectors, for new (pseudo) speakers.

Following SpeakerDiff (diffusion over speaker embeddings to generate pseudo-speakers for
anonymization), a denoiser eps_theta(x_t, t) is trained on embedding vectors x_0 in R^D
with the simple loss of Ho et al. (2020, eq. 14),

    L = E_{t, x_0, eps} || eps - eps_theta(sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps, t) ||^2,

written here for the eps target; the network may instead predict x_0 or
v = sqrt(alpha_bar_t) eps - sqrt(1 - alpha_bar_t) x_0 (Salimans & Ho, 2022). v is the
default: on ~700 real embeddings the eps model leaves samples off the data (mean nearest-
neighbour cosine 0.63), the x0 model copies training points (0.98), v sits between (0.79,
below the 0.86 of held-out real embeddings). All use the sigmoid noise schedule (Jabri
et al., 2022; `voxlate.diffusion.schedules`). The denoiser is an MLP or a 1-D U-Net over the vector (both from `voxlate.diffusion.nets`).
Embeddings are standardised per dimension (mean and std stored in the config) before
diffusion; samples are mapped back and L2-normalised, as the encoder's outputs are.
Sampling: DDPM ancestral (Ho et al., 2020, Algorithm 2) or DDIM (Song et al., 2021).

`sample_pseudo_speaker` draws embeddings from a SpeakerDiff model and rejects every sample
whose cosine distance to the source speaker is below `min_distance` (rejection sampling:
the accepted sample is distributed as the model restricted to {e : 1 - cos(e, s) >= d}).
Training is `voxlate.tasks.speakers.model`; the trained model ships here
(``voxlate/checkpoints/speakerdiff.pt``).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from voxlate.checkpoint import load_checkpoint
from voxlate.diffusion.ddim import ddim_sample
from voxlate.diffusion.ddpm import DDPM, DDPMConfig, ddpm_sample
from voxlate.diffusion.nets import MLP, MLPConfig, UNet1D, UNet1DConfig
from voxlate.errors import InputError


@dataclass(frozen=True)
class SpeakerDiffConfig:
    """Everything that rebuilds a SpeakerDiff model; stored in its checkpoint."""

    dim: int = 256  # embedding size
    denoiser: str = "mlp"  # 'mlp' or 'unet1d'
    mlp: MLPConfig = field(default_factory=lambda: MLPConfig(dim=256, hidden=512, layers=4))
    unet: UNet1DConfig = field(
        default_factory=lambda: UNet1DConfig(base_channels=16, channel_mults=(1, 2, 2))
    )
    ddpm: DDPMConfig = field(  # v prediction: see docs/generation.md (eps underfits, x0 copies)
        default_factory=lambda: DDPMConfig(T=1000, schedule="sigmoid", prediction="v")
    )
    mean: tuple[float, ...] = ()  # per-dimension mean of the training embeddings
    std: tuple[float, ...] = ()  # per-dimension std of the training embeddings
    encoder: str = "resemblyzer"  # the speaker encoder the embeddings came from
    batch_size: int = 128  # training minibatch


def build_denoiser(config: SpeakerDiffConfig) -> nn.Module:
    if config.denoiser == "mlp":
        return MLP(replace(config.mlp, dim=config.dim))
    if config.denoiser == "unet1d":
        return UNet1D(config.unet)
    raise InputError(f"Unknown denoiser '{config.denoiser}'; use mlp or unet1d.")


@dataclass
class SpeakerDiff:
    """A trained SpeakerDiff model (EMA weights) that samples unit speaker embeddings."""

    config: SpeakerDiffConfig
    net: nn.Module
    ddpm: DDPM

    @classmethod
    def load(cls, path: str | os.PathLike) -> SpeakerDiff:
        ck = load_checkpoint(path, expect=SpeakerDiffConfig)
        net = build_denoiser(ck.config)
        net.load_state_dict(ck.inference_weights)
        return cls(ck.config, net.eval(), DDPM.from_config(ck.config.ddpm))

    @torch.no_grad()
    def sample(
        self, n: int, steps: int | None = 100, sampler: str = "ddim", seed: int | None = 0
    ) -> np.ndarray:
        """`n` L2-normalised embeddings (n, dim), float32.

        sampler 'ddim' uses `steps` evaluations (eta = 1: stochastic, DDPM-like variance);
        'ddpm' all T. seed None draws fresh randomness.
        """
        g = torch.Generator()
        g.manual_seed(seed) if seed is not None else g.seed()
        x_T = torch.randn(n, self.config.dim, generator=g)
        if sampler == "ddpm":
            z = ddpm_sample(self.net, self.ddpm, x_T, generator=g)
        elif sampler == "ddim":
            k = self.ddpm.T if steps is None else max(1, min(steps, self.ddpm.T))
            z = ddim_sample(self.net, self.ddpm, x_T, steps=k, eta=1.0, generator=g)
        else:
            raise InputError(f"Unknown sampler '{sampler}'; use ddim or ddpm.")
        e = z.numpy() * np.asarray(self.config.std, np.float32) + np.asarray(
            self.config.mean, np.float32
        )
        return (e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-9)).astype(np.float32)


MIN_DISTANCE = 0.3  # default cosine distance (1 - cos) a pseudo-speaker keeps from the source

_MODELS: dict[str, Any] = {}
_LOCK = threading.Lock()


def default_model_path() -> Path | None:
    """The SpeakerDiff model shipped in the package (sha256-checked; see voxlate.shipped),
    or None when it is absent."""
    from voxlate.shipped import SPEAKERDIFF, checkpoints_dir, shipped_path

    if not (checkpoints_dir() / SPEAKERDIFF).is_file():
        return None
    return shipped_path(SPEAKERDIFF)


def load_model(path: str | os.PathLike | None = None) -> SpeakerDiff:
    """Load (once per process) the SpeakerDiff model at `path`, or the shipped default."""
    p = Path(path) if path is not None else default_model_path()
    if p is None:
        raise InputError(
            "No SpeakerDiff model: train one with 'voxlate speakers train' and pass --model."
        )
    key = str(p.resolve())
    with _LOCK:
        if key not in _MODELS:
            _MODELS[key] = SpeakerDiff.load(p)
        return _MODELS[key]


def sample_pseudo_speaker(
    source_embedding: np.ndarray,
    model_path: str | os.PathLike | None = None,
    min_distance: float = MIN_DISTANCE,
    batch: int = 32,
    max_batches: int = 20,
    seed: int | None = None,
    steps: int = 50,
) -> np.ndarray:
    """A unit speaker embedding (D,) from SpeakerDiff with 1 - cos(e, source) >= min_distance.

    Candidates are drawn `batch` at a time; the first accepted one is returned. Raises
    InputError when `max_batches` batches give no accepted sample (min_distance too large).
    """
    model = load_model(model_path)
    src = np.asarray(source_embedding, dtype=np.float32).reshape(-1)
    if src.shape[0] != model.config.dim:
        raise InputError(
            f"The source embedding has {src.shape[0]} dimensions; the model makes {model.config.dim}."
        )
    src = src / max(float(np.linalg.norm(src)), 1e-9)
    rng = np.random.default_rng(seed)
    for _ in range(max_batches):
        cand = model.sample(batch, steps=steps, seed=int(rng.integers(2**31)))
        ok = np.nonzero(1.0 - cand @ src >= min_distance)[0]
        if len(ok):
            return cand[ok[0]]
    raise InputError(
        f"No pseudo-speaker at cosine distance >= {min_distance} from the source after "
        f"{batch * max_batches} samples; lower min_distance."
    )
