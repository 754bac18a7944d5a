"""Mixing speech with noise at a chosen SNR, and on-the-fly noisy/clean training pairs.

Noise comes from three kinds of source: recordings (any audio files: music, effects,
DEMAND), synthetic coloured noise (power spectrum ~ 1/f^exponent) and babble (a sum of
other utterances). All audio is mono float32 at one sample rate (Hz).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from voxlate.audio import SAMPLE_RATE, load_audio
from voxlate.errors import InputError

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")

# Exponent of the power spectrum 1/f^exponent for each named colour.
COLOURS: dict[str, float] = {"white": 0.0, "pink": 1.0, "brown": 2.0, "blue": -1.0, "violet": -2.0}


def audio_files(folder: str | os.PathLike) -> list[Path]:
    """All audio files under `folder` (recursive, sorted, symlinks followed).

    Raises InputError if the folder is missing or holds no audio.
    """
    p = Path(folder)
    if not p.is_dir():
        raise InputError(f"Folder not found: {p}")
    files = sorted(f for f in p.rglob("*") if f.suffix.lower() in AUDIO_SUFFIXES and f.is_file())
    if not files:
        raise InputError(f"No audio files (wav, flac, ogg, mp3) in {p}")
    return files


def load_many(files: Sequence[Path], sample_rate: int, desc: str = "loading") -> list[np.ndarray]:
    """Load `files` as mono float32 arrays at `sample_rate` Hz, skipping empty ones."""
    out = []
    for f in tqdm(files, desc=desc, unit="file", leave=False):
        x = load_audio(f, sample_rate).samples
        if len(x) > 0 and np.abs(x).max() > 1e-4:
            out.append(x)
    return out


def coloured_noise(n: int, exponent: float, rng: np.random.Generator) -> np.ndarray:
    """n samples of Gaussian noise with power spectrum ~ 1/f^exponent, unit RMS, float32.

    exponent 0 white, 1 pink, 2 brown (red), -1 blue, -2 violet.
    """
    spec = rng.standard_normal(n // 2 + 1) + 1j * rng.standard_normal(n // 2 + 1)
    f = np.arange(n // 2 + 1, dtype=np.float64)
    f[0] = 1.0
    spec *= f ** (-exponent / 2)
    spec[0] = 0.0
    x = np.fft.irfft(spec, n)
    return (x / (np.sqrt(np.mean(x**2)) + 1e-12)).astype(np.float32)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)) + 1e-12))


def fit_length(x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """A random n-sample excerpt of x, looping x when it is shorter."""
    if len(x) < n:
        x = np.tile(x, n // len(x) + 1)
    start = int(rng.integers(0, len(x) - n + 1))
    return x[start : start + n]


def mix_at_snr(clean: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """clean + noise scaled so that 10 log10(P_clean / P_noise) = snr_db; same length (samples)."""
    if len(noise) != len(clean):
        raise ValueError("clean and noise must have the same length")
    gain = rms(clean) / (rms(noise) * 10 ** (snr_db / 20))
    return (clean + gain * noise).astype(np.float32)


@dataclass(frozen=True)
class MixConfig:
    """How noisy training examples are drawn."""

    snr_low_db: float = -2.0  # lowest SNR (dB)
    snr_high_db: float = 17.0  # highest SNR (dB)
    p_recorded: float = 0.5  # probability of a recorded noise file (if any are given)
    p_babble: float = 0.2  # probability of babble (sum of other utterances)
    colours: tuple[str, ...] = ("white", "pink", "brown")  # coloured noises for the remainder
    babble_talkers: tuple[int, int] = (3, 6)  # number of talkers in babble, inclusive range
    peak_low: float = 0.1  # random peak level of the noisy mix: uniform in [low, high]
    peak_high: float = 0.9
    p_eq: float = 0.0  # probability of a random EQ on the speech (and, apart, on the noise)
    p_reverb: float = 0.0  # probability of a synthetic room on the speech (target included)


class NoiseSampler:
    """Draws noise of one of the configured kinds; `describe` names the last choice."""

    def __init__(
        self, recorded: list[np.ndarray], babble_pool: list[np.ndarray], config: MixConfig
    ) -> None:
        self.recorded = recorded
        self.babble_pool = babble_pool
        self.config = config

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        """n samples of noise (unit-free) and a label such as 'pink' or 'babble'."""
        c = self.config
        u = rng.random()
        if self.recorded and u < c.p_recorded:
            return fit_length(
                self.recorded[int(rng.integers(len(self.recorded)))], n, rng
            ), "recorded"
        if len(self.babble_pool) >= 2 and u < c.p_recorded + c.p_babble:
            k = int(rng.integers(c.babble_talkers[0], c.babble_talkers[1] + 1))
            out = np.zeros(n, dtype=np.float32)
            for i in rng.choice(
                len(self.babble_pool), size=min(k, len(self.babble_pool)), replace=False
            ):
                x = fit_length(self.babble_pool[int(i)], n, rng)
                out += x / rms(x)
            return out, "babble"
        colour = c.colours[int(rng.integers(len(c.colours)))]
        return coloured_noise(n, COLOURS[colour], rng), colour


def random_eq(
    x: np.ndarray, rng: np.random.Generator, sample_rate: int = SAMPLE_RATE
) -> np.ndarray:
    """x through a random EQ: a spectral tilt of -6..+6 dB per octave around 1 kHz (within
    +-12 dB) and two peaking bands of -9..+9 dB at 150 Hz-6 kHz (half an octave to two
    octaves wide); the RMS is kept."""
    spec = np.fft.rfft(x.astype(np.float64))
    f = np.maximum(np.fft.rfftfreq(len(x), 1 / sample_rate), 20.0)
    octs = np.log2(f / 1000.0)
    gain_db = np.clip(rng.uniform(-6, 6) * octs, -12, 12)
    for _ in range(2):
        centre = np.log2(rng.uniform(150, 6000) / 1000.0)
        width = rng.uniform(0.5, 2.0)
        gain_db += rng.uniform(-9, 9) * np.exp(-0.5 * ((octs - centre) / (width / 2)) ** 2)
    y = np.fft.irfft(spec * 10 ** (gain_db / 20), len(x))
    return (y * rms(x) / rms(y)).astype(np.float32)


def random_room(
    x: np.ndarray, rng: np.random.Generator, sample_rate: int = SAMPLE_RATE
) -> np.ndarray:
    """x in a synthetic room: convolved with an exponentially decaying noise impulse response
    (RT60 0.15-0.8 s) after a unit direct path; same length, same peak."""
    rt60 = rng.uniform(0.15, 0.8)
    n = int(min(rt60, 0.8) * sample_rate)
    t = np.arange(n) / sample_rate
    ir = rng.standard_normal(n) * np.exp(-6.9 * t / rt60) * rng.uniform(0.05, 0.3)
    ir[0] = 1.0
    y = np.convolve(x.astype(np.float64), ir)[: len(x)]
    return (y * (np.abs(x).max() / (np.abs(y).max() + 1e-12))).astype(np.float32)


def noisy_pairs(
    clean: list[np.ndarray], noise: NoiseSampler, n: int, config: MixConfig, seed: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Endless (noisy, clean) pairs of n samples each, mixed on the fly at random SNRs.

    Each pair is scaled together so that the noisy peak is uniform in [peak_low, peak_high].
    Augmentation (MixConfig.p_reverb, p_eq): the speech in a synthetic room (the target is
    the reverberant speech: denoising, not dereverberation) and random EQs of speech and
    noise. With both at 0 (the default) the random stream is as before.
    """
    rng = np.random.default_rng(seed)
    while True:
        x = fit_length(clean[int(rng.integers(len(clean)))], n, rng)
        if rms(x) < 1e-3:  # a silent excerpt teaches nothing
            continue
        if config.p_reverb > 0 and rng.random() < config.p_reverb:
            x = random_room(x, rng)
        v, _ = noise.sample(n, rng)
        if config.p_eq > 0 and rng.random() < config.p_eq:
            x, v = random_eq(x, rng), random_eq(v, rng)
        y = mix_at_snr(x, v, float(rng.uniform(config.snr_low_db, config.snr_high_db)))
        g = float(rng.uniform(config.peak_low, config.peak_high)) / (np.abs(y).max() + 1e-9)
        yield (g * y).astype(np.float32), (g * x).astype(np.float32)
