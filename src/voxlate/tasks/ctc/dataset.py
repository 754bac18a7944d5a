"""Audio held in memory, length-bucketed batches and feature collation for training.

Audio is kept as 16 kHz int16 (about 1.9 MB per minute); features are computed per
batch so that speed and noise augmentation act on the waveform.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from voxlate.audio import SAMPLE_RATE, load_audio
from voxlate.data.manifest import ManifestEntry
from voxlate.tasks.ctc.augment import AugmentConfig, add_noise, change_speed, spec_augment
from voxlate.tasks.ctc.features import log_mel


def load_clips(
    entries: Sequence[ManifestEntry], cache: str | os.PathLike | None = None, progress: bool = True
) -> list[np.ndarray]:
    """Each entry's audio as 16 kHz mono int16; read from / written to the `.npz` `cache` when given."""
    if cache is not None and Path(cache).is_file():
        z = np.load(cache)
        if list(z["ids"]) == [e.audio for e in entries]:
            data, offsets = z["data"], z["offsets"]
            return [data[offsets[i] : offsets[i + 1]] for i in range(len(entries))]
    from tqdm import tqdm

    clips = []
    for e in tqdm(entries, desc="loading audio", unit="clip", disable=not progress):
        x = load_audio(e.audio, SAMPLE_RATE).samples
        clips.append((np.clip(x, -1, 1) * 32767).astype(np.int16))
    if cache is not None:
        from voxlate.audio import atomic_path

        offsets = np.cumsum([0] + [len(c) for c in clips])
        with atomic_path(cache) as tmp:
            with open(tmp, "wb") as f:
                np.savez(
                    f,
                    data=np.concatenate(clips) if clips else np.zeros(0, np.int16),
                    offsets=offsets,
                    ids=np.array([e.audio for e in entries]),
                )
    return clips


def make_batches(
    lengths: Sequence[int], max_samples: int, rng: np.random.Generator | None = None
) -> list[list[int]]:
    """Group item indices of similar length so each batch holds <= `max_samples` samples
    (padding included); shuffled when `rng` is given (order within buckets is too)."""
    order = np.argsort(lengths, kind="stable")
    if rng is not None:
        # jitter lengths by up to 10 % so batches differ between epochs
        jitter = np.asarray(lengths) * (1 + 0.1 * rng.random(len(lengths)))
        order = np.argsort(jitter, kind="stable")
    batches: list[list[int]] = []
    cur: list[int] = []
    for i in order:
        longest = max([lengths[j] for j in cur] + [lengths[i]])
        if cur and longest * (len(cur) + 1) > max_samples:
            batches.append(cur)
            cur = []
        cur.append(int(i))
    if cur:
        batches.append(cur)
    if rng is not None:
        rng.shuffle(batches)  # type: ignore[arg-type]
    return batches


@dataclass
class FeatureBatch:
    feats: torch.Tensor  # (B, frames, n_mels) normalised log-mels
    lengths: torch.Tensor  # (B,) valid frames
    index: list[int]  # item indices in the corpus


def collate(
    clips: Sequence[np.ndarray],
    index: list[int],
    n_mels: int,
    augment: AugmentConfig | None = None,
    noises: Sequence[np.ndarray] = (),
    rng: np.random.Generator | None = None,
) -> FeatureBatch:
    """Features of `clips[index]`, augmented (speed, noise, SpecAugment) when `augment` is set."""
    waves = []
    for i in index:
        x = clips[i].astype(np.float32) / 32768.0
        if augment is not None and rng is not None:
            x = change_speed(x, float(rng.choice(augment.speeds)))
            if noises and rng.random() < augment.noise_prob:
                snr = float(rng.uniform(*augment.snr_db))
                x = add_noise(x, noises[int(rng.integers(len(noises)))], snr, rng)
        waves.append(x)
    feats = [log_mel(torch.from_numpy(w), n_mels) for w in waves]
    lengths = torch.tensor([f.shape[0] for f in feats])
    padded = torch.nn.utils.rnn.pad_sequence(feats, batch_first=True)
    if augment is not None:
        padded = spec_augment(padded, lengths, augment)
    return FeatureBatch(padded, lengths, list(index))


def pad_targets(seqs: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, S) zero-padded id tensor and (B,) lengths."""
    lens = torch.tensor([len(s) for s in seqs])
    out = torch.zeros(len(seqs), max(1, int(lens.max()) if len(seqs) else 1), dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = torch.tensor(list(s), dtype=torch.long)
    return out, lens


def load_noises(paths: Sequence[str | os.PathLike], seconds: float = 30.0) -> list[np.ndarray]:
    """Up to `seconds` of each noise file, 16 kHz float32, skipping unreadable ones."""
    out = []
    for p in paths:
        try:
            x = load_audio(p, SAMPLE_RATE).samples[: int(seconds * SAMPLE_RATE)]
        except Exception:  # noqa: BLE001 - a bad noise file is simply not used
            continue
        if len(x) > SAMPLE_RATE // 10 and np.abs(x).max() > 1e-3:
            out.append(x)
    return out
