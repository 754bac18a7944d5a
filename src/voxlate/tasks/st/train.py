"""Train the speech translator and the text translator of the cascade (`evaluate` scores them).

Targets are normalised (lower case, punctuation removed) on both sides.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from voxlate.audio import SAMPLE_RATE
from voxlate.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from voxlate.data.manifest import ManifestEntry
from voxlate.errors import InputError
from voxlate.tasks.ctc.dataset import collate, load_clips, make_batches, pad_targets
from voxlate.tasks.ctc.epochs import EpochTrainConfig, run_epochs
from voxlate.tasks.st.model import (
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


def _save(
    path: str | os.PathLike,
    config: Any,
    weights: dict[str, torch.Tensor],
    stok: Tokenizer,
    ttok: Tokenizer,
    history: list[dict],
    train_config: EpochTrainConfig,
    minutes: float,
) -> None:
    save_checkpoint(
        path, config=config, model=weights, train_config=train_config,
        extra={"source_tokenizer": stok.to_dict(), "target_tokenizer": ttok.to_dict(),
               "history": history, "train_minutes": minutes},
    )  # fmt: skip


def _tokenizers(ck: Checkpoint) -> tuple[Tokenizer, Tokenizer]:
    return (
        Tokenizer.from_dict(ck.extra["source_tokenizer"]),
        Tokenizer.from_dict(ck.extra["target_tokenizer"]),
    )


def load_st(path: str | os.PathLike) -> tuple[STModel, Tokenizer, Tokenizer, Checkpoint]:
    """Rebuild (model in eval mode, source tokenizer, target tokenizer, checkpoint)."""
    ck = load_checkpoint(path, expect=STConfig)
    model = STModel(ck.config)
    model.load_state_dict(ck.model)
    model.eval()
    return (model, *_tokenizers(ck), ck)


def load_text_mt(path: str | os.PathLike) -> tuple[TextTranslator, Tokenizer, Tokenizer]:
    """Rebuild the cascade's text translator: (model in eval mode, source and target tokenizers)."""
    ck = load_checkpoint(path, expect=DecoderConfig)
    src, tgt = _tokenizers(ck)
    model = TextTranslator(ck.config, src.vocab_size, tgt.vocab_size)
    model.load_state_dict(ck.model)
    model.eval()
    return model, src, tgt


def train_st(
    train: Sequence[ManifestEntry],
    dev: Sequence[ManifestEntry],
    out: str | os.PathLike,
    model_cfg: STConfig | None = None,
    cfg: EpochTrainConfig | None = None,
    noises: Sequence[np.ndarray] = (),
    cache_dir: str | os.PathLike | None = None,
    log: Callable[[str], None] = print,
    init_encoder: str | os.PathLike | None = None,
    progress: bool = True,
) -> list[dict]:
    """Train the multi-decoder speech translator; keeps the lowest dev loss; returns the history.

    init_encoder: a CTC checkpoint whose speech encoder (same `EncoderConfig`) starts training,
    i.e. ASR pre-training of the ST encoder (Bansal et al., 2019).
    """
    from pathlib import Path

    cfg = cfg or EpochTrainConfig()
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
    max_samples = int(cfg.batch_seconds * SAMPLE_RATE)
    lengths = [len(c) for c in clips]

    def batch_losses(cl, idx, pairs, augment):
        b = collate(cl, idx, model_cfg.encoder.n_mels, augment, noises, rng)
        return model.losses(
            b.feats,
            b.lengths,
            pad_targets([pairs[i][0] for i in idx]),
            pad_targets([pairs[i][1] for i in idx]),
        )

    def evaluate() -> dict[str, float]:
        if not dev:
            return {}
        dsum: dict[str, float] = {}
        for idx in make_batches([len(c) for c in dev_clips], max_samples):
            for k, v in batch_losses(dev_clips, idx, dev_ids, None).items():
                dsum[k] = dsum.get(k, 0.0) + v.item() * len(idx)
        return {f"dev_{k}": v / len(dev) for k, v in dsum.items()}

    def save(weights: dict[str, torch.Tensor], history: list[dict], minutes: float) -> None:
        _save(out, model.cfg, weights, stok, ttok, history, cfg, minutes)

    return run_epochs(
        model, cfg, lambda r: make_batches(lengths, max_samples, r),
        lambda idx: batch_losses(clips, idx, ids, cfg.augment), evaluate, "dev_total", save,
        str(out), log, progress,
    )  # fmt: skip


def plot_st_history(
    history: Sequence[dict], png: str | os.PathLike, title: str = "Speech translation training"
) -> None:
    """Learning curve of `train_st`: train (solid) and dev (dashed) loss of each head per epoch."""
    from voxlate.plots import learning_curve

    heads = (("ctc", "CTC"), ("source", "transcript decoder"), ("target", "translation decoder"))
    series = [
        (f"{split}_{head}", f"{split} {label}", f"C{i}{style}")
        for i, (head, label) in enumerate(heads)
        for split, style in (("train", "-"), ("dev", "--"))
    ]
    learning_curve(history, png, series, "loss per token (nats)", title=title)


def train_text_mt(
    train: Sequence[ManifestEntry],
    dev: Sequence[ManifestEntry],
    out: str | os.PathLike,
    dec_cfg: DecoderConfig | None = None,
    cfg: EpochTrainConfig | None = None,
    log: Callable[[str], None] = print,
    progress: bool = True,
) -> list[dict]:
    """Train the cascade's text translator on the manifests' (transcript, translation) pairs.

    Keeps the lowest dev loss; raises TrainingInterrupted (after saving) on Ctrl-C."""
    cfg = cfg or EpochTrainConfig(max_minutes=3.0)
    dec_cfg = dec_cfg or DecoderConfig()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    src, tgt = normalized_pairs(train)
    dsrc, dtgt = normalized_pairs(dev)
    stok, ttok = Tokenizer.build(src), Tokenizer.build(tgt)
    model = TextTranslator(dec_cfg, stok.vocab_size, ttok.vocab_size)
    pairs = [(stok.encode(s), ttok.encode(t)) for s, t in zip(src, tgt, strict=True)]
    dpairs = [(stok.encode(s), ttok.encode(t)) for s, t in zip(dsrc, dtgt, strict=True)]
    lengths = [len(s) for s, _ in pairs]
    per_batch = 32 * 60  # characters per batch, padding included

    def loss_of(ps: list[tuple[list[int], list[int]]]) -> torch.Tensor:
        s, sl = pad_targets([p[0] for p in ps])
        t, tl = pad_targets([p[1] for p in ps])
        mem, pad = model.encode(s, sl)
        return model.decoder.loss(t, tl, mem, pad)

    def evaluate() -> dict[str, float]:
        if not dpairs:
            return {}
        batches = make_batches([len(s) for s, _ in dpairs], per_batch)
        return {
            "dev_loss": float(np.mean([loss_of([dpairs[i] for i in b]).item() for b in batches]))
        }

    def save(weights: dict[str, torch.Tensor], history: list[dict], minutes: float) -> None:
        _save(out, dec_cfg, weights, stok, ttok, history, cfg, minutes)

    return run_epochs(
        model, cfg, lambda r: make_batches(lengths, per_batch, r),
        lambda idx: {"loss": loss_of([pairs[i] for i in idx])}, evaluate, "dev_loss", save,
        str(out), log, progress,
    )  # fmt: skip
