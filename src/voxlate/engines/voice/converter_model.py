"""The voice converter's network and features (inference side; trained by tasks/converter).

Content: per-utterance instance-normalised log-mel frames (10 ms hop, 16 kHz) squeezed through
a narrow bottleneck (AutoVC-style, Qian et al. 2019), which keeps what is said and little of who
says it. Output: the WORLD spectral envelope as mel-cepstrum c1..c(N_MCEP-1) (c0, the level,
stays the source's), for a speaker given as an embedding vector. Training learns one embedding
per training speaker (a table); adapting to a new speaker optimises a fresh vector (and an
output bias) on their own speech, the network frozen (`adapt`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from voxlate.audio import FRAME_HOP, FRAME_LENGTH, SAMPLE_RATE, Audio
from voxlate.dsp import mel_filterbank

N_FFT = 512  # FFT size of the log-mel frames (the 25 ms window zero-padded)
N_MELS = 80  # log-mel bands of the content features
N_MCEP = 40  # mel-cepstral coefficients of the WORLD envelope (c0 kept from the source)
FRAME_MS = 1000.0 * FRAME_HOP / SAMPLE_RATE  # the converter's WORLD frame period (10 ms)
MEL_FMIN, MEL_FMAX = 40.0, 7600.0  # Hz; the log-mel range


@dataclass(frozen=True)
class ConverterConfig:
    """Shape of the converter network."""

    n_speakers: int = 1  # rows of the training speakers' embedding table
    n_mels: int = N_MELS  # content input channels
    n_out: int = N_MCEP - 1  # predicted coefficients (c1..c39)
    channels: int = 192  # hidden channels of encoder and decoder
    bottleneck: int = 32  # channels of the content bottleneck
    speaker_dim: int = 64  # size of a speaker embedding
    blocks: int = 4  # FiLM-conditioned residual conv blocks in the decoder
    kernel: int = 5  # conv kernel size (frames)


def log_mel(audio: Audio) -> np.ndarray:
    """(frames, N_MELS) float32 natural-log mel energies of `audio` (resampled to 16 kHz), one
    frame per 10 ms hop, centred, as many frames as WORLD's analysis at `FRAME_MS`."""
    x = audio.resample(SAMPLE_RATE).samples
    n = len(x) // FRAME_HOP + 1
    pad = FRAME_LENGTH // 2
    xp = np.pad(x, (pad, pad + FRAME_LENGTH), mode="constant")
    idx = np.arange(FRAME_LENGTH)[None, :] + FRAME_HOP * np.arange(n)[:, None]
    frames = xp[idx] * np.hanning(FRAME_LENGTH).astype(np.float32)
    power = np.abs(np.fft.rfft(frames, N_FFT)) ** 2
    fb = mel_filterbank(N_MELS, N_FFT, SAMPLE_RATE, MEL_FMIN, MEL_FMAX)
    return np.log(power @ fb.T + 1e-6).astype(np.float32)


