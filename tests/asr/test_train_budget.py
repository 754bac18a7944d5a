"""The epoch trainers (asr train, st train, st train-text) stop at their time budget and
leave a checkpoint that loads."""

from __future__ import annotations

import time

from voxlate.data.manifest import read_manifest
from voxlate.tasks.ctc import CTCConfig, EncoderConfig, load_ctc, train_ctc
from voxlate.tasks.ctc.epochs import EpochTrainConfig
from voxlate.tasks.st import DecoderConfig, STConfig, train_st, train_text_mt
from voxlate.tasks.st.train import load_st, load_text_mt

ENC = EncoderConfig(n_mels=40, conv_channels=4, d_model=16, n_layers=1, dropout=0.0)
DEC = DecoderConfig(kind="gru", d_model=16, n_layers=1, n_heads=2, dropout=0.0, max_len=12)
# 1000 epochs at most, 0.6 s of budget: a few short epochs, then stop and save.
CFG = EpochTrainConfig(epochs=1000, max_minutes=0.01, batch_seconds=8, warmup_steps=1, augment=None)


def stopped_by_budget(h: list[dict]) -> bool:
    """The run ended near its 0.6 s budget, far from its 1000 epochs (how many epochs fit
    depends on the machine's speed, so only the time is checked)."""
    return 0 < len(h) < 1000 and h[-1]["minutes"] < 0.5


def test_epoch_trainers_stop_at_the_budget(librivox_manifest, tmp_path):
    entries = read_manifest(librivox_manifest)
    quiet = {"log": lambda s: None, "progress": False}
    t0 = time.monotonic()
    h = train_ctc(entries[:3], entries[3:], tmp_path / "ctc.pt", CTCConfig(ENC), CFG, **quiet)
    assert stopped_by_budget(h) and "dev_cer" in h[-1]
    _, _, ck = load_ctc(tmp_path / "ctc.pt")
    assert ck.extra["history"] == h and ck.extra["train_minutes"] < 1.0
    h = train_st(entries[:3], entries[3:], tmp_path / "st.pt", STConfig(ENC, DEC), CFG, **quiet)
    assert stopped_by_budget(h) and load_st(tmp_path / "st.pt")[3].extra["history"] == h
    h = train_text_mt(entries, entries[3:], tmp_path / "mt.pt", DEC, CFG, **quiet)
    assert stopped_by_budget(h)
    load_text_mt(tmp_path / "mt.pt")
    assert time.monotonic() - t0 < 60  # three trainers, each stopped by its 0.6 s budget
