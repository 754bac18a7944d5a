"""Frame-level envelope replacement by nearest neighbours in a target-voice codebook.

The idea of kNN-VC (Baas et al., 2023, "Voice Conversion With Just Nearest
Neighbors"), applied to WORLD spectral envelopes instead of WavLM features: every
frame of the (already warped and equalised) synthesized speech is matched to its
k nearest frames of the target speaker, compared by mean-normalised mel-band
log energies, and its envelope is moved towards their mean envelope. Envelope
shape (formants, timbre) then comes from the target voice while the frame's
loudness and the timing, F0 and aperiodicity stay those of the synthesized speech.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voxlate.dsp import mel_triangles

GRID_HZ = 8000.0  # codebook envelopes cover 0..GRID_HZ (inside any >= 16 kHz clip)
GRID_BINS = 257  # points of the codebook's frequency grid
N_MELS = 32  # mel bands of the matching features
MAX_FRAMES = 4000  # codebook size limit (20 s at 5 ms frames)


def _mel_matrix(freqs: np.ndarray) -> np.ndarray:
    """(bins, N_MELS) triangular mel filter weights over `freqs` (Hz), 60..7600 Hz."""
    w = mel_triangles(freqs, N_MELS, 60.0, 7600.0).T
    return w / np.maximum(w.sum(axis=0, keepdims=True), 1e-9)


def _to_grid(sp: np.ndarray, sample_rate: int) -> np.ndarray:
    """Envelope frames (frames, bins over 0..sr/2) as dB on the codebook grid (frames, GRID_BINS)."""
    freqs = np.linspace(0, sample_rate / 2, sp.shape[1])
    grid = np.linspace(0, GRID_HZ, GRID_BINS)
    i = np.clip(np.searchsorted(freqs, grid) - 1, 0, len(freqs) - 2)
    w = (grid - freqs[i]) / (freqs[i + 1] - freqs[i])
    db = 10 * np.log10(np.maximum(sp, 1e-20))
    return db[:, i] * (1 - w) + db[:, i + 1] * w


def features(grid_db: np.ndarray) -> np.ndarray:
    """Mean-normalised mel log energies (frames, N_MELS) of grid envelopes (dB)."""
    m = _mel_matrix(np.linspace(0, GRID_HZ, GRID_BINS))
    feats = 10 * np.log10(np.maximum((10 ** (grid_db / 10)) @ m, 1e-20))
    return feats - feats.mean(axis=0, keepdims=True)


@dataclass(frozen=True, eq=False)
class Codebook:
    """Envelopes of one target voice on a fixed grid, with their matching features."""

    envelopes: np.ndarray  # (n, GRID_BINS) dB, level-normalised per frame
    feats: np.ndarray  # (n, N_MELS) mean-normalised mel log energies

    @classmethod
    def from_frames(cls, sp: np.ndarray, sample_rate: int, keep: np.ndarray) -> Codebook:
        """Build from WORLD envelope frames `sp` (frames, bins), keeping rows where `keep`."""
        db = _to_grid(sp[keep], sample_rate)
        if len(db) > MAX_FRAMES:
            db = db[np.linspace(0, len(db) - 1, MAX_FRAMES).astype(np.int64)]
        return cls(db - db.mean(axis=1, keepdims=True), features(db))


def replace_envelopes(
    sp: np.ndarray, sample_rate: int, book: Codebook, strength: float, k: int = 4
) -> np.ndarray:
    """Move each envelope frame of `sp` towards the mean of its k nearest codebook frames.

    sp: (frames, bins) power envelope over 0..sample_rate/2.
    strength: 0 keeps `sp`, 1 takes the neighbours' shape entirely (below GRID_HZ;
        above it the weight fades out over 1 kHz).
    Returns the new (frames, bins) power envelope; each frame keeps its mean level.
    """
    if strength <= 0 or len(book.feats) < k:
        return sp
    db = _to_grid(sp, sample_rate)
    q = features(db)
    d = (q**2).sum(1)[:, None] - 2 * q @ book.feats.T + (book.feats**2).sum(1)[None, :]
    nn = np.argpartition(d, k - 1, axis=1)[:, :k]
    target = book.envelopes[nn].mean(axis=1) + db.mean(axis=1, keepdims=True)
    delta_grid = (target - db) * strength  # dB change on the grid
    freqs = np.linspace(0, sample_rate / 2, sp.shape[1])
    grid = np.linspace(0, GRID_HZ, GRID_BINS)
    fade = np.clip((GRID_HZ + 1000.0 - freqs) / 1000.0, 0.0, 1.0)
    fade[freqs <= GRID_HZ] = 1.0
    cols = np.clip(np.searchsorted(grid, np.minimum(freqs, GRID_HZ)), 0, GRID_BINS - 1)
    delta = delta_grid[:, cols] * fade[None, :]
    return sp * 10 ** (delta / 10)
