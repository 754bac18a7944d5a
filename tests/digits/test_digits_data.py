"""Digit corpus readers (fake layouts), the synthetic corpus builder and log-mel round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from voxlate.audio import Audio
from voxlate.data.digits import (
    SyntheticVoice,
    build_synthetic_corpus,
    detect_layout,
    read_audiomnist,
    read_digits,
    read_fsdd,
    read_sc09,
    split_by_speaker,
    trim_and_fit,
)
from voxlate.errors import InputError
from voxlate.tasks.digits.features import MelConfig, MelTransform


def _tone(path: Path, sr: int = 8000, f: float = 440.0, seconds: float = 0.5) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(sr * seconds)) / sr
    sf.write(path, 0.5 * np.sin(2 * np.pi * f * t), sr)


def test_audiomnist_layout(tmp_path: Path) -> None:
    for spk in ("01", "02"):
        for d in (3, 7):
            _tone(tmp_path / "data" / spk / f"{d}_{spk}_0.wav")
    _tone(tmp_path / "data" / "01" / "notes.wav")  # ignored
    clips = read_audiomnist(tmp_path)
    assert len(clips) == 4
    assert {(c.digit, c.speaker) for c in clips} == {(3, "01"), (7, "01"), (3, "02"), (7, "02")}
    assert detect_layout(tmp_path) == "audiomnist"


def test_fsdd_layout(tmp_path: Path) -> None:
    for name in ("0_jackson_0.wav", "9_theo_12.wav", "5_nicolas_3.wav"):
        _tone(tmp_path / "recordings" / name)
    clips = read_fsdd(tmp_path)
    assert sorted((c.digit, c.speaker) for c in clips) == [
        (0, "jackson"),
        (5, "nicolas"),
        (9, "theo"),
    ]
    assert detect_layout(tmp_path) == "fsdd"
    assert len(read_digits(tmp_path)) == 3


def test_sc09_layout(tmp_path: Path) -> None:
    _tone(tmp_path / "seven" / "0a2b400e_nohash_0.wav")
    _tone(tmp_path / "zero" / "0a2b400e_nohash_1.wav")
    _tone(tmp_path / "bed" / "0a2b400e_nohash_0.wav")  # not a digit word: ignored
    clips = read_sc09(tmp_path)
    assert sorted(c.digit for c in clips) == [0, 7]
    assert {c.speaker for c in clips} == {"0a2b400e"}
    assert detect_layout(tmp_path) == "sc09"


def test_missing_or_empty_corpus_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        read_fsdd(tmp_path / "nope")
    with pytest.raises(InputError):
        read_fsdd(tmp_path)


def test_split_holds_out_whole_speakers(tmp_path: Path) -> None:
    for spk in ("a", "b", "c", "d", "e"):
        for d in range(3):
            _tone(tmp_path / f"{d}_{spk}_0.wav")
    train, test = split_by_speaker(read_fsdd(tmp_path), 0.4)
    assert not {c.speaker for c in train} & {c.speaker for c in test}
    assert len({c.speaker for c in test}) == 2


def test_trim_and_fit_centres_speech() -> None:
    x = np.zeros(16000, dtype=np.float32)
    x[12000:14000] = 0.3 * np.sin(np.arange(2000) * 0.3)
    y = trim_and_fit(Audio(x, 16000), 8000, 1.0).samples
    assert len(y) == 8000 and abs(np.max(np.abs(y)) - 0.9) < 1e-3
    active = np.nonzero(np.abs(y) > 0.01)[0]
    assert abs((active[0] + active[-1]) / 2 - 4000) < 100


def test_corpus_builder_two_voices_two_digits(tmp_path: Path) -> None:
    voices = [
        SyntheticVoice("espA", "espeak-ng", voice="en-us+f3", rate=170, pitch=60),
        SyntheticVoice("espB", "espeak-ng", voice="en-gb-x-rp+m3", rate=150, pitch=35, shift=0.95),
    ]
    clips = build_synthetic_corpus(tmp_path, voices, digits=(1, 8), repetitions=1, progress=False)
    assert len(clips) == 4
    back = read_fsdd(tmp_path)
    assert sorted((c.digit, c.speaker) for c in back) == sorted((c.digit, c.speaker) for c in clips)
    for c in back:
        data, sr = sf.read(c.path)
        assert sr == 8000 and len(data) == 8000 and np.max(np.abs(data)) > 0.5
    meta = (tmp_path / "corpus.json").read_text()
    assert '"synthetic": true' in meta


@pytest.mark.slow
def test_corpus_builder_piper_voice(tmp_path: Path) -> None:
    v = SyntheticVoice("piperA", "piper", length_scale=1.1, shift=1.05)
    clips = build_synthetic_corpus(tmp_path, [v], digits=(4,), repetitions=1, progress=False)
    data, sr = sf.read(clips[0].path)
    assert sr == 8000 and np.max(np.abs(data)) > 0.5


def test_mel_griffin_lim_round_trip() -> None:
    cfg = MelConfig()
    tf = MelTransform(cfg)
    sr = cfg.sample_rate
    t = np.arange(cfg.n_samples) / sr
    env = np.exp(-(((t - 0.5) / 0.15) ** 2))
    x = (0.5 * env * (np.sin(2 * np.pi * 220 * t) + 0.5 * np.sin(2 * np.pi * 660 * t))).astype(
        np.float32
    )
    img = tf.encode(torch.from_numpy(x)[None])
    assert img.shape == (1, 1, cfg.n_mels, cfg.frames)
    assert img.min() >= -1 and img.max() <= 1
    y = tf.decode(img, iters=32)
    assert y.shape == (1, cfg.n_samples)
    ratio = float((y**2).sum() / (torch.from_numpy(x) ** 2).sum())
    assert 0.5 < ratio < 2.0
    loud = img > 0.0  # where the signal is (leakage into silent bands is expected)
    assert float((tf.encode(y) - img).abs()[loud].mean()) < 0.1
    silent = tf.decode(-torch.ones(1, 1, cfg.n_mels, cfg.frames), iters=4)
    assert float(silent.abs().max()) == 0.0
