"""The amplitude-compressed complex STFT that SGMSE+ diffuses in (Richter et al., 2023, sec. IV-A).

c = beta |X|^alpha e^{i angle X}, with alpha = 0.5 and beta = 0.15, on a periodic-Hann STFT
(n_fft 510 -> 256 bins, hop 128 at 16 kHz). A spectrogram tensor is (B, 2, F, T): real and
imaginary parts as two channels, F frequency bins, T frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class STFTConfig:
    """Spectral representation; saved with the model."""

    n_fft: int = 510  # FFT size (samples); n_fft // 2 + 1 = 256 bins
    hop: int = 128  # hop (samples) = 8 ms at 16 kHz
    alpha: float = 0.5  # amplitude compression exponent
    beta: float = 0.15  # amplitude scale after compression

    @property
    def bins(self) -> int:
        return self.n_fft // 2 + 1


def _window(cfg: STFTConfig, device: torch.device) -> torch.Tensor:
    return torch.hann_window(cfg.n_fft, periodic=True, device=device)


def wav_to_spec(wav: torch.Tensor, cfg: STFTConfig) -> torch.Tensor:
    """(B, n) waveform -> (B, 2, F, T) compressed complex spectrogram (real, imag)."""
    X = torch.stft(wav, cfg.n_fft, cfg.hop, window=_window(cfg, wav.device), center=True,
                   return_complex=True)  # fmt: skip
    mag = X.abs()
    c = cfg.beta * mag**cfg.alpha * torch.exp(1j * X.angle())
    return torch.view_as_real(c).permute(0, 3, 1, 2).contiguous()


def spec_to_wav(spec: torch.Tensor, cfg: STFTConfig, length: int) -> torch.Tensor:
    """(B, 2, F, T) compressed spectrogram -> (B, length) waveform (inverse of wav_to_spec)."""
    c = torch.view_as_complex(spec.permute(0, 2, 3, 1).contiguous().float())
    mag = (c.abs() / cfg.beta) ** (1 / cfg.alpha)
    X = mag * torch.exp(1j * c.angle())
    return torch.istft(X, cfg.n_fft, cfg.hop, window=_window(cfg, spec.device), center=True,
                       length=length)  # fmt: skip
