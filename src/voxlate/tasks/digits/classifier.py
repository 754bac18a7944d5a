"""A small CNN digit classifier on log-mel images, trained separately to score generated audio.

As in WaveGAN (Donahue et al., 2019) and DiffWave (Kong et al., 2021) for SC09, the
classifier is independent of the generator: it is trained on real (here: held-in speakers
of the corpus) log-mels and applied to generated audio after the audio has been turned back
into log-mels, so vocoder (Griffin-Lim) losses count against the generator. Its penultimate
layer gives the features of the Frechet distance.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from voxlate.checkpoint import load_checkpoint, save_checkpoint
from voxlate.errors import InputError
from voxlate.tasks.digits.dataset import DigitImages, endless_batches
from voxlate.tasks.digits.features import MelConfig
from voxlate.training import TrainingInterrupted, TrainRun


@dataclass(frozen=True)
class ClassifierConfig:
    """The digit classifier; stored with its weights."""

    mel: MelConfig = field(default_factory=MelConfig)  # the images it reads
    channels: tuple[int, ...] = (16, 32, 64)  # conv channels per stage (each halves H and W)
    features: int = 128  # size of the penultimate layer (Frechet-distance features)
    num_classes: int = 10  # digits
    dropout: float = 0.3  # before the last layer


class DigitClassifier(nn.Module):
    """images (B, 1, M, T) -> logits (B, K); `features` gives the (B, features) embedding."""

    def __init__(self, config: ClassifierConfig) -> None:
        super().__init__()
        self.config = config
        layers: list[nn.Module] = []
        c = 1
        for ch in config.channels:
            layers += [
                nn.Conv2d(c, ch, 3, padding=1),
                nn.BatchNorm2d(ch),
                nn.ReLU(),
                nn.Conv2d(ch, ch, 3, padding=1),
                nn.BatchNorm2d(ch),
                nn.ReLU(),
                nn.MaxPool2d(2),
            ]
            c = ch
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d((2, 2)), nn.Flatten())
        self.proj = nn.Sequential(nn.Linear(4 * c, config.features), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(config.features, 10))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.body(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Random level (+-6 dB), one time mask and one frequency mask (SpecAugment-style)."""
    b, _, m, t = x.shape
    gain = (torch.rand(b, 1, 1, 1, generator=g) - 0.5) * 0.3  # 0.15 image units = 6 dB
    x = torch.where(x > -1.0, (x + gain).clamp(-1, 1), x)
    for dim, size, width in ((3, t, 4), (2, m, 4)):
        w = torch.randint(0, width + 1, (b,), generator=g)
        s = (torch.rand(b, generator=g) * (size - w)).long()
        idx = torch.arange(size)
        mask = (idx[None] >= s[:, None]) & (idx[None] < (s + w)[:, None])  # (b, size)
        shape = (b, 1, 1, size) if dim == 3 else (b, 1, size, 1)
        x = torch.where(mask.reshape(shape), torch.full_like(x, -1.0), x)
    return x


def train_classifier(
    data: DigitImages,
    out: str | os.PathLike,
    config: ClassifierConfig | None = None,
    steps: int = 1500,
    batch_size: int = 64,
    lr: float = 2e-3,
    seed: int = 0,
    progress: bool = True,
    minutes: float = 0.0,
) -> Path:
    """Adam with cosine decay, cross-entropy, light augmentation; saves a checkpoint.

    minutes: time budget (0: none); the run stops and saves once it is spent. Raises
    TrainingInterrupted after saving on Ctrl-C.
    """
    config = config or ClassifierConfig()
    if len(data) == 0:
        raise InputError("No training clips: the digit corpus is empty.")
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = DigitClassifier(config)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps, pct_start=0.1)
    batches = endless_batches(data, batch_size, seed, shift=3)
    history = []
    model.train()
    step = 0
    with TrainRun(minutes, steps, progress=progress, desc="classifier") as run:
        while step < steps and not run.stop:
            x, y = next(batches)
            loss = nn.functional.cross_entropy(model(_augment(x, g)), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            run.advance(loss=f"{float(loss.detach()):.3f}")
            if step % 100 == 0:
                history.append((step, float(loss)))
        seconds = run.elapsed_s
    path = save_checkpoint(
        out,
        config=config,
        model=model.state_dict(),
        step=step,
        extra={"loss_history": history, "train_seconds": seconds},
    )
    if run.interrupted:
        raise TrainingInterrupted(path, step)
    return path


def load_classifier(path: str | os.PathLike) -> DigitClassifier:
    ck = load_checkpoint(path, expect=ClassifierConfig)
    model = DigitClassifier(ck.config)
    model.load_state_dict(ck.inference_weights)
    return model.eval()


@torch.no_grad()
def classify(model: DigitClassifier, images: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities (N, 10), features (N, F)) of images (N, 1, M, T)."""
    probs, feats = [], []
    for b in images.split(256):
        f = model.features(b)
        feats.append(f)
        probs.append(torch.softmax(model.head(f), dim=-1))
    return torch.cat(probs).numpy(), torch.cat(feats).numpy()
