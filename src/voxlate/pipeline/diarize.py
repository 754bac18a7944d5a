"""Who spoke when: the utterances of a whole recording clustered into speakers.

The file pipeline knows every utterance before it speaks any of them, so rather than the
online clusters of the voice stages (`voice/stages.py: SpeakerTracker`, kept for live),
it embeds each utterance with the same speaker encoder (Resemblyzer) and clusters them
all at once: agglomerative, average linkage on cosine distance, cut at `SAME_SPEAKER_DISTANCE`
(chosen on Czech Fish Fillets actors' lines, dev seeds of `voxlate bench diarize`) or into exactly
`n_speakers` clusters when the user says how many there are (``--speakers N``).

Utterances shorter than `MIN_CLUSTER_S` give noisy embeddings: they are left out of the
clustering and joined to the nearest cluster afterwards. Labels are ``S1``, ``S2``, ...
in order of first appearance.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from voxlate.audio import Audio
from voxlate.engines.voice.base import SpeakerEncoder
from voxlate.errors import InputError

# Average-linkage cosine distance at which two clusters stop merging; chosen on Fish
# Fillets Czech actors (2- and 3-speaker recordings of the dev seeds, `bench diarize`:
# 0.36 and 0.38 tie there) and checked on two English speakers of pocketsphinx-testdata,
# whose clusters merge at about 0.37.
SAME_SPEAKER_DISTANCE = 0.36
MIN_CLUSTER_S = 2.0  # utterances shorter than this are assigned after clustering (s)
MIN_LONG = 6  # with fewer long utterances than this, every utterance is clustered
# A cluster with less speech than this (s) is joined to its nearest one (found, not told,
# speaker counts): on the dev seeds most such clusters were a speaker split in two.
MIN_SPEAKER_S = 4.0
MAX_SPEAKERS = 20  # the most `--speakers` accepts


def check_speakers(n: int | None) -> int | None:
    """`n` when it is a usable speaker count (1..MAX_SPEAKERS) or None; else InputError."""
    if n is not None and not 1 <= n <= MAX_SPEAKERS:
        raise InputError(f"--speakers must be between 1 and {MAX_SPEAKERS}, not {n}.")
    return n


def label(i: int) -> str:
    """The report's name of the i-th speaker (0-based): 'S1', 'S2', ..."""
    return f"S{i + 1}"


def cluster(
    embeddings: np.ndarray,
    durations: Sequence[float],
    threshold: float = SAME_SPEAKER_DISTANCE,
    n_speakers: int | None = None,
    min_cluster_s: float = MIN_CLUSTER_S,
) -> list[int]:
    """A cluster index per row of `embeddings` (L2-normalised, (n, dim)), numbered from 0
    in order of first appearance.

    Rows of at least `min_cluster_s` seconds are clustered (average linkage, cosine
    distance), cut at `threshold` or into `n_speakers` clusters; the shorter rows then join
    the cluster whose centroid is nearest. With fewer than `MIN_LONG` rows long enough (a
    short recording), all rows are clustered. Without `n_speakers`, a cluster of less than
    `MIN_SPEAKER_S` seconds of speech joins its nearest cluster.
    """
    n = len(embeddings)
    if n == 0:
        return []
    x = np.asarray(embeddings, dtype=np.float64)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-9)
    long = [i for i, d in enumerate(durations) if d >= min_cluster_s]
    if len(long) < MIN_LONG:
        long = list(range(n))
    ids = np.zeros(n, dtype=int)
    if len(long) > 1:
        from scipy.cluster.hierarchy import fcluster, linkage

        z = linkage(x[long], method="average", metric="cosine")
        if n_speakers is not None:
            found = fcluster(z, t=min(n_speakers, len(long)), criterion="maxclust")
        else:
            found = fcluster(z, t=threshold, criterion="distance")
        ids[long] = found - 1
    k = int(ids[long].max()) + 1
    centroids = np.stack([x[[i for i in long if ids[i] == c]].mean(axis=0) for c in range(k)])
    centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-9)
    short = sorted(set(range(n)) - set(long))
    if short:
        ids[short] = np.argmax(x[short] @ centroids.T, axis=1)
    if n_speakers is None:
        ids = _merge_small(x, np.asarray(durations, dtype=float), ids, MIN_SPEAKER_S)
    order: dict[int, int] = {}
    for c in ids:
        order.setdefault(int(c), len(order))
    return [order[int(c)] for c in ids]


def _merge_small(x: np.ndarray, d: np.ndarray, ids: np.ndarray, min_s: float) -> np.ndarray:
    """`ids` with the cluster of least speech joined to its nearest cluster (cosine of
    centroids) while it has less than `min_s` seconds and other clusters remain."""
    ids = ids.copy()
    while True:
        ks = sorted(set(int(k) for k in ids))
        if len(ks) <= 1:
            return ids
        total = {k: float(d[ids == k].sum()) for k in ks}
        small = min(ks, key=lambda k: total[k])
        if total[small] >= min_s:
            return ids
        c = {k: x[ids == k].mean(axis=0) for k in ks}
        near = max((k for k in ks if k != small), key=lambda k: float(c[k] @ c[small]))
        ids[ids == small] = near


@dataclass(frozen=True)
class Diarization:
    """The speakers of a recording's utterances."""

    labels: list[str]  # per utterance, 'S1', 'S2', ... in order of first appearance
    embeddings: np.ndarray  # (n, dim) per utterance, L2-normalised
    seconds: float  # wall time spent (embedding and clustering)

    def speakers(self) -> list[str]:
        """The labels in order of first appearance."""
        return list(dict.fromkeys(self.labels))

    def centroid(self, speaker: str) -> np.ndarray:
        """The L2-normalised mean embedding of `speaker`'s utterances."""
        rows = [i for i, s in enumerate(self.labels) if s == speaker]
        c = self.embeddings[rows].mean(axis=0)
        return (c / max(float(np.linalg.norm(c)), 1e-9)).astype(np.float32)


class Diarizer:
    """Embed every utterance with `encoder` and cluster them (`cluster`).

    n_speakers: how many speakers there are (None: found by `threshold`).
    """

    def __init__(
        self,
        encoder: SpeakerEncoder,
        threshold: float = SAME_SPEAKER_DISTANCE,
        n_speakers: int | None = None,
    ) -> None:
        self.encoder = encoder
        self.threshold = threshold
        self.n_speakers = check_speakers(n_speakers)

    def __call__(self, clips: Sequence[Audio]) -> Diarization:
        t0 = time.perf_counter()
        if not clips:
            return Diarization([], np.zeros((0, self.encoder.dim), np.float32), 0.0)
        embs = np.stack([self.encoder.embed(c) for c in clips]).astype(np.float32)
        ids = cluster(embs, [c.duration for c in clips], self.threshold, self.n_speakers)
        return Diarization([label(i) for i in ids], embs, time.perf_counter() - t0)
