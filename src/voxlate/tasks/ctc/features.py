"""Log-mel features for the CTC and speech-translation models (torch, no torchaudio).

Frames are 25 ms windows every 10 ms at 16 kHz; every other size derives from these.
"""

from __future__ import annotations

import functools

import torch

from voxlate.audio import FRAME_HOP, FRAME_LENGTH, SAMPLE_RATE
from voxlate.dsp import mel_filterbank

N_FFT = FRAME_LENGTH  # 25 ms window
HOP_LENGTH = FRAME_HOP  # 10 ms hop
TOP_MARGIN_HZ = 400  # the mel bank's top band ends this far below Nyquist
FRAME_RATE = SAMPLE_RATE / HOP_LENGTH  # 100 feature frames per second


@functools.lru_cache(maxsize=4)
def mel_filters(n_mels: int, n_fft: int = N_FFT, sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """HTK-style triangular mel filterbank from 20 Hz to 400 Hz below Nyquist,
    shape (n_mels, n_fft // 2 + 1)."""
    return torch.from_numpy(
        mel_filterbank(n_mels, n_fft, sample_rate, 20.0, sample_rate / 2 - TOP_MARGIN_HZ)
    )


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
