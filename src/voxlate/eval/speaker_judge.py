"""A second speaker judge that no voice fitting optimizes: MFCC statistics + LDA.

Resemblyzer both scores the style search and judges its results, so a style could
learn to please that one network without sounding like the speaker. This judge
shares nothing with it: per clip, the mean and standard deviation over frames of 20
MFCCs and their deltas (80 numbers, 16 kHz, 25 ms Hann windows every 10 ms, 40 mel
bands), standardised, projected by linear discriminant analysis fitted on the
candidate speakers' own recordings, and classified by the nearest class mean
(cosine). It is trained per evaluation, on lines no fit saw.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from voxlate.audio import FRAME_HOP, FRAME_LENGTH, SAMPLE_RATE, Audio
from voxlate.dsp import mel_triangles

RATE = SAMPLE_RATE  # Hz the features are computed at
WIN = FRAME_LENGTH  # samples per frame (25 ms)
HOP = FRAME_HOP  # samples between frames (10 ms)
N_MELS = 40  # mel bands
N_MFCC = 20  # cepstral coefficients kept


def _mel_bank(n_fft: int = 512, rate: int = RATE, n_mels: int = N_MELS) -> np.ndarray:
    """(n_mels, n_fft//2+1) triangular filters, equally spaced on the HTK mel scale."""
    return mel_triangles(np.fft.rfftfreq(n_fft, 1 / rate), n_mels, 0.0, rate / 2)


_BANK = _mel_bank()


def mfcc_stats(audio: Audio) -> np.ndarray:
    """(80,) mean and std over voiced frames of 20 MFCCs and their deltas."""
    from scipy.fft import dct  # type: ignore[import-untyped]

    x = audio.resample(RATE).samples.astype(np.float64)
    if len(x) < WIN:
        x = np.pad(x, (0, WIN - len(x)))
    n = 1 + (len(x) - WIN) // HOP
    idx = np.arange(WIN)[None, :] + HOP * np.arange(n)[:, None]
    frames = x[idx] * np.hanning(WIN)
    power = np.abs(np.fft.rfft(frames, 512)) ** 2
    logmel = np.log(power @ _BANK.T + 1e-10)
    energy = logmel.max(axis=1)
    keep = energy > energy.max() - 6.0 * np.log(10)  # frames within 60 dB of the loudest
    c = dct(logmel[keep], type=2, norm="ortho", axis=1)[:, :N_MFCC]
    d = np.gradient(c, axis=0) if len(c) > 1 else np.zeros_like(c)
    return np.concatenate([c.mean(0), c.std(0), d.mean(0), d.std(0)]).astype(np.float32)


@dataclass
class MfccJudge:
    """Nearest class mean in an LDA space of MFCC statistics; `fit` it, then `identify`."""

    speakers: list[str]
    mu: np.ndarray  # (80,) feature mean
    sd: np.ndarray  # (80,) feature std
    lda: object  # sklearn LinearDiscriminantAnalysis
    means: np.ndarray  # (n_speakers, k) class means in LDA space, unit norm

    @classmethod
    def fit(cls, clips: dict[str, list[Audio]]) -> MfccJudge:
        """Train on each speaker's recordings (speaker -> clips, at least 2 each)."""
        from sklearn.discriminant_analysis import (  # type: ignore[import-untyped]
            LinearDiscriminantAnalysis,
        )

        speakers = sorted(clips)
        x = np.stack([mfcc_stats(a) for s in speakers for a in clips[s]])
        y = np.array([i for i, s in enumerate(speakers) for _ in clips[s]])
        mu, sd = x.mean(0), x.std(0) + 1e-6
        lda = LinearDiscriminantAnalysis(solver="eigen", shrinkage="auto")
        z = lda.fit((x - mu) / sd, y).transform((x - mu) / sd)
        means = np.stack([z[y == i].mean(0) for i in range(len(speakers))])
        means /= np.linalg.norm(means, axis=1, keepdims=True) + 1e-9
        return cls(speakers, mu, sd, lda, means)

    def scores(self, audio: Audio) -> np.ndarray:
        """(n_speakers,) cosine of the clip to each speaker's mean in the LDA space."""
        z = self.lda.transform(((mfcc_stats(audio) - self.mu) / self.sd)[None])[0]  # type: ignore[attr-defined]
        return self.means @ (z / (np.linalg.norm(z) + 1e-9))

    def identify(self, audio: Audio, among: Sequence[str] | None = None) -> str:
        """The speaker the clip sounds most like, of all trained ones or of `among` (a
        forced choice among some of them; the others only shaped the LDA space)."""
        s = self.scores(audio)
        names = self.speakers if among is None else [n for n in self.speakers if n in among]
        return max(names, key=lambda n: s[self.speakers.index(n)])
