"""Generate spoken digits and score them with the separately trained classifier.

Protocol (WaveGAN, Donahue et al., 2019; DiffWave, Kong et al., 2021, for SC09): generate
the same number of samples of each digit, turn them into audio (Griffin-Lim), re-encode the
audio as log-mels, classify; report accuracy against the requested digit, the Inception
Score and its modified form, and the Frechet distance between classifier features of
generated audio and of real held-out audio. The real held-out set scored the same way
(through the same Griffin-Lim round trip) gives the reference row.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from voxlate.audio import Audio, save_audio
from voxlate.tasks.digits.classifier import DigitClassifier, classify
from voxlate.tasks.digits.dataset import DigitImages
from voxlate.tasks.digits.features import MelTransform
from voxlate.tasks.digits.metrics import (
    accuracy,
    frechet_distance,
    inception_score,
    modified_inception_score,
)
from voxlate.tasks.digits.model import DigitDiffusion


@dataclass(frozen=True)
class GenScore:
    """Scores of one set of generated (or real) digits."""

    label: str  # e.g. 'ddim 25 steps, s=3'
    accuracy: float  # classifier argmax == requested digit
    inception: float  # IS, 1..10
    modified_inception: float  # mIS
    frechet: float  # FD of classifier features to the real held-out set
    seconds: float  # wall time to generate (sampling only)


def roundtrip(images: torch.Tensor, tf: MelTransform, iters: int = 64) -> torch.Tensor:
    """Images -> audio (Griffin-Lim) -> images: what the classifier sees of generated audio."""
    out = []
    for b in images.split(128):
        waves = tf.decode(b, iters)
        peak = waves.abs().amax(dim=1, keepdim=True).clamp_min(1e-6)
        out.append(tf.encode(0.9 * waves / peak))
    return torch.cat(out)


def score(
    label: str,
    images: torch.Tensor,
    requested: np.ndarray,
    classifier: DigitClassifier,
    real_features: np.ndarray,
    tf: MelTransform,
    seconds: float = 0.0,
) -> GenScore:
    probs, feats = classify(classifier, roundtrip(images, tf))
    return GenScore(
        label,
        accuracy(probs, requested),
        inception_score(probs),
        modified_inception_score(probs),
        frechet_distance(real_features, feats),
        seconds,
    )


def guidance_table(
    model: DigitDiffusion,
    classifier: DigitClassifier,
    heldout: DigitImages,
    per_digit: int = 10,
    guidances: Sequence[float] = (0.0, 1.0, 3.0, 5.0),
    steps: Sequence[int | None] = (10, 25, 50, None),
    seed: int = 0,
    progress: bool = True,
    eta: float = 0.0,
) -> list[GenScore]:
    """Scores over guidance x steps (None = full ancestral DDPM); first row: real held-out.

    eta: DDIM's stochasticity (Song et al., 2021, eq. 16) for the step counts below T.
    """
    tf = MelTransform(model.config.mel)
    _, real_feats = classify(classifier, roundtrip(heldout.images, tf))
    rows = [
        score(
            "real held-out speakers (Griffin-Lim round trip)",
            heldout.images,
            heldout.digits.numpy(),
            classifier,
            real_feats,
            tf,
        )
    ]
    digits = torch.arange(10).repeat_interleave(per_digit)
    cells = [(g, s) for s in steps for g in guidances]
    for g, s in tqdm(cells, disable=not progress, unit="cell", desc="guidance x steps"):
        t0 = time.monotonic()
        sampler = "ddpm" if s is None else "ddim"
        imgs = model.sample(digits, steps=s, sampler=sampler, guidance=g, seed=seed, eta=eta)
        dt = time.monotonic() - t0
        ddim = f"DDIM {s} steps" + (f" eta={eta:g}" if eta else "")
        name = f"DDPM {model.ddpm.T} steps" if s is None else ddim
        rows.append(score(f"{name}, s={g:g}", imgs, digits.numpy(), classifier, real_feats, tf, dt))
    return rows


def save_grid(
    images: torch.Tensor, digits: Sequence[int], out: str | os.PathLike, title: str = ""
) -> Path:
    """A PNG grid of log-mel images (low frequencies at the bottom), labelled by digit."""
    from voxlate.plots import pyplot, save_png

    plt = pyplot()

    n = len(images)
    cols = min(8, n)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(1.4 * cols, 1.5 * rows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < n:
            ax.imshow(
                images[k, 0].numpy(), origin="lower", aspect="auto", cmap="magma", vmin=-1, vmax=1
            )
            ax.set_title(str(int(digits[k])), fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    return save_png(fig, out, dpi=110)


def write_samples(
    images: torch.Tensor,
    digits: Sequence[int],
    out_dir: str | os.PathLike,
    tf: MelTransform,
    iters: int = 64,
) -> list[Path]:
    """One wav per image, ``<digit>_<k>.wav`` (16-bit PCM at the mel rate), plus grid.png."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    audios: list[Audio] = tf.decode_audio(images, iters)
    paths = []
    counts: dict[int, int] = {}
    for a, d in zip(audios, digits, strict=True):
        k = counts.get(int(d), 0)
        counts[int(d)] = k + 1
        p = out / f"{int(d)}_{k:03d}.wav"
        save_audio(p, a)
        paths.append(p)
    save_grid(images, digits, out / "grid.png")
    return paths


def table_markdown(rows: Sequence[GenScore]) -> str:
    from voxlate.tables import markdown_table

    return markdown_table(
        ["samples", "accuracy", "IS", "log10 mIS", "FD", "sampling s"],
        [
            [
                r.label,
                r.accuracy,
                r.inception,
                float(np.log10(max(r.modified_inception, 1.0))),
                r.frechet,
                r.seconds,
            ]
            for r in rows
        ],
    )
