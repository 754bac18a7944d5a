"""Training the voice converter across every training speaker (`voxlate voice train-converter`).

Each step takes `batch` random crops of `crop` frames, one utterance of a speaker drawn
uniformly (so that the two fish, ~10 min each, do not drown the characters with half a
minute), and minimises the L1 error of the normalised mel-cepstrum c1..c39 on the louder
frames. Optionally a speaker classifier on the bottleneck's frames is trained against the
encoder through a reversed gradient (``adversarial``). The run stops at the step count or the
time budget (`TrainRun`), and Ctrl-C saves. The checkpoint (`checkpoint.py` format) holds
the `ConverterConfig`, the weights, the speaker list and the learning curve in `extra`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from voxlate.checkpoint import save_checkpoint
from voxlate.diffusion.training import pick_device, to_device
from voxlate.engines.voice.converter_model import ConverterConfig, ConverterNet
from voxlate.errors import InputError
from voxlate.tasks.converter.corpus import SpeakerFeatures, extract_all
from voxlate.tasks.options import ConverterTrainOptions
from voxlate.training import TrainingInterrupted, TrainRun

MIN_FRAMES = 40  # utterances shorter than this (0.4 s) are not trained on
VAL_EVERY = 200  # steps between validation losses
LOUD_QUANTILE = 30.0  # frames below this percentile of an utterance's c0 are not scored
DECODERS = ("regression", "diffusion")  # --decoder


class _Reverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return x.view_as(x)

    @staticmethod
    def backward(ctx, g: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return -g


def loud_mask(mcep: np.ndarray) -> np.ndarray:
    return mcep[:, 0] > np.percentile(mcep[:, 0], LOUD_QUANTILE)


class Batches:
    """Random crops of the training utterances, speakers drawn uniformly."""

    def __init__(self, speakers: list[SpeakerFeatures], crop: int, seed: int) -> None:
        self.utts: list[list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = []
        for s in speakers:
            self.utts.append(
                [
                    (m, c[:, 1:], loud_mask(c))
                    for m, c in zip(s.mels, s.mceps, strict=True)
                    if len(m) >= MIN_FRAMES
                ]  # fmt: skip
            )
        self.crop = crop
        self.rng = np.random.default_rng(seed)
        self.speakers = np.array([i for i, u in enumerate(self.utts) if u], dtype=np.int64)

    def sample(self, n: int) -> tuple[torch.Tensor, ...]:
        spk = self.rng.choice(self.speakers, n)
        picks = [self.utts[s][self.rng.integers(0, len(self.utts[s]))] for s in spk]
        L = min(self.crop, min(len(p[0]) for p in picks))
        mels, ys, ws = [], [], []
        for m, y, w in picks:
            a = int(self.rng.integers(0, len(m) - L + 1))
            mels.append(m[a : a + L])
            ys.append(y[a : a + L])
            ws.append(w[a : a + L])
        return (torch.from_numpy(np.stack(mels)), torch.from_numpy(np.stack(ys)),
                torch.from_numpy(np.stack(ws).astype(np.float32)), torch.from_numpy(spk))  # fmt: skip


def split_heldout(
    feats: SpeakerFeatures, every: int = 10
) -> tuple[SpeakerFeatures, SpeakerFeatures]:
    """Every `every`-th utterance held out (for the validation loss), the rest trained on."""
    idx = range(len(feats.mels))
    hold = [i for i in idx if i % every == every // 2]
    keep = [i for i in idx if i % every != every // 2] or hold
    pick = lambda ii: SpeakerFeatures(  # noqa: E731
        feats.speaker, [feats.mels[i] for i in ii], [feats.mceps[i] for i in ii]
    )
    return pick(keep), pick(hold)


def train_device(name: str) -> torch.device:
    """--device: 'auto' is CUDA when present; InputError for a CUDA that is not there."""
    dev = pick_device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"--device {name}: no CUDA device is available here.")
    return dev


def options_dict(opts: ConverterTrainOptions) -> dict[str, object]:
    return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(opts).items()}


def cpu_state(net: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu() for k, v in net.state_dict().items()}


def masked_l1(pred: torch.Tensor, y: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    err = (pred - y).abs().mean(dim=2)
    return (err * w).sum() / w.sum().clamp(min=1.0)


def prepare(
    opts: ConverterTrainOptions, paths: list[Path] | None, log: Callable[[str], None]
) -> tuple[list[SpeakerFeatures], torch.device]:
    """Check the options, set threads and seed, extract (or reuse) the features: the training
    speakers and the device (both decoders' trainers start here)."""
    if opts.decoder not in DECODERS:
        raise InputError(f"Unknown --decoder {opts.decoder!r}: choose regression or diffusion.")
    if opts.threads > 0:
        torch.set_num_threads(opts.threads)
    torch.manual_seed(opts.seed)
    device = train_device(opts.device)
    if paths is None:
        paths = extract_all(opts.features, ("train",), opts.cap_minutes * 60.0,
                            opts.kokoro_sentences, log=log, max_speakers=opts.max_speakers)  # fmt: skip
    speakers = [SpeakerFeatures.load(p) for p in paths]
    speakers = [s for s in speakers if sum(len(m) >= MIN_FRAMES for m in s.mels) > 0]
    if len(speakers) < 2:
        raise InputError("The converter needs at least two training speakers with speech.")
    return speakers, device


def train_converter(
    out: Path,
    opts: ConverterTrainOptions,
    progress: bool = True,
    log: Callable[[str], None] = print,
    paths: list[Path] | None = None,
) -> Path:
    """Extract (or reuse) the features, train, save the checkpoint to `out`; its path.

    paths: feature files (`SpeakerFeatures`) to train on instead of the split's.
    """
    speakers, device = prepare(opts, paths, log)
    if opts.decoder != "regression":
        raise InputError("train_converter trains the regression decoder; see train_diffusion.")
    parts = [split_heldout(s) for s in speakers]
    train_sets = [p[0] for p in parts]
    batches = Batches(train_sets, opts.crop, opts.seed)
    val = Batches([p[1] for p in parts], opts.crop, opts.seed + 1)
    val_batch = to_device(val.sample(64), device)
    cfg = ConverterConfig(n_speakers=len(speakers), channels=opts.channels,
                          bottleneck=opts.bottleneck)  # fmt: skip
    net = ConverterNet(cfg).to(device)
    allc = np.concatenate([c[loud_mask(c), 1:] for s in train_sets for c in s.mceps])
    net.mcep_mean.copy_(torch.from_numpy(allc.mean(0)))
    net.mcep_std.copy_(torch.from_numpy(allc.std(0) + 1e-4))
    adv = nn.Linear(cfg.bottleneck, len(speakers)).to(device) if opts.adversarial > 0 else None
    params = list(net.parameters()) + (list(adv.parameters()) if adv is not None else [])
    opt = torch.optim.AdamW(params, lr=opts.lr)
    hours = sum(s.frames for s in speakers) / 100 / 3600
    log(f"{len(speakers)} training speakers, {hours:.2f} h; "
        f"{sum(p.numel() for p in net.parameters()) / 1e6:.2f} M parameters; {device}")  # fmt: skip
    history: list[dict[str, float]] = []
    t0 = time.monotonic()
    step, ema_loss = 0, float("nan")
    with TrainRun(opts.minutes, opts.steps, progress=progress, desc="converter") as run:
        while step < opts.steps and not run.stop:
            lr = (
                opts.lr
                * min(1.0, (step + 1) / 200)
                * (0.5 * (1 + math.cos(math.pi * min(1.0, step / max(opts.steps, 1)))))
            )
            for g in opt.param_groups:
                g["lr"] = lr
            mel, y, w, spk = to_device(batches.sample(opts.batch), device)
            net.train()
            z = net.content(mel)
            pred = net.decode(z, net.speakers(spk))
            loss = masked_l1(pred, net.normalise(y), w)
            total = loss
            if adv is not None:
                logits = adv(_Reverse.apply(z).transpose(1, 2))
                ce = nn.functional.cross_entropy(
                    logits.reshape(-1, logits.shape[-1]), spk.repeat_interleave(z.shape[2])
                )
                total = loss + opts.adversarial * ce
            opt.zero_grad()
            total.backward()
            nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            step += 1
            v = float(loss.detach())
            ema_loss = v if math.isnan(ema_loss) else 0.98 * ema_loss + 0.02 * v
            if step % VAL_EVERY == 0 or run.stop:
                vl = _val_loss(net, val_batch)
                history.append({"step": step, "train": ema_loss, "val": vl,
                                "minutes": (time.monotonic() - t0) / 60})  # fmt: skip
                run.write(f"step {step}: train {ema_loss:.4f}, held-out {vl:.4f}")
            run.advance(loss=f"{ema_loss:.4f}")
        interrupted = run.interrupted
    if not history or history[-1]["step"] != step:
        history.append({"step": step, "train": ema_loss, "val": _val_loss(net, val_batch),
                        "minutes": (time.monotonic() - t0) / 60})  # fmt: skip
    extra = {
        "speakers": [s.speaker for s in speakers],
        "history": history,
        "hours": hours,
        "options": options_dict(opts),
        "decoder": "regression",
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(out, config=cfg, model=cpu_state(net), step=step, extra=extra)
    if interrupted:
        raise TrainingInterrupted(out, step)
    return out


def _val_loss(net: ConverterNet, batch: tuple[torch.Tensor, ...]) -> float:
    mel, y, w, spk = batch
    net.eval()
    with torch.no_grad():
        return float(masked_l1(net(mel, net.speakers(spk)), net.normalise(y), w))
