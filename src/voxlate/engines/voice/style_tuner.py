"""The learned style tuner: speaker embedding -> Kokoro style coordinates.

Training pairs are made offline from the shipped model alone (`make_pairs`): draw
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
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voxlate.engines.voice.style_probe import PROBES, ProbeSpeaker
from voxlate.engines.voice.style_space import StyleSpace

TUNER_FILE = Path(__file__).with_name("style_tuner.npz")
HIDDEN = 64  # MLP hidden units
SAMPLE_SCALE = (0.4, 1.8)  # range of the radius multiplier when drawing z ~ s * N(0, I)


@dataclass(frozen=True)
class Pairs:
    """Training pairs: coordinates and the embedding of a probe spoken with them."""

    z: np.ndarray  # (n, dim) style coordinates
    embeddings: np.ndarray  # (n, 256) unit vectors


def draw(rng: np.random.Generator, dim: int) -> np.ndarray:
    """One coordinate draw: z ~ s * N(0, I), s uniform in `SAMPLE_SCALE`."""
    return rng.uniform(*SAMPLE_SCALE) * rng.standard_normal(dim).astype(np.float32)


def make_pairs(
    space: StyleSpace, prober: ProbeSpeaker, n: int, seed: int = 0
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield `n` (z, embedding) pairs; each probe is one of `PROBES` in turn (~2 s of speech)."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        z = draw(rng, space.dim)
        heard = prober.hear(space.pack(z), [PROBES[i % len(PROBES)]])
        yield z, heard.embedding


def collect_pairs(
    space: StyleSpace,
    prober: ProbeSpeaker,
    n: int,
    path: str | os.PathLike,
    seed: int = 0,
    every: int = 10,
    progress: Callable[[int], None] | None = None,
) -> Pairs:
    """`make_pairs`, saved to `path` (.npz, atomically) every `every` pairs and at the end,
    so that a long run can be stopped and its pairs still used."""
    from voxlate.audio import atomic_path

    zs, es = [], []
    for i, (z, e) in enumerate(make_pairs(space, prober, n, seed), 1):
        zs.append(z)
        es.append(e)
        if i % every == 0 or i == n:
            with atomic_path(path) as tmp:
                with open(tmp, "wb") as f:
                    np.savez(f, z=np.stack(zs), embeddings=np.stack(es))
        if progress is not None:
            progress(i)
    return Pairs(np.stack(zs), np.stack(es))


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


def train_tuner(
    pairs: Pairs,
    hidden: int = HIDDEN,
    epochs: int = 3000,
    weight_decay: float = 5.0,  # strong: chosen by 5-fold error on the pairs (0.71 vs 1.71 at 1e-3)
    lr: float = 3e-3,
    seed: int = 0,
    pack_embeddings: np.ndarray | None = None,
) -> StyleTuner:
    """Fit the MLP to `pairs` by full-batch Adam on mean squared error in z (torch, CPU)."""
    import torch

    torch.manual_seed(seed)
    x = torch.tensor(pairs.embeddings, dtype=torch.float32)
    y = torch.tensor(pairs.z, dtype=torch.float32)
    net = torch.nn.Sequential(
        torch.nn.Linear(x.shape[1], hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, y.shape[1])
    )
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
    for _ in range(epochs):
        opt.zero_grad()
        loss = torch.mean((net(x) - y) ** 2)
        loss.backward()
        opt.step()
    l1, l2 = net[0], net[2]  # the two Linear layers
    return StyleTuner(
        l1.weight.detach().numpy().copy(),  # type: ignore[operator]
        l1.bias.detach().numpy().copy(),  # type: ignore[operator]
        l2.weight.detach().numpy().copy(),  # type: ignore[operator]
        l2.bias.detach().numpy().copy(),  # type: ignore[operator]
        pairs,
        pack_embeddings,
    )


def pack_embeddings(prober: ProbeSpeaker, names: tuple[str, ...]) -> np.ndarray:
    """(n, 256): each shipped pack speaking the first two `PROBES`, embedded (for the
    nearest-pack choice)."""
    from voxlate.engines.tts.kokoro import load_pack

    return np.stack([prober.hear(load_pack(n), PROBES[:2]).embedding for n in names])


@functools.cache
def default_tuner() -> StyleTuner | None:
    """The shipped tuner, or None when the package holds none."""
    return StyleTuner.load(TUNER_FILE) if TUNER_FILE.exists() else None


def timed(fn: Callable[[], object]) -> float:
    """Wall seconds `fn()` takes."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0
