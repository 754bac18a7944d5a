"""Log-mel images of spoken digits and the way back to audio (Griffin-Lim).

Forward: waveform -> |STFT| (Hann, `n_fft`, `hop`) -> mel filterbank (HTK mel scale) ->
20 log10 (magnitude, floored at `floor_db`) -> scaled to [-1, 1] by x = dB / (-floor_db/2) + 1,
so 0 dB (a full-scale sinusoid) maps to 1 and the floor to -1. The image is
(n_mels, frames) and covers frames * hop samples.

Back: the mel magnitude is mapped to a linear-frequency magnitude with the non-negative
pseudo-inverse of the filterbank, then the phase is recovered by the fast Griffin-Lim
algorithm (Griffin & Lim, 1984; with momentum, Perraudin et al., 2013):

    c_n  = P_C1(P_C2(t_{n-1})),   t_n = c_n + alpha (c_n - c_{n-1}),

where P_C2 imposes the target magnitude and P_C1 = STFT(ISTFT(.)) projects onto
consistent spectrograms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from voxlate import dsp
from voxlate.audio import Audio


@dataclass(frozen=True)
class MelConfig:
    """The log-mel image; saved inside every digit model and classifier."""

    sample_rate: int = 8000  # Hz (FSDD's rate; enough bandwidth for digits)
    n_fft: int = 512  # FFT size and Hann window length, samples
    hop: int = 256  # hop between frames, samples (50% overlap)
    n_mels: int = 32  # mel bands: the image height
    frames: int = 32  # frames: the image width (frames * hop samples = 1.024 s)
    fmin: float = 0.0  # lowest filter edge, Hz
    fmax: float = 4000.0  # highest filter edge, Hz (Nyquist at 8 kHz)
    floor_db: float = -80.0  # magnitudes below this (dB re full scale) are clipped

    @property
    def n_samples(self) -> int:
        """Samples one image covers."""
        return self.frames * self.hop


def mel_filterbank(cfg: MelConfig) -> np.ndarray:
    """Triangular filters on the HTK mel scale, shape (n_mels, n_fft // 2 + 1), peak 1."""
    return dsp.mel_filterbank(cfg.n_mels, cfg.n_fft, cfg.sample_rate, cfg.fmin, cfg.fmax)


class MelTransform:
    """Audio <-> normalised log-mel images for one `MelConfig` (torch, CPU or GPU)."""

    def __init__(self, cfg: MelConfig) -> None:
        self.cfg = cfg
        self.window = torch.hann_window(cfg.n_fft)
        self.fb = torch.from_numpy(mel_filterbank(cfg))  # (M, F)
        self.fb_pinv = torch.linalg.pinv(self.fb).clamp_min(0.0)  # (F, M)
        self.scale = float(self.window.sum()) / 2  # |STFT| of a unit sinusoid

    def fit(self, samples: np.ndarray) -> np.ndarray:
        """Crop or zero-pad (centred) a waveform to exactly `n_samples`."""
        n = self.cfg.n_samples
        x = np.asarray(samples, dtype=np.float32)
        if len(x) >= n:
            s = (len(x) - n) // 2
            return x[s : s + n]
        pad = n - len(x)
        return np.pad(x, (pad // 2, pad - pad // 2))

    def _stft(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stft(
            x,
            self.cfg.n_fft,
            self.cfg.hop,
            window=self.window.to(x.device),
            center=True,
            return_complex=True,
        )[..., : self.cfg.frames]

    def _istft(self, spec: torch.Tensor) -> torch.Tensor:
        pad = spec[..., -1:].mul(0)  # one silent frame: center=True wants frames + 1
        return torch.istft(
            torch.cat([spec, pad], dim=-1),
            self.cfg.n_fft,
            self.cfg.hop,
            window=self.window.to(spec.device),
            center=True,
            length=self.cfg.n_samples,
        )

    def encode(self, waves: torch.Tensor) -> torch.Tensor:
        """Waveforms (B, n_samples) -> images (B, 1, n_mels, frames) in [-1, 1]."""
        mag = self._stft(waves).abs() / self.scale  # (B, F, T)
        mel = torch.einsum("mf,bft->bmt", self.fb.to(mag.device), mag)
        db = 20.0 * torch.log10(mel.clamp_min(10 ** (self.cfg.floor_db / 20)))
        return (db / (-self.cfg.floor_db / 2) + 1.0).clamp(-1.0, 1.0)[:, None]

    def mel_magnitude(self, images: torch.Tensor) -> torch.Tensor:
        """Images (B, 1, M, T) in [-1, 1] -> mel magnitudes (B, M, T), linear scale."""
        db = (images[:, 0].clamp(-1.0, 1.0) - 1.0) * (-self.cfg.floor_db / 2)
        return 10.0 ** (db / 20.0)

    def decode(
        self, images: torch.Tensor, iters: int = 64, momentum: float = 0.99, seed: int = 0
    ) -> torch.Tensor:
        """Images (B, 1, M, T) -> waveforms (B, n_samples) by fast Griffin-Lim.

        The floor (-1) decodes to exact silence; `iters` projections, random initial phase.
        """
        mel = self.mel_magnitude(images)
        floor = 10 ** (self.cfg.floor_db / 20)
        mel = torch.where(mel <= floor * 1.0001, torch.zeros_like(mel), mel)
        mag = torch.einsum("fm,bmt->bft", self.fb_pinv.to(mel.device), mel) * self.scale
        g = torch.Generator(device="cpu").manual_seed(seed)
        phase = torch.rand(mag.shape, generator=g).to(mag.device) * 2 * math.pi
        t_prev = torch.zeros_like(mag, dtype=torch.complex64)
        spec = mag * torch.exp(1j * phase)
        for _ in range(iters):
            rebuilt = self._stft(self._istft(spec))  # P_C1
            t = rebuilt + momentum * (rebuilt - t_prev)
            t_prev = rebuilt
            spec = mag * torch.exp(1j * torch.angle(t))  # P_C2
        return self._istft(spec)

    def decode_audio(self, images: torch.Tensor, iters: int = 64) -> list[Audio]:
        """Images (B, 1, M, T) -> one peak-normalised (0.9) `Audio` per image."""
        waves = self.decode(images, iters).cpu().numpy()
        out = []
        for w in waves:
            peak = float(np.max(np.abs(w)))
            out.append(
                Audio(
                    (0.9 * w / peak if peak > 1e-6 else w).astype(np.float32), self.cfg.sample_rate
                )
            )
        return out
