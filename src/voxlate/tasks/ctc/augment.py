"""Training-time augmentation: speed perturbation, additive noise, SpecAugment.

Speed perturbation follows Ko et al. (2015), "Audio augmentation for speech
recognition" (factors 0.9, 1.0, 1.1 by resampling, which also shifts pitch).
SpecAugment follows Park et al. (2019): F frequency masks of width <= F_w and T
time masks of width <= T_w; time warping is left out, as in most later recipes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class AugmentConfig:
    speeds: tuple[float, ...] = (0.9, 1.0, 1.1)  # speed factors drawn uniformly; 1.0 = none
    noise_prob: float = 0.3  # probability of adding a noise clip to an utterance
    snr_db: tuple[float, float] = (5.0, 25.0)  # range of signal-to-noise ratios, dB
    freq_masks: int = 2  # SpecAugment F
    freq_width: int = 15  # widest frequency mask, mel bands
    time_masks: int = 2  # SpecAugment T (per utterance)
    time_width: int = 40  # widest time mask, frames (10 ms)
    time_ratio: float = 0.2  # no time mask wider than this fraction of the utterance


def change_speed(x: np.ndarray, factor: float) -> np.ndarray:
    """Play `x` `factor` times faster (length / factor) by linear-interpolation resampling."""
    if factor == 1.0 or len(x) < 2:
        return x
    n = max(2, int(round(len(x) / factor)))
    return np.interp(np.linspace(0, len(x) - 1, n), np.arange(len(x)), x).astype(np.float32)


def add_noise(
    x: np.ndarray, noise: np.ndarray, snr_db: float, rng: np.random.Generator
) -> np.ndarray:
    """Mix a random stretch of `noise` (looped if short) into `x` at `snr_db` dB."""
    if len(noise) == 0:
        return x
    reps = int(np.ceil(len(x) / len(noise))) + 1
    n = np.tile(noise, reps)
    start = int(rng.integers(0, len(n) - len(x) + 1))
    n = n[start : start + len(x)]
    px, pn = float(np.mean(x**2)) + 1e-10, float(np.mean(n**2)) + 1e-10
    return (x + n * np.sqrt(px / (pn * 10 ** (snr_db / 10)))).astype(np.float32)


def spec_augment(
    feats: torch.Tensor,
    lengths: torch.Tensor,
    cfg: AugmentConfig,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Zero random frequency bands and time spans of a batch.

    feats: (batch, frames, mels); lengths: valid frames per item. Returns a new tensor.
    """
    out = feats.clone()
    b, _, m = out.shape
    for i in range(b):
        for _ in range(cfg.freq_masks):
            w = int(torch.randint(0, cfg.freq_width + 1, (1,), generator=generator))
            f0 = int(torch.randint(0, max(1, m - w), (1,), generator=generator))
            out[i, :, f0 : f0 + w] = 0.0
        length = int(lengths[i])
        max_w = min(cfg.time_width, int(cfg.time_ratio * length))
        for _ in range(cfg.time_masks):
            if max_w < 1:
                break
            w = int(torch.randint(0, max_w + 1, (1,), generator=generator))
            t0 = int(torch.randint(0, max(1, length - w), (1,), generator=generator))
            out[i, t0 : t0 + w, :] = 0.0
    return out
