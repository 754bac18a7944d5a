"""The issue's two pre-tests of content features, run on a trained converter's bottleneck.

- within-speaker R²: a ridge regression from single frames of the features to the cepstrum
  (c0-1, c2-5, c6-19), fitted on some utterances of one speaker and scored on the others;
- speaker leak: accuracy of a linear classifier telling speakers apart from single frames
  (balanced frames per speaker; chance = 1 / speakers), scored on held-out utterances.

Both are also run on the plain log-mel input, for reference.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from voxlate.engines.voice.converter_model import ConverterNet
from voxlate.tasks.converter.corpus import SpeakerFeatures

BANDS = {"c0-1": slice(0, 2), "c2-5": slice(2, 6), "c6-19": slice(6, 20)}

Featurizer = Callable[[np.ndarray], np.ndarray]  # log-mel (T, 80) -> features (T, D)


def bottleneck(net: ConverterNet) -> Featurizer:
    def f(mel: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return net.content(torch.from_numpy(mel)[None])[0].T.numpy()

    return f


def log_mel_input(mel: np.ndarray) -> np.ndarray:
    return mel


def _r2(y: np.ndarray, p: np.ndarray) -> float:
    return float(1 - ((y - p) ** 2).sum() / max(((y - y.mean(0)) ** 2).sum(), 1e-12))


def within_speaker_r2(
    feats: SpeakerFeatures, f: Featurizer, alpha: float = 1.0
) -> dict[str, float]:
    """Ridge R² per cepstral band on every 4th utterance (held out), fitted on the rest."""
    from sklearn.linear_model import Ridge

    tr_x: list[np.ndarray] = []
    tr_y: list[np.ndarray] = []
    te_x: list[np.ndarray] = []
    te_y: list[np.ndarray] = []
    for i, (mel, mcep) in enumerate(zip(feats.mels, feats.mceps, strict=True)):
        x = f(mel)
        (te_x if i % 4 == 2 else tr_x).append(x)
        (te_y if i % 4 == 2 else tr_y).append(mcep[:, :20])
    xt, yt = np.concatenate(tr_x), np.concatenate(tr_y)
    mu, sd = xt.mean(0), xt.std(0) + 1e-6
    model = Ridge(alpha=alpha).fit((xt - mu) / sd, yt)
    xe, ye = np.concatenate(te_x), np.concatenate(te_y)
    pe = model.predict((xe - mu) / sd)
    return {k: _r2(ye[:, s], pe[:, s]) for k, s in BANDS.items()}


def speaker_leak(
    speakers: list[SpeakerFeatures], f: Featurizer, per_speaker: int = 3000, seed: int = 0
) -> float:
    """Held-out single-frame accuracy of a logistic regression over `speakers`."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)
    tr_x: list[np.ndarray] = []
    tr_y: list[np.ndarray] = []
    te_x: list[np.ndarray] = []
    te_y: list[np.ndarray] = []
    for k, s in enumerate(speakers):
        xs = [f(m) for m in s.mels]
        loud = [c[:, 0] > np.percentile(c[:, 0], 30) for c in s.mceps]
        tr = np.concatenate([x[w] for i, (x, w) in enumerate(zip(xs, loud)) if i % 4 != 2])
        te = np.concatenate([x[w] for i, (x, w) in enumerate(zip(xs, loud)) if i % 4 == 2])
        tr = tr[rng.permutation(len(tr))[:per_speaker]]
        te = te[rng.permutation(len(te))[: per_speaker // 3]]
        tr_x.append(tr)
        te_x.append(te)
        tr_y.append(np.full(len(tr), k))
        te_y.append(np.full(len(te), k))
    xt, xe = np.concatenate(tr_x), np.concatenate(te_x)
    mu, sd = xt.mean(0), xt.std(0) + 1e-6
    clf = LogisticRegression(max_iter=500).fit((xt - mu) / sd, np.concatenate(tr_y))
    # balanced accuracy: the mean of per-speaker recalls
    pred = clf.predict((xe - mu) / sd)
    ye = np.concatenate(te_y)
    return float(np.mean([np.mean(pred[ye == k] == k) for k in range(len(speakers))]))


def probe_report(
    net: ConverterNet, features: dict[str, SpeakerFeatures], r2_speaker: str = "statue"
) -> dict[str, dict[str, float]]:
    """Both pre-tests for the bottleneck and the log-mel input: R² bands on `r2_speaker`,
    leak over two speakers ('statue', 'white') and over all validation speakers given."""
    rows: dict[str, dict[str, float]] = {}
    two = [features[s] for s in ("statue", "white") if s in features]
    every = [f for f in features.values() if len(f.mels) >= 4]
    for name, f in (("log-mel", log_mel_input), ("bottleneck", bottleneck(net))):
        row = within_speaker_r2(features[r2_speaker], f)
        row["leak 2"] = speaker_leak(two, f)
        row[f"leak {len(every)}"] = speaker_leak(every, f)
        rows[name] = row
    return rows
