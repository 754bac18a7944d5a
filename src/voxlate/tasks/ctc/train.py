"""Train and evaluate the CTC recognizer on manifests.

The shared epoch loop (`tasks/ctc/epochs.py`) runs until `EpochTrainConfig.epochs` or the
wall-clock budget `max_minutes` is reached, evaluates dev loss and greedy CER after each
epoch, and keeps the checkpoint with the lowest dev CER. Each epoch appends a row to the
checkpoint's `history` (the learning curve).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from voxlate.audio import SAMPLE_RATE
from voxlate.data.manifest import ManifestEntry
from voxlate.metrics import cer, wer
from voxlate.tasks.ctc.dataset import collate, load_clips, make_batches, pad_targets
from voxlate.tasks.ctc.decode import beam_decode, greedy_decode
from voxlate.tasks.ctc.epochs import EpochTrainConfig, run_epochs
from voxlate.tasks.ctc.model import CTCConfig, CTCModel, load_ctc, save_ctc
from voxlate.text.normalize import normalize_text
from voxlate.text.tokenizers import Tokenizer


def prepare_texts(entries: Sequence[ManifestEntry]) -> list[str]:
    """Training targets: lower-cased, punctuation removed."""
    return [normalize_text(e.text) for e in entries]


@torch.no_grad()
def recognize_clips(
    model: CTCModel,
    tokenizer: Tokenizer,
    clips: Sequence[np.ndarray],
    beam: int = 0,
    batch_seconds: float = 60.0,
) -> list[str]:
    """Hypothesis text per clip (int16 16 kHz); beam 0 or 1 = greedy, else prefix beam search."""
    model.eval()
    hyps: list[str] = [""] * len(clips)
    for idx in make_batches([len(c) for c in clips], int(batch_seconds * SAMPLE_RATE)):
        b = collate(clips, idx, model.cfg.encoder.n_mels)
        logp, out_len = model(b.feats, b.lengths)
        seqs = beam_decode(logp, out_len, beam) if beam > 1 else greedy_decode(logp, out_len)
        for i, s in zip(idx, seqs, strict=True):
            hyps[i] = " ".join(tokenizer.decode(s).split())
    return hyps


@torch.no_grad()
def dev_loss(
    model: CTCModel, clips: Sequence[np.ndarray], targets: Sequence[list[int]], batch_seconds: float
) -> float:
    model.eval()
    total, n = 0.0, 0
    for idx in make_batches([len(c) for c in clips], int(batch_seconds * SAMPLE_RATE)):
        b = collate(clips, idx, model.cfg.encoder.n_mels)
        tg, tl = pad_targets([targets[i] for i in idx])
        total += float(model.loss(b.feats, b.lengths, tg, tl)) * len(idx)
        n += len(idx)
    return total / max(1, n)


def train_ctc(
    train: Sequence[ManifestEntry],
    dev: Sequence[ManifestEntry],
    out: str | os.PathLike,
    model_cfg: CTCConfig | None = None,
    cfg: EpochTrainConfig | None = None,
    tokenizer_kind: str = "char",
    noises: Sequence[np.ndarray] = (),
    cache_dir: str | os.PathLike | None = None,
    log: Callable[[str], None] = print,
    progress: bool = True,
) -> list[dict]:
    """Train a CTC model; writes the best checkpoint (by dev CER) to `out`; returns the history.

    Raises TrainingInterrupted (after saving) on Ctrl-C.
    """
    cfg = cfg or EpochTrainConfig()
    model_cfg = model_cfg or CTCConfig()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    train = [e for e in train if e.duration <= cfg.max_duration]
    train_text, dev_text = prepare_texts(train), prepare_texts(dev)
    tok = Tokenizer.build(train_text, tokenizer_kind)
    model_cfg = replace(
        model_cfg, vocab_size=tok.vocab_size, language=train[0].language if train else ""
    )
    cache = Path(cache_dir) if cache_dir else None
    train_clips = load_clips(train, cache / "train.npz" if cache else None)
    dev_clips = load_clips(dev, cache / "dev.npz" if cache else None)
    train_ids = [tok.encode(t) for t in train_text]
    dev_ids = [tok.encode(t) for t in dev_text]
    model = CTCModel(model_cfg)
    n_params = sum(p.numel() for p in model.parameters())
    log(
        f"train {len(train)} utts {sum(e.duration for e in train) / 60:.1f} min, dev {len(dev)}, vocab {tok.vocab_size}, params {n_params / 1e6:.2f} M"
    )
    max_samples = int(cfg.batch_seconds * SAMPLE_RATE)
    lengths = [len(c) for c in train_clips]

    def losses(idx: list[int]) -> dict[str, torch.Tensor]:
        b = collate(train_clips, idx, model_cfg.encoder.n_mels, cfg.augment, noises, rng)
        tg, tl = pad_targets([train_ids[i] for i in idx])
        return {"loss": model.loss(b.feats, b.lengths, tg, tl)}

    def evaluate() -> dict[str, float]:
        if not dev:
            return {}
        return {
            "dev_loss": dev_loss(model, dev_clips, dev_ids, cfg.batch_seconds),
            "dev_cer": cer(dev_text, recognize_clips(model, tok, dev_clips)),
        }

    def save(weights: dict[str, torch.Tensor], history: list[dict], minutes: float) -> None:
        save_ctc(out, model, tok, history, weights, cfg, minutes)

    return run_epochs(
        model, cfg, lambda r: make_batches(lengths, max_samples, r), losses, evaluate,
        "dev_cer", save, str(out), log, progress,
    )  # fmt: skip


def evaluate_ctc(
    checkpoint: str | os.PathLike,
    entries: Sequence[ManifestEntry],
    beam: int = 0,
    cache: str | os.PathLike | None = None,
) -> dict:
    """CER and WER (fractions) of a checkpoint on `entries`, with the hypotheses."""
    model, tok, _ = load_ctc(checkpoint)
    clips = load_clips(entries, cache)
    refs = prepare_texts(entries)
    hyps = recognize_clips(model, tok, clips, beam)
    return {
        "cer": cer(refs, hyps),
        "wer": wer(refs, hyps),
        "n": len(entries),
        "refs": refs,
        "hyps": hyps,
    }


def plot_history(
    history: Sequence[dict], png: str | os.PathLike, title: str = "CTC training"
) -> None:
    """Learning curve: losses (left axis) and dev CER (right axis) per epoch, as a PNG."""
    from voxlate.plots import learning_curve

    learning_curve(
        history,
        png,
        [("train_loss", "train loss", "C0-"), ("dev_loss", "dev loss", "C1-")],
        "CTC loss per token",
        right=[("dev_cer", "dev CER %", "C3--")],
        right_label="dev CER (%)",
        right_scale=100.0,
        title=title,
    )
