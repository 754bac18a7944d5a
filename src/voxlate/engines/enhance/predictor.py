"""StoRM's predictive model D(y): a magnitude mask on the compressed complex STFT.

StoRM (Lemercier, Richter, Welker & Gerkmann, 2023, sec. III) first runs a predictive
network D_theta on the noisy spectrogram y and lets the diffusion model regenerate speech
from that estimate. The paper uses an NCSN++ for D; voxlate's is small enough to train on
one CPU core: per frame the log-magnitude of y (F bins) goes through a linear layer, a
bidirectional GRU over frames and a linear layer to a mask m in (0, 1)^F, and
D(y) = m * y (the noisy phase is kept). On the compressed spectrogram
c = beta |X|^alpha e^{i angle X}, the mask m scales |X| by m^{1/alpha}.

`mask_floor` f keeps the mask in (f, 1): m = f + (1 - f) sigmoid(.), a limit on the
attenuation (|X| by at least f^{1/alpha}: f = 0.1 -> -40 dB, 0.2 -> -28 dB) against
over-suppression, which removes weak speech with the noise and costs intelligibility.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class PredictorConfig:
    """Architecture of the mask predictor; saved with the model."""

    bins: int = 256  # frequency bins F of the spectrogram (STFTConfig.bins)
    hidden: int = 128  # GRU width per direction
    layers: int = 2  # stacked bidirectional GRU layers
    floor: float = 1e-4  # added to |y| before the log (compressed-magnitude units)
    mask_floor: float = 0.0  # lower bound f of the mask: m = f + (1 - f) sigmoid(.)


class MaskPredictor(nn.Module):
    """D(y) = m(y) * y: (B, 2, F, T) compressed spectrogram -> (B, 2, F, T) estimate."""

    def __init__(self, config: PredictorConfig) -> None:
        super().__init__()
        self.config = config
        h = config.hidden
        self.inp = nn.Sequential(nn.Linear(config.bins, h), nn.LayerNorm(h), nn.SiLU())
        self.rnn = nn.GRU(h, h, num_layers=config.layers, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * h, config.bins)

    def mask(self, y: torch.Tensor) -> torch.Tensor:
        """The mask m in (mask_floor, 1), shape (B, F, T), for y of shape (B, 2, F, T)."""
        mag = torch.sqrt(y[:, 0] ** 2 + y[:, 1] ** 2)
        feats = torch.log(mag + self.config.floor).transpose(1, 2)  # (B, T, F)
        h, _ = self.rnn(self.inp(feats))
        f = self.config.mask_floor
        return (f + (1 - f) * torch.sigmoid(self.out(h))).transpose(1, 2)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.mask(y).unsqueeze(1) * y
