"""Spoken-digit corpora as tensors of log-mel images, cached next to the corpus."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from voxlate.audio import atomic_path, load_audio
from voxlate.data.digits import DigitClip, read_digits, split_by_speaker
from voxlate.errors import InputError
from voxlate.tasks.digits.features import MelConfig, MelTransform


@dataclass
class DigitImages:
    """Log-mel images with labels. images: (N, 1, n_mels, frames) in [-1, 1]; digits: (N,)."""

    images: torch.Tensor
    digits: torch.Tensor
    speakers: list[str]

    def __len__(self) -> int:
        return len(self.digits)


def images_from_clips(clips: list[DigitClip], mel: MelConfig, progress: bool = True) -> DigitImages:
    """Load each clip at the mel rate, fit it to the image length and encode it."""
    tf = MelTransform(mel)
    waves = []
    for c in tqdm(clips, disable=not progress, unit="clip", desc="log-mels"):
        waves.append(tf.fit(load_audio(c.path, mel.sample_rate).samples))
    x = torch.from_numpy(np.stack(waves)) if waves else torch.zeros(0, mel.n_samples)
    images = torch.cat([tf.encode(b) for b in x.split(256)]) if len(x) else x
    return DigitImages(images, torch.tensor([c.digit for c in clips]), [c.speaker for c in clips])


def load_split(
    root: str | os.PathLike,
    mel: MelConfig,
    layout: str = "auto",
    test_fraction: float = 0.2,
    seed: int = 0,
    progress: bool = True,
) -> tuple[DigitImages, DigitImages]:
    """(train, test) images of a digit corpus, held-out speakers in test.

    Cached as ``<root>/.voxlate-mels-<hash>.pt`` keyed by the mel config and split.
    """
    clips = read_digits(root, layout)
    key = json.dumps([asdict(mel), layout, test_fraction, seed, len(clips)], sort_keys=True)
    cache = Path(root) / f".voxlate-mels-{hashlib.sha1(key.encode()).hexdigest()[:10]}.pt"
    if cache.is_file():
        blob = torch.load(cache, weights_only=False)
        return DigitImages(**blob["train"]), DigitImages(**blob["test"])
    train, test = split_by_speaker(clips, test_fraction, seed)
    if not train:
        raise InputError(f"The digit corpus {root} has too few speakers to split.")
    tr, te = images_from_clips(train, mel, progress), images_from_clips(test, mel, progress)
    try:
        with atomic_path(cache) as tmp:
            torch.save({"train": tr.__dict__, "test": te.__dict__}, tmp)
    except OSError:
        pass  # a read-only corpus is fine; we just don't cache
    return tr, te


def endless_batches(
    data: DigitImages, batch_size: int, seed: int = 0, shift: int = 0
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Random minibatches (images, digits) forever; `shift` > 0 rolls each image in time
    by up to +-shift frames (a light augmentation: digits are not always centred)."""
    g = torch.Generator().manual_seed(seed)
    n = len(data)
    while True:
        idx = torch.randint(0, n, (min(batch_size, n),), generator=g)
        x = data.images[idx]
        if shift > 0:
            k = int(torch.randint(-shift, shift + 1, (1,), generator=g))
            x = torch.roll(x, k, dims=-1)
        yield x, data.digits[idx]
