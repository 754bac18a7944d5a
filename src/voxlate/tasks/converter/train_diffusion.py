"""Training the converter's diffusion decoder (`train-converter --decoder diffusion`).

One run trains the whole `DiffusionConverterNet` (engines/voice/converter_diffusion.py) on the
same crops as the regression trainer (`train.Batches`, speakers drawn uniformly): the shared
encoder and the average-voice prior with the masked L1 of the normalised c1..c39 (one speaker
row: no speaker conditioning), and the score network with the masked denoising loss of the
residual y - mu (mu detached, so the prior stays the average voice), speaker vectors from a
table over the training speakers. The saved weights are an EMA of the parameters (decay
0.995); the plain ones are kept as `model`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from voxlate.checkpoint import save_checkpoint
from voxlate.diffusion.training import EMA, to_device
from voxlate.engines.voice.converter_diffusion import (
    DiffusionConverterConfig,
    DiffusionConverterNet,
)
from voxlate.tasks.converter.train import (
    VAL_EVERY,
    Batches,
    cpu_state,
    loud_mask,
    masked_l1,
    options_dict,
    prepare,
    split_heldout,
)
from voxlate.tasks.options import ConverterTrainOptions
from voxlate.training import TrainingInterrupted, TrainRun

EMA_DECAY = 0.995


def _losses(
    net: DiffusionConverterNet, batch: tuple[torch.Tensor, ...], gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """(prior L1, denoising MSE) of one batch."""
    mel, y, w, spk = batch
    z = net.content(mel)
    mu = net.average(z)  # (B, n_out, T)
    yn = net.normalise(y)
    prior = masked_l1(mu.transpose(1, 2), yn, w)
    denoise = net.denoise_loss(z, mu.detach(), yn.transpose(1, 2), w, net.speakers(spk), gen)
    return prior, denoise


def train_diffusion(
    out: Path,
    opts: ConverterTrainOptions,
    progress: bool = True,
    log: Callable[[str], None] = print,
    paths: list[Path] | None = None,
) -> Path:
    """Extract (or reuse) the features, train the diffusion converter, save it to `out`; its
    path. paths: feature files to train on instead of the split's (`train.train_converter`)."""
    speakers, device = prepare(opts, paths, log)
    parts = [split_heldout(s) for s in speakers]
    train_sets = [p[0] for p in parts]
    batches = Batches(train_sets, opts.crop, opts.seed)
    val_batch = to_device(Batches([p[1] for p in parts], opts.crop, opts.seed + 1).sample(64),
                          device)  # fmt: skip
    cfg = DiffusionConverterConfig(
        n_speakers=len(speakers), channels=opts.channels, bottleneck=opts.bottleneck,
        score_channels=opts.score_channels, score_blocks=opts.score_blocks,
        sample_steps=opts.sample_steps,
    )  # fmt: skip
    net = DiffusionConverterNet(cfg)
    allc = np.concatenate([c[loud_mask(c), 1:] for s in train_sets for c in s.mceps])
    net.prior.mcep_mean.copy_(torch.from_numpy(allc.mean(0)))
    net.prior.mcep_std.copy_(torch.from_numpy(allc.std(0) + 1e-4))
    net.to(device)
    ema = EMA(net, EMA_DECAY)
    opt = torch.optim.AdamW(net.parameters(), lr=opts.lr)
    gen = torch.Generator(device=device).manual_seed(opts.seed)
    hours = sum(s.frames for s in speakers) / 100 / 3600
    n_prior = sum(p.numel() for p in net.prior.parameters())
    n_all = sum(p.numel() for p in net.parameters())
    log(f"{len(speakers)} training speakers, {hours:.2f} h; diffusion decoder: "
        f"{n_all / 1e6:.2f} M parameters ({n_prior / 1e6:.2f} M encoder + prior); {device}")  # fmt: skip
    history: list[dict[str, float]] = []
    t0 = time.monotonic()
    step, ema_p, ema_d = 0, float("nan"), float("nan")

    def validate() -> dict[str, float]:
        ema.model.eval()
        with torch.no_grad():
            g = torch.Generator(device=device).manual_seed(1234)
            p, d = _losses(ema.model, val_batch, g)  # type: ignore[arg-type]
        return {"step": step, "train": ema_p, "train_denoise": ema_d, "val": float(p),
                "val_denoise": float(d), "minutes": (time.monotonic() - t0) / 60}  # fmt: skip

    with TrainRun(opts.minutes, opts.steps, progress=progress, desc="converter (diffusion)") as run:
        while step < opts.steps and not run.stop:
            lr = (
                opts.lr
                * min(1.0, (step + 1) / 200)
                * (0.5 * (1 + math.cos(math.pi * min(1.0, step / max(opts.steps, 1)))))
            )
            for g in opt.param_groups:
                g["lr"] = lr
            net.train()
            prior, denoise = _losses(net, to_device(batches.sample(opts.batch), device), gen)
            opt.zero_grad()
            (prior + denoise).backward()
            nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            ema.update(net)
            step += 1
            p, d = float(prior.detach()), float(denoise.detach())
            ema_p = p if math.isnan(ema_p) else 0.98 * ema_p + 0.02 * p
            ema_d = d if math.isnan(ema_d) else 0.98 * ema_d + 0.02 * d
            if step % VAL_EVERY == 0:
                h = validate()
                history.append(h)
                run.write(f"step {step}: prior L1 {ema_p:.4f} (held-out {h['val']:.4f}), "
                          f"denoise {ema_d:.4f} (held-out {h['val_denoise']:.4f})")  # fmt: skip
            run.advance(loss=f"{ema_p:.3f}/{ema_d:.3f}")
        interrupted = run.interrupted
    if not history or history[-1]["step"] != step:
        history.append(validate())
    extra = {
        "speakers": [s.speaker for s in speakers],
        "history": history,
        "hours": hours,
        "options": options_dict(opts),
        "decoder": "diffusion",
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(out, config=cfg, model=cpu_state(net), ema=cpu_state(ema.model), step=step,
                    extra=extra)  # fmt: skip
    if interrupted:
        raise TrainingInterrupted(out, step)
    return out
