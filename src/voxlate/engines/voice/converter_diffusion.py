"""The converter's diffusion decoder (DiffVC-style, Popov et al. 2022), inference side.

Same content and output as `converter_model.py`: the instance-normalised log-mel squeezed
through the bottleneck, the normalised mel-cepstrum c1..c39 out. Two decoders share the
bottleneck z:

- the *prior* ("average voice"): a `ConverterNet` decoder with a single speaker row, trained
  with the L1 loss on every training speaker, so it predicts the mean voice's envelope mu;
- the *score network*: a residual conv stack (FiLM by speaker vector + diffusion step) that
  denoises the residual r = y - mu given x_t, mu and z, predicting r itself ('x0').

Diffusion runs on r with voxlate's DDPM (`voxlate.diffusion.ddpm`, cosine schedule), so x_T ~
N(0, I) around the prior is DiffVC's start N(mu, I); sampling is DDIM
(`voxlate.diffusion.ddim.ddim_sample`, `sample_steps` steps, eta 0) with the start noise
scaled by `temperature` (Grad-TTS's tau). Adapting to a new speaker (`adapt_diffusion`)
optimises a speaker vector, an output bias and (optionally) a change of the last layer with
the denoising loss, the networks frozen, as `converter_model.adapt` does with the L1.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from voxlate.diffusion.ddim import ddim_sample
from voxlate.diffusion.ddpm import DDPM, DDPMConfig
from voxlate.diffusion.nets.embeddings import timestep_embedding
from voxlate.engines.voice.converter_model import (
    N_MCEP,
    N_MELS,
    AdaptResult,
    ConverterConfig,
    ConverterNet,
    FiLMBlock,
    adaptation_data,
    new_speaker,
    optimise,
)


@dataclass(frozen=True)
class DiffusionConverterConfig:
    """Shape of the diffusion converter (prior + score network) and its diffusion process."""

    n_speakers: int = 1  # rows of the training speakers' embedding table (score network)
    n_mels: int = N_MELS  # content input channels
    n_out: int = N_MCEP - 1  # coefficients c1..c39
    channels: int = 64  # hidden channels of the encoder and the prior decoder
    bottleneck: int = 32  # channels of the content bottleneck
    score_channels: int = 96  # hidden channels of the score network
    score_blocks: int = 4  # FiLM residual blocks of the score network
    speaker_dim: int = 64  # size of a speaker embedding
    kernel: int = 5  # conv kernel size (frames)
    T: int = 1000  # diffusion steps of the training process
    schedule: str = "cosine"  # voxlate.diffusion.schedules name
    sample_steps: int = 8  # DDIM steps at conversion
    temperature: float = 1.0  # scale of the start noise at conversion

    def prior_config(self) -> ConverterConfig:
        return ConverterConfig(n_speakers=1, n_mels=self.n_mels, n_out=self.n_out,
                               channels=self.channels, bottleneck=self.bottleneck,
                               speaker_dim=self.speaker_dim, kernel=self.kernel)  # fmt: skip

    def ddpm(self) -> DDPM:
        return DDPM.from_config(DDPMConfig(T=self.T, schedule=self.schedule, prediction="x0"))


class ScoreNet(nn.Module):
    """(x_t, mu, z) (B, C, T) + condition (B, D) -> predicted residual r (B, n_out, T)."""

    def __init__(self, cfg: DiffusionConverterConfig) -> None:
        super().__init__()
        c, d = cfg.score_channels, cfg.speaker_dim
        self.inp = nn.Conv1d(2 * cfg.n_out + cfg.bottleneck, c, 1)
        self.time = nn.Sequential(nn.Linear(d, d), nn.SiLU(), nn.Linear(d, d))
        self.blocks = nn.ModuleList(
            FiLMBlock(c, cfg.kernel, d, dil) for dil in [1, 2, 4, 8, 1, 2, 4, 8][: cfg.score_blocks]
        )
        self.out = nn.Conv1d(c, cfg.n_out, 1)
        nn.init.zeros_(self.out.weight)
        if self.out.bias is not None:
            nn.init.zeros_(self.out.bias)
        self.dim = d

    def forward(
        self,
        x: torch.Tensor,
        t: torch.Tensor,
        mu: torch.Tensor,
        z: torch.Tensor,
        spk: torch.Tensor,
        bias: torch.Tensor | None = None,
        out_delta: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """bias: (1, n_out, 1) added to the output; out_delta: (n_out, channels) added to the
        output layer's weights (a speaker's adapted last layer)."""
        cond = spk + self.time(timestep_embedding(t, self.dim))
        h = self.inp(torch.cat([x, mu, z], dim=1))
        for block in self.blocks:
            h = block(h, cond)
        y = self.out(h)
        if out_delta is not None:
            y = y + torch.einsum("oc,bct->bot", out_delta, h)
        return y + bias if bias is not None else y


class DiffusionConverterNet(nn.Module):
    """Prior (`ConverterNet`, one speaker: the average voice) + `ScoreNet` + speaker table."""

    def __init__(self, cfg: DiffusionConverterConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.prior = ConverterNet(cfg.prior_config())
        self.score = ScoreNet(cfg)
        self.speakers = nn.Embedding(cfg.n_speakers, cfg.speaker_dim)
        nn.init.normal_(self.speakers.weight, std=0.1)
        self.ddpm = cfg.ddpm()

    @property
    def out_channels(self) -> int:
        return self.cfg.score_channels

    def content(self, mel: torch.Tensor) -> torch.Tensor:
        """The bottleneck (B, T, N_MELS) -> (B, bottleneck, T)."""
        return self.prior.content(mel)

    def average(self, z: torch.Tensor) -> torch.Tensor:
        """The prior mean mu (B, n_out, T), normalised units, from the bottleneck."""
        spk = torch.zeros(z.shape[0], dtype=torch.long, device=z.device)
        return self.prior.decode(z, self.prior.speakers(spk)).transpose(1, 2)

    def normalise(self, mcep: torch.Tensor) -> torch.Tensor:
        return self.prior.normalise(mcep)

    def denormalise(self, y: torch.Tensor) -> torch.Tensor:
        return self.prior.denormalise(y)

    def denoise_loss(
        self,
        z: torch.Tensor,
        mu: torch.Tensor,
        y: torch.Tensor,
        w: torch.Tensor,
        spk: torch.Tensor,
        generator: torch.Generator | None = None,
        bias: torch.Tensor | None = None,
        out_delta: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Masked x0-MSE (Ho et al.'s L_simple with x0 prediction) of the residual y - mu.

        z: (B, bottleneck, T); mu, y: (B, n_out, T) normalised; w: (B, T) frame weights;
        spk: (B, D) speaker vectors."""
        r = y - mu
        t = torch.randint(0, self.ddpm.T, (r.shape[0],), device=r.device, generator=generator)
        eps = torch.randn(r.shape, device=r.device, dtype=r.dtype, generator=generator)
        x_t = self.ddpm.q_sample(r, t, eps)
        pred = self.score(x_t, t, mu, z, spk, bias, out_delta)
        err = ((pred - r) ** 2).mean(dim=1)
        return (err * w).sum() / w.sum().clamp(min=1.0)

    @torch.no_grad()
    def sample(
        self,
        z: torch.Tensor,
        spk: torch.Tensor,
        bias: torch.Tensor | None = None,
        out_delta: torch.Tensor | None = None,
        steps: int | None = None,
        temperature: float | None = None,
        seed: int = 0,
    ) -> torch.Tensor:
        """Normalised c1..c39 (B, T, n_out) for the speaker vector `spk` (B, D): DDIM from
        the prior mean plus `temperature`-scaled noise."""
        mu = self.average(z)
        g = torch.Generator(device=z.device).manual_seed(seed)
        temp = self.cfg.temperature if temperature is None else temperature
        x_T = temp * torch.randn(mu.shape, generator=g, device=z.device, dtype=mu.dtype)
        r = ddim_sample(
            self.score, self.ddpm, x_T, steps=steps or self.cfg.sample_steps,
            mu=mu, z=z, spk=spk, bias=bias, out_delta=out_delta,
        )  # fmt: skip
        return (mu + r).transpose(1, 2)


def adapt_diffusion(
    net: DiffusionConverterNet,
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
    batch: int = 4,
) -> AdaptResult:
    """Fit a new speaker vector (from the table's mean), an output bias and optionally a last
    layer change with the denoising loss on `batch` noise levels of a crop per step, the
    networks frozen; the arguments are `converter_model.adapt`'s."""
    t0 = time.monotonic()
    g = torch.Generator().manual_seed(seed)
    net.eval()
    with torch.no_grad():
        z, y, w = adaptation_data(net, mels, mceps, mask)
        mu = net.average(z)
    emb, bias, delta = new_speaker(net, (1, net.cfg.n_out, 1), net.out_channels, tune_last)

    def loss_at(sl: slice) -> torch.Tensor:
        zc, mc, yc, wc = z[:, :, sl], mu[:, :, sl], y[:, :, sl], w[sl]
        rep = lambda x: x.expand(batch, *x.shape[1:])  # noqa: E731
        return net.denoise_loss(rep(zc), rep(mc), rep(yc), wc[None].expand(batch, -1),
                                emb.expand(batch, -1), g, bias, delta if tune_last else None)  # fmt: skip

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
