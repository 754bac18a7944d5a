"""An intelligibility term for the predictor: 1 - an ESTOI-like score on spectrograms.

ESTOI (Jensen & Taal, 2016) compares one-third-octave band envelopes of the clean and the
processed speech in 384 ms segments: each band's envelope is normalised over the segment
(zero mean, unit norm), then each frame over the bands, and the score is the mean inner
product of the clean and processed frames. `estoi_loss` does the same, differentiably, on
the model's STFT (16 kHz, 8 ms hop) instead of ESTOI's 10 kHz / 12.8 ms one: 15 bands
centred at 150 Hz * 2^(k/3) (up to 4.3 kHz), segments of 48 frames (384 ms) every 16
frames. It leaves out ESTOI's removal of silent frames. A squared error on the compressed
spectrogram treats all 256 bins alike (half of them above 4 kHz, where ESTOI does not
look) and pays little for removing weak speech together with the noise; this term does.
"""

from __future__ import annotations

import functools

import torch

from voxlate.audio import SAMPLE_RATE
from voxlate.engines.enhance.stft import STFTConfig


@functools.cache
def third_octave_bands(
    stft: STFTConfig, sample_rate: int = SAMPLE_RATE, bands: int = 15, low: float = 150.0
) -> torch.Tensor:
    """(bands, F) 0/1 matrix: which STFT bins fall in each one-third-octave band (STOI's:
    centres low * 2^(k/3), edges at centre * 2^(+-1/6))."""
    freqs = torch.arange(stft.bins) * sample_rate / stft.n_fft
    centres = low * 2.0 ** (torch.arange(bands) / 3.0)
    lo, hi = centres * 2 ** (-1 / 6), centres * 2 ** (1 / 6)
    return ((freqs[None] >= lo[:, None]) & (freqs[None] < hi[:, None])).float()


def _normalise(x: torch.Tensor, dim: int, eps: float) -> torch.Tensor:
    x = x - x.mean(dim, keepdim=True)
    return x / (x.norm(dim=dim, keepdim=True) + eps)


def estoi_loss(
    estimate: torch.Tensor,
    reference: torch.Tensor,
    stft: STFTConfig,
    segment: int = 48,
    stride: int = 16,
    eps: float = 1e-8,
) -> torch.Tensor:
    """1 - ESTOI-like score of (B, 2, F, T) compressed spectrograms (see module docstring);
    0 when the band envelopes match up to per-segment gain and offset. Excerpts shorter
    than `segment` frames make one segment of their length."""
    segment = min(segment, estimate.shape[-1])

    def envelopes(spec: torch.Tensor) -> torch.Tensor:  # (B, J, T) band magnitudes |X|
        power = ((spec[:, 0] ** 2 + spec[:, 1] ** 2) / stft.beta**2) ** (1 / stft.alpha)
        w = third_octave_bands(stft).to(spec.device, spec.dtype)
        return torch.sqrt(torch.einsum("jf,bft->bjt", w, power) + eps)

    x = envelopes(reference).unfold(2, segment, stride)  # (B, J, S, N)
    y = envelopes(estimate).unfold(2, segment, stride)
    x = _normalise(_normalise(x, -1, eps), 1, eps)  # bands over time, then frames over bands
    y = _normalise(_normalise(y, -1, eps), 1, eps)
    return 1 - (x * y).sum(1).mean()
