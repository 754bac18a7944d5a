"""Log-mel features for the CTC and speech-translation models (torch, no torchaudio).

Frames are 25 ms windows every 10 ms at 16 kHz; every other size derives from these.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

SAMPLE_RATE = 16_000  # Hz
N_FFT = 400  # 25 ms window
HOP_LENGTH = 160  # 10 ms hop
FRAME_RATE = SAMPLE_RATE / HOP_LENGTH  # 100 feature frames per second


@functools.lru_cache(maxsize=4)
def mel_filters(n_mels: int, n_fft: int = N_FFT, sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """HTK-style triangular mel filterbank, shape (n_mels, n_fft // 2 + 1)."""

    def hz_to_mel(f: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def mel_to_hz(m: np.ndarray) -> np.ndarray:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)

    freqs = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    mels = np.linspace(
        hz_to_mel(np.array(20.0)), hz_to_mel(np.array(sample_rate / 2 - 400)), n_mels + 2
    )
    hz = mel_to_hz(mels)
    fb = np.zeros((n_mels, len(freqs)), dtype=np.float32)
    for i in range(n_mels):
        lo, c, hi = hz[i], hz[i + 1], hz[i + 2]
        fb[i] = np.maximum(0.0, np.minimum((freqs - lo) / (c - lo), (hi - freqs) / (hi - c)))
    return torch.from_numpy(fb)


def log_mel(samples: torch.Tensor, n_mels: int = 80) -> torch.Tensor:
    """Log-mel spectrogram of 16 kHz audio, normalised per utterance.

    samples: float (n,) or (batch, n) in [-1, 1] at 16 kHz.
    Returns (frames, n_mels) or (batch, frames, n_mels), frames = n // HOP_LENGTH + 1,
    each mel band with zero mean and unit variance over the utterance.
    """
    x = samples if samples.dim() == 2 else samples[None]
    spec = torch.stft(x, N_FFT, HOP_LENGTH, window=torch.hann_window(N_FFT), return_complex=True)
    power = spec.abs().pow(2)  # (B, F, T)
    mel = torch.log(mel_filters(n_mels) @ power + 1e-6).transpose(1, 2)  # (B, T, M)
    mel = (mel - mel.mean(dim=1, keepdim=True)) / (mel.std(dim=1, keepdim=True) + 1e-5)
    return mel if samples.dim() == 2 else mel[0]


def n_frames(n_samples: int) -> int:
    """Feature frames `log_mel` gives for `n_samples` samples."""
    return n_samples // HOP_LENGTH + 1
