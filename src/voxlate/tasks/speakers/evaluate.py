"""How good are generated speakers? Frechet distance, novelty, diversity, a t-SNE picture.

- Frechet distance (Heusel et al., 2017) between Gaussians fitted to real and generated
  embeddings: FD = ||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^{1/2}). As a reference,
  the FD between two halves of the real set (its sampling noise floor).
- Novelty: for each generated embedding, the cosine to its nearest training embedding.
  Copies score ~1; the reference is the same statistic for held-out real embeddings.
- Diversity: mean pairwise cosine distance (1 - cos) within a set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voxlate.tasks.digits.metrics import frechet_distance


def nearest_cosine(queries: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Cosine of each unit query (N, D) to its nearest unit reference row (M, D): (N,)."""
    return (queries @ reference.T).max(axis=1)


def diversity(x: np.ndarray) -> float:
    """Mean pairwise cosine distance of unit rows (N, D), pairs i != j."""
    n = len(x)
    if n < 2:
        return 0.0
    sims = x @ x.T
    return float(1.0 - (sims.sum() - np.trace(sims)) / (n * (n - 1)))


@dataclass(frozen=True)
class SpeakerGenReport:
    """Numbers for one generated set against real training and held-out sets."""

    n_generated: int
    fd_generated: float  # FD(held-out real, generated)
    fd_train_vs_heldout: float  # FD(train real, held-out real): the noise floor
    nn_cos_generated: float  # mean cosine of generated to nearest training embedding
    nn_cos_heldout: float  # the same for held-out real embeddings
    max_nn_cos_generated: float  # the closest any generated sample came to a training one
    diversity_generated: float
    diversity_real: float


def evaluate_generated(
    train: np.ndarray, heldout: np.ndarray, generated: np.ndarray
) -> SpeakerGenReport:
    nn_g = nearest_cosine(generated, train)
    return SpeakerGenReport(
        n_generated=len(generated),
        fd_generated=frechet_distance(heldout, generated),
        fd_train_vs_heldout=frechet_distance(train, heldout),
        nn_cos_generated=float(nn_g.mean()),
        nn_cos_heldout=float(nearest_cosine(heldout, train).mean()),
        max_nn_cos_generated=float(nn_g.max()),
        diversity_generated=diversity(generated),
        diversity_real=diversity(heldout),
    )


def tsne_plot(
    real: np.ndarray,
    generated: np.ndarray,
    out: str | os.PathLike,
    real_labels: list[str] | None = None,
    seed: int = 0,
) -> Path:
    """A t-SNE (van der Maaten & Hinton, 2008) map of real (by speaker) and generated points."""
    from voxlate.plots import pyplot, save_png

    plt = pyplot()
    from sklearn.manifold import TSNE

    x = np.concatenate([real, generated])
    perplexity = float(min(30, max(2, (len(x) - 1) // 3)))
    y = TSNE(
        2, perplexity=perplexity, init="pca", random_state=seed, metric="cosine"
    ).fit_transform(x)
    yr, yg = y[: len(real)], y[len(real) :]
    fig, ax = plt.subplots(figsize=(6, 5))
    labels = real_labels or ["real"] * len(real)
    top = sorted(set(labels), key=lambda s: -labels.count(s))[:8]
    for name in top:
        idx = [i for i, s in enumerate(labels) if s == name]
        ax.scatter(yr[idx, 0], yr[idx, 1], s=6, alpha=0.5, label=f"real: {name}")
    rest = [i for i, s in enumerate(labels) if s not in top]
    if rest:
        ax.scatter(yr[rest, 0], yr[rest, 1], s=6, alpha=0.5, c="grey", label="real: other")
    ax.scatter(yg[:, 0], yg[:, 1], s=14, c="black", marker="x", label="generated")
    ax.set_title("t-SNE of speaker embeddings: real vs SpeakerDiff samples")
    ax.legend(fontsize=6, markerscale=2, loc="best")
    return save_png(fig, out, dpi=120)
