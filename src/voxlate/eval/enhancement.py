"""Speech-enhancement quality: PESQ (wide-band), ESTOI, SI-SDR, real-time factor, spectrograms.

PESQ: ITU-T P.862.2 wide-band via the `pesq` package (16 kHz). ESTOI: Jensen & Taal (2016)
via `pystoi`. SI-SDR: Le Roux et al. (2019), implemented here.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from voxlate.audio import Audio, load_audio
from voxlate.engines.enhance.base import Enhancer
from voxlate.errors import MissingDependencyError
from voxlate.plots import pyplot, save_png

METRIC_RATE = 16_000  # Hz; PESQ wide-band and the other metrics run at this rate


def si_sdr(estimate: np.ndarray, reference: np.ndarray) -> float:
    """Scale-invariant SDR in dB (Le Roux et al., 2019, eq. 1-2); both (n,), zero-mean'd here."""
    n = min(len(estimate), len(reference))
    s, r = estimate[:n].astype(np.float64), reference[:n].astype(np.float64)
    s, r = s - s.mean(), r - r.mean()
    alpha = np.dot(s, r) / (np.dot(r, r) + 1e-12)
    target = alpha * r
    return float(10 * np.log10((np.sum(target**2) + 1e-12) / (np.sum((s - target) ** 2) + 1e-12)))


def pesq_wb(estimate: np.ndarray, reference: np.ndarray) -> float:
    """Wide-band PESQ (MOS-LQO, about 1.0-4.64) at 16 kHz; NaN if PESQ finds no speech."""
    try:
        from pesq import pesq
    except ImportError as e:
        raise MissingDependencyError("pesq", pip="pesq") from e
    n = min(len(estimate), len(reference))
    try:
        return float(pesq(METRIC_RATE, reference[:n], estimate[:n], "wb"))
    except Exception:  # noqa: BLE001 - pesq raises its own errors for silent input
        return math.nan


def estoi(estimate: np.ndarray, reference: np.ndarray) -> float:
    """Extended STOI in [0, 1] at 16 kHz."""
    try:
        from pystoi import stoi
    except ImportError as e:
        raise MissingDependencyError("pystoi", pip="pystoi") from e
    n = min(len(estimate), len(reference))
    return float(stoi(reference[:n], estimate[:n], METRIC_RATE, extended=True))


@dataclass
class SystemScores:
    """Mean scores of one system over the test set."""

    name: str  # system label ("noisy", "spectral", "deepfilter", "diffusion")
    pesq: list[float] = field(default_factory=list)  # per file, wide-band PESQ
    estoi: list[float] = field(default_factory=list)  # per file, ESTOI
    si_sdr: list[float] = field(default_factory=list)  # per file, dB
    seconds: float = 0.0  # processing wall time in total (s)
    audio_seconds: float = 0.0  # duration of the processed audio in total (s)

    @property
    def rtf(self) -> float:
        """Real-time factor: processing time / audio duration (< 1 is faster than real time)."""
        return self.seconds / self.audio_seconds if self.audio_seconds else math.nan

    def add(self, pesq: float, estoi: float, si_sdr: float, seconds: float, audio: float) -> None:
        """One file's scores, processing time (s) and duration (s)."""
        self.pesq.append(pesq)
        self.estoi.append(estoi)
        self.si_sdr.append(si_sdr)
        self.seconds += seconds
        self.audio_seconds += audio

    def cell(self) -> str:
        """'PESQ / ESTOI / SI-SDR' means, for the breakdown tables."""
        return (f"{np.nanmean(self.pesq):.2f} / {np.mean(self.estoi):.3f} / "
                f"{np.mean(self.si_sdr):.1f}")  # fmt: skip

    def row(self) -> list[object]:
        return [self.name, float(np.nanmean(self.pesq)), float(np.mean(self.estoi)),
                float(np.mean(self.si_sdr)), self.rtf]  # fmt: skip


HEADER = ["system", "PESQ-WB", "ESTOI", "SI-SDR (dB)", "RTF (CPU)"]


def score_systems(
    noisy: Audio, clean: np.ndarray, systems: Mapping[str, Enhancer | None]
) -> tuple[dict[str, tuple[float, float, float, float]], dict[str, np.ndarray]]:
    """Run each system (None = the noisy input itself) on one noisy clip and score it
    against `clean` (16 kHz): {name: (PESQ, ESTOI, SI-SDR, seconds)} and the outputs
    (16 kHz) keyed by 'noisy' and each system name."""
    out: dict[str, tuple[float, float, float, float]] = {}
    waves: dict[str, np.ndarray] = {"noisy": noisy.resample(METRIC_RATE).samples}
    for name, system in systems.items():
        start = time.perf_counter()
        enhanced = noisy if system is None else system.enhance(noisy)
        seconds = time.perf_counter() - start if system is not None else 0.0
        est = enhanced.resample(METRIC_RATE).samples
        out[name] = (pesq_wb(est, clean), estoi(est, clean), si_sdr(est, clean), seconds)
        waves[name] = est
    return out, waves


def evaluate(
    pairs: Sequence[tuple[Path, Path]],
    systems: Mapping[str, Enhancer | None],
    keep: int = 0,
) -> tuple[list[SystemScores], list[dict[str, np.ndarray]]]:
    """Score each system (None = the noisy input itself) on (noisy, clean) file pairs.

    Returns the scores and, for the first `keep` pairs, every waveform (16 kHz) keyed by
    'noisy', each system name and 'clean', for plotting.
    """
    scores = {name: SystemScores(name) for name in systems}
    kept: list[dict[str, np.ndarray]] = []
    for i, (noisy_path, clean_path) in enumerate(tqdm(pairs, desc="evaluating", unit="file")):
        noisy = load_audio(noisy_path, METRIC_RATE)
        clean = load_audio(clean_path, METRIC_RATE).samples
        result, waves = score_systems(noisy, clean, systems)
        for name, (p, e, s, seconds) in result.items():
            scores[name].add(p, e, s, seconds, noisy.duration)
        waves["clean"] = clean
        if i < keep:
            kept.append(waves)
    return list(scores.values()), kept


def spectrogram_png(
    path: str | os.PathLike, examples: Sequence[Mapping[str, np.ndarray]], titles: Sequence[str]
) -> Path:
    """One row per example, one column per signal (noisy, systems..., clean); log-magnitude
    spectrograms at 16 kHz, 0-8 kHz. Written atomically."""
    plt = pyplot()
    cols = list(examples[0].keys())
    fig, axes = plt.subplots(len(examples), len(cols), figsize=(2.6 * len(cols), 2.2 * len(examples)),
                             squeeze=False, sharey=True)  # fmt: skip
    for r, ex in enumerate(examples):
        for c, name in enumerate(cols):
            ax = axes[r][c]
            x = ex[name]
            ax.specgram(
                x + 1e-7, NFFT=512, Fs=METRIC_RATE, noverlap=384, cmap="magma", vmin=-120, vmax=-20
            )
            ax.set_title(name, fontsize=9)
            if c == 0:
                ax.set_ylabel(f"{titles[r]}\nHz", fontsize=7)
            ax.tick_params(labelsize=6)
    return save_png(fig, path, dpi=72)
