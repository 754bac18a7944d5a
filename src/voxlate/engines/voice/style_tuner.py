"""The learned style tuner: speaker embedding -> Kokoro style coordinates.

Training pairs are made offline from the shipped model alone
(`voxlate.tasks.voice_style.tuner`: `make_pairs`, `train_tuner`): draw
coordinates ``z`` in the `StyleSpace`, let Kokoro speak a probe sentence with
``pack(z)``, embed it with Resemblyzer. A small MLP (`StyleTuner`) learns the inverse,
embedding -> z. It ships as ``style_tuner.npz`` next to this module (weights, the
pairs' embeddings and coordinates for a nearest-neighbour lookup, the space it was
trained in); ``voxlate voice train-tuner`` regenerates it.

Inference is numpy only: two matrix products, a few microseconds.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TUNER_FILE = Path(__file__).with_name("style_tuner.npz")
HIDDEN = 64  # MLP hidden units


@dataclass(frozen=True)
class Pairs:
    """Training pairs: coordinates and the embedding of a probe spoken with them."""

    z: np.ndarray  # (n, dim) style coordinates
    embeddings: np.ndarray  # (n, 256) unit vectors


@dataclass(frozen=True)
class StyleTuner:
    """A one-hidden-layer MLP embedding (256,) -> coordinates (dim,), plus its pairs.

    z = W2 tanh(W1 e + b1) + b2. The training pairs ride along for `lookup`.
    """

    w1: np.ndarray  # (hidden, 256)
    b1: np.ndarray  # (hidden,)
    w2: np.ndarray  # (dim, hidden)
    b2: np.ndarray  # (dim,)
    pairs: Pairs  # what it was trained on
    pack_embeddings: np.ndarray | None = None  # (n_packs, 256) probes of the shipped packs

    def __call__(self, embedding: np.ndarray) -> np.ndarray:
        """Coordinates (dim,) predicted for a speaker embedding (256,)."""
        h = np.tanh(self.w1 @ np.asarray(embedding, np.float32) + self.b1)
        return (self.w2 @ h + self.b2).astype(np.float32)

    def lookup(self, embedding: np.ndarray, k: int = 1) -> np.ndarray:
        """The mean coordinates of the `k` training styles whose probes sound most like it."""
        sims = self.pairs.embeddings @ np.asarray(embedding, np.float32)
        best = np.argsort(-sims)[:k]
        return self.pairs.z[best].mean(axis=0)

    def save(self, path: str | os.PathLike) -> None:
        """Write the tuner to `path` (.npz, float16 pairs; atomically)."""
        from voxlate.audio import atomic_path

        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez_compressed(
                    f,
                    w1=self.w1,
                    b1=self.b1,
                    w2=self.w2,
                    b2=self.b2,
                    z=self.pairs.z.astype(np.float16),
                    embeddings=self.pairs.embeddings.astype(np.float16),
                    pack_embeddings=(
                        np.zeros((0, 256)) if self.pack_embeddings is None else self.pack_embeddings
                    ),
                )

    @classmethod
    def load(cls, path: str | os.PathLike) -> StyleTuner:
        with np.load(path) as d:
            pairs = Pairs(d["z"].astype(np.float32), d["embeddings"].astype(np.float32))
            packs = d["pack_embeddings"].astype(np.float32) if "pack_embeddings" in d else None
            w1, b1, w2, b2 = (d[k].astype(np.float32) for k in ("w1", "b1", "w2", "b2"))
            return cls(
                w1,
                b1,
                w2,
                b2,
                pairs=pairs,
                pack_embeddings=packs if packs is not None and len(packs) else None,
            )


@functools.cache
def default_tuner() -> StyleTuner | None:
    """The shipped tuner, or None when the package holds none."""
    return StyleTuner.load(TUNER_FILE) if TUNER_FILE.exists() else None
