"""Sample-quality metrics on a classifier's outputs, as in the SC09 literature.

Donahue et al. (2019, WaveGAN) scored generated SC09 digits with a separately trained digit
classifier; Kong et al. (2021, DiffWave, section 5.3) report, with such a classifier,
the Inception Score, its modified form and the Frechet distance of the classifier's
features. Definitions used here (numpy/scipy only):

- Inception Score (Salimans et al., 2016):  IS = exp( E_x KL( p(y|x) || p(y) ) ),
  p(y) = E_x p(y|x). 1 <= IS <= K (K classes): K for confident and balanced samples.
- modified IS (Gurumurthy et al., 2017):  mIS = exp( E_{x_i, x_j} KL( p(y|x_i) || p(y|x_j) ) ),
  rewarding within-class diversity.
- Frechet distance (Heusel et al., 2017, FID) between Gaussians fitted to features:
  FD = ||mu_1 - mu_2||^2 + Tr( S_1 + S_2 - 2 (S_1 S_2)^{1/2} ).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg

_EPS = 1e-12


def inception_score(probs: np.ndarray) -> float:
    """IS of class posteriors `probs` (N, K), rows summing to 1."""
    p = np.clip(np.asarray(probs, dtype=np.float64), _EPS, 1.0)
    py = p.mean(axis=0, keepdims=True)
    kl = np.sum(p * (np.log(p) - np.log(py)), axis=1)
    return float(np.exp(kl.mean()))


def modified_inception_score(probs: np.ndarray) -> float:
    """mIS of `probs` (N, K): exp of the mean pairwise KL divergence."""
    p = np.clip(np.asarray(probs, dtype=np.float64), _EPS, 1.0)
    logp = np.log(p)
    ent = np.sum(p * logp, axis=1)  # -H(p_i)
    cross = p @ logp.T  # sum_y p_i(y) log p_j(y)
    kl = ent[:, None] - cross
    return float(np.exp(kl.mean()))


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """FD between Gaussians fitted to feature sets a (N, D) and b (M, D)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    mu1, mu2 = a.mean(axis=0), b.mean(axis=0)
    s1 = np.atleast_2d(np.cov(a, rowvar=False))
    s2 = np.atleast_2d(np.cov(b, rowvar=False))
    with warnings.catch_warnings():  # fewer samples than dimensions: singular, still defined
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():  # near-singular product: regularise (as pytorch-fid)
        off = np.eye(len(s1)) * 1e-6
        covmean = linalg.sqrtm((s1 + off) @ (s2 + off))
    covmean = np.real(covmean)
    fd = float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))
    return max(fd, 0.0)


def accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of rows whose argmax equals the requested label."""
    return float(np.mean(np.argmax(probs, axis=1) == np.asarray(labels)))