def instance_norm(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Normalise each channel over time: (B, C, T) -> zero mean, unit std per utterance."""
    mu = x.mean(dim=2, keepdim=True)
    sd = x.std(dim=2, keepdim=True, unbiased=False)
    return (x - mu) / (sd + eps)


class FiLMBlock(nn.Module):
    """Residual conv block whose activations are scaled and shifted by the speaker."""

    def __init__(self, channels: int, kernel: int, speaker_dim: int, dilation: int) -> None:
        super().__init__()
        pad = dilation * (kernel - 1) // 2
        self.conv1 = nn.Conv1d(channels, channels, kernel, padding=pad, dilation=dilation)
        self.conv2 = nn.Conv1d(channels, channels, 1)
        self.film = nn.Linear(speaker_dim, 2 * channels)

    def forward(self, h: torch.Tensor, spk: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.film(spk).unsqueeze(-1).chunk(2, dim=1)
        y = nn.functional.gelu(self.conv1(h) * (1 + gamma) + beta)
        return h + self.conv2(y)


class ConverterNet(nn.Module):
    """Log-mel (B, T, N_MELS) + speaker vector (B, D) -> normalised c1..c39 (B, T, n_out)."""

    mcep_mean: torch.Tensor
    mcep_std: torch.Tensor

    def __init__(self, cfg: ConverterConfig) -> None:
        super().__init__()
        self.cfg = cfg
        c, k = cfg.channels, cfg.kernel
        self.encoder = nn.Sequential(
            nn.Conv1d(cfg.n_mels, c, k, padding=k // 2),
            nn.GELU(),
            nn.Conv1d(c, c, k, padding=k // 2),
            nn.GELU(),
            nn.Conv1d(c, cfg.bottleneck, 1),
        )
        self.speakers = nn.Embedding(cfg.n_speakers, cfg.speaker_dim)
        nn.init.normal_(self.speakers.weight, std=0.1)
        self.inp = nn.Conv1d(cfg.bottleneck, c, 1)
        self.blocks = nn.ModuleList(
            FiLMBlock(c, k, cfg.speaker_dim, d) for d in [1, 2, 4, 1, 2, 4][: cfg.blocks]
        )
        self.out = nn.Conv1d(c, cfg.n_out, 1)
        # the training targets' mean and std (c1..c39), to undo the normalisation
        self.register_buffer("mcep_mean", torch.zeros(cfg.n_out))
        self.register_buffer("mcep_std", torch.ones(cfg.n_out))

    def content(self, mel: torch.Tensor) -> torch.Tensor:
        """The bottleneck: (B, T, N_MELS) -> (B, bottleneck, T), instance-normalised."""
        return instance_norm(self.encoder(instance_norm(mel.transpose(1, 2))))

    def decode(
        self,
        z: torch.Tensor,
        spk: torch.Tensor,
        bias: torch.Tensor | None = None,
        out_delta: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Bottleneck (B, bottleneck, T) + speaker (B, D) -> normalised mcep (B, T, n_out).

        bias: (1, 1, n_out) added to the output; out_delta: (n_out, channels) added to the
        output layer's weights (a speaker's adapted last layer)."""
        h = self.inp(z)
        for block in self.blocks:
            h = block(h, spk)
        y = self.out(h)
        if out_delta is not None:
            y = y + torch.einsum("oc,bct->bot", out_delta, h)
        y = y.transpose(1, 2)
        return y + bias if bias is not None else y

    def forward(self, mel: torch.Tensor, spk: torch.Tensor) -> torch.Tensor:
        return self.decode(self.content(mel), spk)

    def denormalise(self, y: torch.Tensor) -> torch.Tensor:
        return y * self.mcep_std + self.mcep_mean

    def normalise(self, mcep: torch.Tensor) -> torch.Tensor:
        return (mcep - self.mcep_mean) / self.mcep_std


@dataclass(frozen=True)
class AdaptResult:
    """A speaker vector and output bias fitted to one speaker's speech."""

    embedding: np.ndarray  # (speaker_dim,)
    bias: np.ndarray  # (n_out,), in normalised units
    out_delta: np.ndarray | None  # (n_out, channels) change of the last layer, None if fixed
    steps: int  # optimizer steps taken
    loss: float  # final L1 (normalised units)
    seconds: float  # wall time of the adaptation


def adapt(
    net: ConverterNet,
    mels: list[np.ndarray],
    mceps: list[np.ndarray],
    max_seconds: float = 10.0,
    max_steps: int = 150,
    lr: float = 0.03,
    crop: int = 1000,
    seed: int = 0,
    mask: np.ndarray | None = None,
    min_steps: int = 10,
    tune_last: bool = False,
    last_decay: float = 1e-3,
) -> AdaptResult:
    """Optimise a new speaker vector (from the table's mean) and an output bias so that the
    frozen network rebuilds `mceps` (c1..c39 per frame) from `mels` (the same utterances).

    crop: frames per step (random windows of the concatenated utterances' bottleneck).
    mask: frames (of the concatenation) the loss counts, e.g. the louder ones; None = all.
    max_seconds: wall-time budget of the optimisation steps (after the content features);
        `min_steps` are taken whatever the clock says.
    tune_last: also adapt the output layer's weights (a delta, L2-penalised by `last_decay`).
    """
    t0 = time.monotonic()
    g = torch.Generator().manual_seed(seed)
    net.eval()
    with torch.no_grad():
        z, y, w = adaptation_data(net, mels, mceps, mask)
    emb, bias, delta = new_speaker(net, (1, 1, net.cfg.n_out), net.cfg.channels, tune_last)

    def loss_at(sl: slice) -> torch.Tensor:
        zc, yc, wc = z[:, :, sl], y[:, :, sl], w[sl]
        pred = net.decode(zc, emb, bias, delta if tune_last else None)
        err = (pred - yc.transpose(1, 2)).abs().mean(dim=2)[0]
        return (err * wc).sum() / wc.sum().clamp(min=1.0)

    steps, loss_v = optimise(
        net, (emb, bias, delta), loss_at, z.shape[2], crop, g, tune_last, last_decay, lr,
        max_steps, min_steps, max_seconds,
    )  # fmt: skip
    return AdaptResult(
        emb.detach()[0].numpy().copy(),
        bias.detach().reshape(-1).numpy().copy(),
        delta.detach().numpy().copy() if tune_last else None,
        steps,
        loss_v,
        time.monotonic() - t0,
    )


def adaptation_data(
    net: Any, mels: list[np.ndarray], mceps: list[np.ndarray], mask: np.ndarray | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The content bottleneck (1, C, T) of the concatenated `mels`, the normalised targets
    (1, n_out, T) and the per-frame loss weights (T,) of an adaptation (no gradients)."""
    z = torch.cat([net.content(torch.from_numpy(m)[None]) for m in mels], dim=2)
    y = net.normalise(torch.from_numpy(np.concatenate(mceps))).T[None]
    w = torch.ones(z.shape[2]) if mask is None else torch.from_numpy(mask.astype(np.float32))
    return z, y, w


def new_speaker(
    net: Any, bias_shape: tuple[int, ...], last_in: int, tune_last: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """What an adaptation fits: a speaker vector (from the table's mean), an output bias and
    a change of the output layer's weights (trained only with `tune_last`)."""
    emb = net.speakers.weight.detach().mean(0, keepdim=True).clone().requires_grad_(True)
    bias = torch.zeros(*bias_shape, requires_grad=True)
    delta = torch.zeros(net.cfg.n_out, last_in, requires_grad=tune_last)
    return emb, bias, delta


def optimise(
    net: Any,
    params: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    loss_at: Callable[[slice], torch.Tensor],
    total: int,
    crop: int,
    g: torch.Generator,
    tune_last: bool,
    last_decay: float,
    lr: float,
    max_steps: int,
    min_steps: int,
    max_seconds: float,
) -> tuple[int, float]:
    """The adaptation loop both decoders share: Adam on `params` (speaker vector, bias and,
    with `tune_last`, the L2-penalised last-layer change) over random `crop`-frame windows of
    `total` frames (`loss_at(window)`), the network frozen; at least `min_steps`, then until
    `max_steps` or `max_seconds` of optimisation. Returns the steps taken and the last loss."""
    emb, bias, delta = params
    opt = Adam([emb, bias] + ([delta] if tune_last else []), lr=lr)
    for p in net.parameters():
        p.requires_grad_(False)
    steps, loss_v = 0, float("nan")
    t1 = time.monotonic()  # the budget counts the optimisation; at least `min_steps` are taken
    try:
        while steps < max_steps and (steps < min_steps or time.monotonic() - t1 < max_seconds):
            a = int(torch.randint(0, total - crop, (1,), generator=g)) if total > crop else 0
            loss = loss_at(slice(a, a + crop))
            if tune_last:
                loss = loss + last_decay * (delta**2).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            steps += 1
            loss_v = float(loss.detach())
    finally:
        for p in net.parameters():
            p.requires_grad_(True)
    return steps, loss_v


class Adam:
    """Adam (Kingma and Ba, 2015) with torch.optim.Adam's defaults and update, for the few
    tensors of an adaptation. Hand-written because constructing any `torch.optim` optimizer
    imports `torch._dynamo` (about 1 CPU-s, holding the GIL) on the first adaptation of a
    process: a user's `voxlate translate` paid it on every run."""

    def __init__(
        self,
        params: list[torch.Tensor],
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        self.params = params
        self.lr, self.betas, self.eps = lr, betas, eps
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]
        self.t = 0

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        self.t += 1
        b1, b2 = self.betas
        c1 = 1 - b1**self.t
        c2_sqrt = (1 - b2**self.t) ** 0.5
        for p, m, v in zip(self.params, self.m, self.v):
            if p.grad is None:
                continue
            g = p.grad
            m.lerp_(g, 1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            denom = (v.sqrt() / c2_sqrt).add_(self.eps)
            p.addcdiv_(m, denom, value=-self.lr / c1)
