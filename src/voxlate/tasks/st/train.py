"""Train the speech translator and the text translator of the cascade (`evaluate` scores them).

Targets are normalised (lower case, punctuation removed) on both sides.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace

import numpy as np
import torch

from voxlate.audio import atomic_path
from voxlate.data.manifest import ManifestEntry
from voxlate.errors import InputError
from voxlate.tasks.ctc.dataset import collate, load_clips, make_batches, pad_targets
from voxlate.tasks.ctc.encoder import EncoderConfig
from voxlate.tasks.ctc.features import SAMPLE_RATE
from voxlate.tasks.ctc.model import read_checkpoint
from voxlate.tasks.ctc.train import TrainConfig, lr_at, planned_steps
from voxlate.tasks.st.model import (
    CHECKPOINT_KIND,
    TEXT_CHECKPOINT_KIND,
    DecoderConfig,
    STConfig,
    STModel,
    TextTranslator,
)
from voxlate.text.normalize import normalize_text
from voxlate.text.tokenizers import Tokenizer


def normalized_pairs(entries: Sequence[ManifestEntry]) -> tuple[list[str], list[str]]:
    """Normalised (transcripts, translations) of `entries`; every entry needs a translation."""
    missing = [e.id or e.audio for e in entries if not e.translation]
    if missing:
        raise InputError(
            f"{len(missing)} manifest entries have no translation (first: {missing[0]})."
        )
    return [normalize_text(e.text) for e in entries], [
        normalize_text(e.translation or "") for e in entries
    ]


def _save(path: str | os.PathLike, ckpt: dict) -> None:
    with atomic_path(path) as tmp:
        torch.save(ckpt, tmp)


def st_config_from_dict(d: dict) -> STConfig:
    d = dict(d)
    d["encoder"] = EncoderConfig(**d["encoder"])
    d["decoder"] = DecoderConfig(**d["decoder"])
    return STConfig(**d)


def load_st(path: str | os.PathLike) -> tuple[STModel, Tokenizer, Tokenizer, dict]:
    """Rebuild (model in eval mode, source tokenizer, target tokenizer, checkpoint dict)."""
    ckpt = read_checkpoint(path, CHECKPOINT_KIND)
    model = STModel(st_config_from_dict(ckpt["config"]))
    model.load_state_dict(ckpt["state"])
    model.eval()
    return (
        model,
        Tokenizer.from_dict(ckpt["source_tokenizer"]),
        Tokenizer.from_dict(ckpt["target_tokenizer"]),
        ckpt,
    )


def load_text_mt(path: str | os.PathLike) -> tuple[TextTranslator, Tokenizer, Tokenizer]:
    ckpt = read_checkpoint(path, TEXT_CHECKPOINT_KIND)
    src, tgt = (
        Tokenizer.from_dict(ckpt["source_tokenizer"]),
        Tokenizer.from_dict(ckpt["target_tokenizer"]),
    )
    model = TextTranslator(DecoderConfig(**ckpt["config"]), src.vocab_size, tgt.vocab_size)
    model.load_state_dict(ckpt["state"])
    model.eval()
    return model, src, tgt


def train_st(
    train: Sequence[ManifestEntry],
    dev: Sequence[ManifestEntry],
    out: str | os.PathLike,
    model_cfg: STConfig | None = None,
    cfg: TrainConfig | None = None,
    noises: Sequence[np.ndarray] = (),
    cache_dir: str | os.PathLike | None = None,
    log: Callable[[str], None] = print,
    init_encoder: str | os.PathLike | None = None,
) -> list[dict]:
    """Train the multi-decoder speech translator; keeps the lowest dev loss; returns the history.

    init_encoder: a CTC checkpoint whose speech encoder (same `EncoderConfig`) starts training,
    i.e. ASR pre-training of the ST encoder (Bansal et al., 2019).
    """
    from pathlib import Path

    cfg = cfg or TrainConfig()
    model_cfg = model_cfg or STConfig()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    train = [e for e in train if e.duration <= cfg.max_duration]
    src_text, tgt_text = normalized_pairs(train)
    dev_src, dev_tgt = normalized_pairs(dev)
    stok, ttok = Tokenizer.build(src_text), Tokenizer.build(tgt_text)
    model_cfg = replace(
        model_cfg, source_vocab=stok.vocab_size, target_vocab=ttok.vocab_size,
        source_language=train[0].language, target_language=train[0].translation_language,
    )  # fmt: skip
    cache = Path(cache_dir) if cache_dir else None
    clips = load_clips(train, cache / "train.npz" if cache else None)
    dev_clips = load_clips(dev, cache / "dev.npz" if cache else None)
    ids = [(stok.encode(s), ttok.encode(t)) for s, t in zip(src_text, tgt_text, strict=True)]
    dev_ids = [(stok.encode(s), ttok.encode(t)) for s, t in zip(dev_src, dev_tgt, strict=True)]
    if init_encoder is not None:
        from voxlate.tasks.ctc.model import load_ctc

        ctc, _, _ = load_ctc(init_encoder)
        model_cfg = replace(model_cfg, encoder=ctc.cfg.encoder)
    model = STModel(model_cfg)
    if init_encoder is not None:
        model.encoder.load_state_dict(ctc.encoder.state_dict())
        log(f"encoder initialised from {init_encoder}")
    log(
        f"train {len(train)} utts, dev {len(dev)}, vocab {stok.vocab_size}/{ttok.vocab_size}, params {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M"
    )
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    max_samples = int(cfg.batch_seconds * SAMPLE_RATE)
    lengths = [len(c) for c in clips]
    steps_per_epoch = len(make_batches(lengths, max_samples))
    t0, step, best, history = time.time(), 0, math.inf, []

    def batch_losses(cl, idx, pairs, augment):
        b = collate(cl, idx, model_cfg.encoder.n_mels, augment, noises, rng)
        return model.losses(
            b.feats,
            b.lengths,
            pad_targets([pairs[i][0] for i in idx]),
            pad_targets([pairs[i][1] for i in idx]),
        )

    for epoch in range(1, cfg.epochs + 1):
        total_steps = planned_steps(epoch, steps_per_epoch, cfg, time.time() - t0)
        model.train()
        sums: dict[str, float] = {}
        n = 0
        for idx in make_batches(lengths, max_samples, rng):
            for g in opt.param_groups:
                g["lr"] = lr_at(step, total_steps, cfg)
            losses = batch_losses(clips, idx, ids, cfg.augment)
            opt.zero_grad()
            losses["total"].backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + v.item()
            n += 1
            step += 1
        row: dict = {"epoch": epoch, "step": step, "minutes": (time.time() - t0) / 60}
        row.update({f"train_{k}": v / n for k, v in sums.items()})
        if dev:
            model.eval()
            dsum: dict[str, float] = {}
            with torch.no_grad():
                for idx in make_batches([len(c) for c in dev_clips], max_samples):
                    for k, v in batch_losses(dev_clips, idx, dev_ids, None).items():
                        dsum[k] = dsum.get(k, 0.0) + v.item() * len(idx)
            row.update({f"dev_{k}": v / len(dev) for k, v in dsum.items()})
        history.append(row)
        log(
            " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())
        )
        score = row.get("dev_total", -epoch)
        if score <= best:
            best = score
            _save(out, {
                "kind": CHECKPOINT_KIND, "config": asdict(model.cfg), "source_tokenizer": stok.to_dict(),
                "target_tokenizer": ttok.to_dict(), "state": model.state_dict(), "history": history,
            })  # fmt: skip
        if cfg.max_minutes and time.time() - t0 > cfg.max_minutes * 60:
            break
    ckpt = torch.load(out, map_location="cpu", weights_only=False)
    ckpt["history"], ckpt["train_minutes"] = history, (time.time() - t0) / 60
    _save(out, ckpt)
    return history


def plot_st_history(
    history: Sequence[dict], png: str | os.PathLike, title: str = "Speech translation training"
) -> None:
    """Learning curve of `train_st`: train (solid) and dev (dashed) loss of each head per epoch."""
    from voxlate.plots import pyplot, save_png

    plt = pyplot()
    ep = [h["epoch"] for h in history]
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=120)
    for i, (head, label) in enumerate(
        (("ctc", "CTC"), ("source", "transcript decoder"), ("target", "translation decoder"))
    ):
        for split, style in (("train", "-"), ("dev", "--")):
            key = f"{split}_{head}"
            if key in history[0]:
                ax.plot(
                    ep, [h[key] for h in history], style, color=f"C{i}", label=f"{split} {label}"
                )
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss per token (nats)")
    ax.legend(loc="upper right", fontsize=7)
    ax.set_title(title)
    save_png(fig, png, dpi=120)


def train_text_mt(
    train: Sequence[ManifestEntry],
    dev: Sequence[ManifestEntry],
    out: str | os.PathLike,
    dec_cfg: DecoderConfig | None = None,
    cfg: TrainConfig | None = None,
    log: Callable[[str], None] = print,
) -> list[dict]:
    """Train the cascade's text translator on the manifests' (transcript, translation) pairs."""
    cfg = cfg or TrainConfig(max_minutes=3.0)
    dec_cfg = dec_cfg or DecoderConfig()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    src, tgt = normalized_pairs(train)
    dsrc, dtgt = normalized_pairs(dev)
    stok, ttok = Tokenizer.build(src), Tokenizer.build(tgt)
    model = TextTranslator(dec_cfg, stok.vocab_size, ttok.vocab_size)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    pairs = [(stok.encode(s), ttok.encode(t)) for s, t in zip(src, tgt, strict=True)]
    dpairs = [(stok.encode(s), ttok.encode(t)) for s, t in zip(dsrc, dtgt, strict=True)]
    lengths = [len(s) for s, _ in pairs]
    per_batch = 32 * 60  # characters per batch, padding included
    t0, step, best, history = time.time(), 0, math.inf, []
    steps_per_epoch = len(make_batches(lengths, per_batch))

    def loss_of(ps: list[tuple[list[int], list[int]]]) -> torch.Tensor:
        s, sl = pad_targets([p[0] for p in ps])
        t, tl = pad_targets([p[1] for p in ps])
        mem, pad = model.encode(s, sl)
        return model.decoder.loss(t, tl, mem, pad)

    for epoch in range(1, cfg.epochs + 1):
        total_steps = planned_steps(epoch, steps_per_epoch, cfg, time.time() - t0)
        model.train()
        losses = []
        for idx in make_batches(lengths, per_batch, rng):
            for g in opt.param_groups:
                g["lr"] = lr_at(step, total_steps, cfg)
            loss = loss_of([pairs[i] for i in idx])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            losses.append(loss.item())
            step += 1
        model.eval()
        with torch.no_grad():
            dl = (
                float(
                    np.mean(
                        [
                            loss_of([dpairs[i] for i in idx]).item()
                            for idx in make_batches([len(s) for s, _ in dpairs], per_batch)
                        ]
                    )
                )
                if dpairs
                else -epoch
            )
        row = {
            "epoch": epoch,
            "minutes": (time.time() - t0) / 60,
            "train_loss": float(np.mean(losses)),
            "dev_loss": dl,
        }
        history.append(row)
        log(
            " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())
        )
        if dl <= best:
            best = dl
            _save(out, {
                "kind": TEXT_CHECKPOINT_KIND, "config": asdict(dec_cfg), "source_tokenizer": stok.to_dict(),
                "target_tokenizer": ttok.to_dict(), "state": model.state_dict(), "history": history,
            })  # fmt: skip
        if cfg.max_minutes and time.time() - t0 > cfg.max_minutes * 60:
            break
    return history
