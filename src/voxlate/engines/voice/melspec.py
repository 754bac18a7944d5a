"""Mel power spectrogram in plain NumPy, equal to librosa's for the GE2E speaker encoder.

Resemblyzer computes its features with `librosa.feature.melspectrogram`. On a fresh
install, librosa's first call compiles its numba kernels (about 30 s of a 2-core
machine, and the cache lands in librosa's own package folder). The same numbers
come from an FFT and a Slaney-style mel filterbank, which need no compilation.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


def hz_to_mel(f: np.ndarray | float) -> np.ndarray:
    """Slaney's mel scale (Auditory Toolbox): linear below 1 kHz, logarithmic above."""
    f = np.asarray(f, dtype=np.float64)
    f_sp = 200.0 / 3  # Hz per mel below 1 kHz
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    return np.where(
        f >= min_log_hz,
        min_log_mel + np.log(np.maximum(f, min_log_hz) / min_log_hz) / logstep,
        f / f_sp,
    )


def mel_to_hz(m: np.ndarray | float) -> np.ndarray:
    """The inverse of `hz_to_mel`."""
    m = np.asarray(m, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


@lru_cache(maxsize=8)
def mel_filters(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """Triangular filters (n_mels, n_fft // 2 + 1) from 0 Hz to Nyquist, area-normalised (Slaney)."""
    fft_hz = np.fft.rfftfreq(n_fft, d=1.0 / sample_rate)
    edges = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sample_rate / 2.0), n_mels + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_hz[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights.astype(np.float32)


def mel_power_spectrogram(
    samples: np.ndarray, sample_rate: int, n_fft: int, hop: int, n_mels: int
) -> np.ndarray:
    """Mel power spectrogram (n_mels, frames) of mono `samples` at `sample_rate` Hz.

    Periodic Hann window of `n_fft` samples, frames every `hop` samples, centred by
    `n_fft // 2` zeros on both sides: librosa's defaults (center=True, pad "constant").
    """
    x = np.pad(np.asarray(samples, dtype=np.float32), n_fft // 2)
    n_frames = 1 + (len(x) - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n_frames)[:, None]
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)
    spec = np.fft.rfft(x[idx] * window, axis=1)
    power = (spec.real**2 + spec.imag**2).astype(np.float32)
    return mel_filters(sample_rate, n_fft, n_mels) @ power.T
