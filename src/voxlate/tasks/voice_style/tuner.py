"""Training the style tuner (`engines/voice/style_tuner.py: StyleTuner`): pairs made offline
from the shipped Kokoro model alone, then a full-batch fit (``voxlate voice train-tuner``).

`make_pairs`: draw coordinates ``z`` in the `StyleSpace`, let Kokoro speak a probe sentence
with ``pack(z)``, embed it with Resemblyzer; `train_tuner` learns the inverse, embedding -> z.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator

import numpy as np

from voxlate.engines.voice.style_probe import PROBES, ProbeSpeaker
from voxlate.engines.voice.style_space import StyleSpace
from voxlate.engines.voice.style_tuner import HIDDEN, Pairs, StyleTuner

SAMPLE_SCALE = (0.4, 1.8)  # range of the radius multiplier when drawing z ~ s * N(0, I)


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


def timed(fn: Callable[[], object]) -> float:
    """Wall seconds `fn()` takes."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0
