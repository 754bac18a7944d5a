"""Every PNG figure goes through voxlate.plots; each writer makes a readable PNG."""

from __future__ import annotations

import numpy as np
import torch

from voxlate.eval.enhancement import spectrogram_png
from voxlate.eval.voice import VoiceEvalResult, plot_similarities
from voxlate.tasks.ctc.train import plot_history
from voxlate.tasks.digits.evaluate import save_grid
from voxlate.tasks.speakers.evaluate import tsne_plot
from voxlate.tasks.st.train import plot_st_history

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def is_png(path) -> bool:
    return path.read_bytes()[:8] == PNG_MAGIC


def test_each_figure_writer_makes_a_png(tmp_path):
    rng = np.random.default_rng(0)
    hist = [{"epoch": e, "train_loss": 2.0 / e, "dev_loss": 2.2 / e, "dev_cer": 0.9 / e}
            for e in range(1, 4)]  # fmt: skip
    plot_history(hist, tmp_path / "ctc.png")
    st_hist = [{"epoch": e, "train_ctc": 1.0, "dev_ctc": 1.1, "train_target": 2.0} for e in (1, 2)]
    plot_st_history(st_hist, tmp_path / "st.png")
    save_grid(torch.zeros(3, 1, 8, 8), [1, 2, 3], tmp_path / "grid.png", title="digits")
    real = rng.normal(size=(20, 8))
    tsne_plot(real, rng.normal(size=(6, 8)), tmp_path / "tsne.png")
    noise = rng.normal(size=16_000).astype(np.float32) * 0.1
    spectrogram_png(tmp_path / "spec.png", [{"noisy": noise, "clean": noise * 0.5}], ["clip"])
    res = VoiceEvalResult(same_speaker=[0.8, 0.85], different_speakers=[0.5, 0.55])
    res.similarity["preserve"] = [0.6, 0.58]
    plot_similarities(res, tmp_path / "voice.png")
    names = ("ctc", "st", "grid", "tsne", "spec", "voice")
    for name in names:
        assert is_png(tmp_path / f"{name}.png"), name
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{n}.png" for n in names)
