"""The outside enhancement set: speech and noise that no enhancement training here has seen.

`voxlate bench enhance --set outside` scores enhancers on it, and the default enhancer is
chosen on it (issue 27). It is built on the fly, deterministically (seeded), from installed
Debian packages, and nothing of it comes from Fish Fillets NG (the training domain of the
shipped models: `voxlate.data.fillets.FILLETS_ROOT`; its Dutch voices stay reserved as well).

Two disjoint parts, so that choices made on `dev` are reported on `test`:

============  ===========================================  =======================================
              dev (for choosing)                           test (for reporting)
============  ===========================================  =======================================
speech        alsa-utils' spoken channel names (two words   pocketsphinx-testdata: 5 LibriVox
              per item; one speaker) and the three raw       sentences (one speaker) and 5 card
              pocketsphinx clips (go forward, numbers, ...)  phrases (another speaker)
music         asc-music: frontiers.mp3                      asc-music: machine_wars, time_to_strike
babble        4 utterances of the part's other speaker(s)   same
stationary    coloured noise, spectral slope 1/f^a with a in [0.5, 2.5] (not the white/pink/brown
              of training), plus mains hum (50 or 60 Hz and 4 harmonics); each part its own seed
effects       sound-theme-freedesktop (even files),         the odd files, the other half of the
              bucklespring keys (first half)                 keys, alsa's Noise.wav
============  ===========================================  =======================================

sound-theme-freedesktop's audio-channel-*.oga files are the alsa speaker's words: never
used as noise. Each speech item is mixed with each of the four noise types, at SNRs from
`SNRS_DB` in rotation (item i, noise type j: SNR index (i + j) mod 5), so every type meets
every SNR. Mixtures are 16 kHz; each pair is scaled together to a random noisy peak in
[0.25, 0.9] (level variation; the SNR is unchanged).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from voxlate.audio import SAMPLE_RATE, load_audio
from voxlate.data.fillets import FILLETS_ROOT
from voxlate.data.mixing import coloured_noise, fit_length, mix_at_snr, rms
from voxlate.data.pocketsphinx import CARDS, LIBRIVOX, POCKETSPHINX
from voxlate.errors import InputError

SNRS_DB = (-5.0, 0.0, 5.0, 10.0, 15.0)
NOISE_TYPES = ("music", "babble", "stationary", "effects")
PARTS = ("dev", "test")
TRAINING_DOMAIN = FILLETS_ROOT  # Fish Fillets NG: never read here

ALSA = Path("/usr/share/sounds/alsa")  # alsa-utils
ASC_MUSIC = Path("/usr/share/games/asc/music")  # asc-music
FREEDESKTOP = Path("/usr/share/sounds/freedesktop/stereo")  # sound-theme-freedesktop
BUCKLESPRING = Path("/usr/share/buckle/wav")  # bucklespring-data
PACKAGES = (
    "pocketsphinx-testdata", "alsa-utils", "asc-music", "sound-theme-freedesktop",
    "bucklespring-data",
)  # fmt: skip
DEV_MUSIC = ("frontiers.mp3",)
RAW_CLIPS = ("goforward.raw", "numbers.raw", "something.raw")  # 16 kHz s16le mono


@dataclass(frozen=True)
class Utterance:
    """One clean speech item: its name, speaker and source files (the alsa items join two)."""

    name: str
    speaker: str
    sources: tuple[Path, ...]


@dataclass(frozen=True)
class OutsidePair:
    """One noisy/clean pair of the outside set (16 kHz float32)."""

    name: str  # e.g. 'test-03-librivox-0880-music'
    part: str  # 'dev' or 'test'
    speaker: str  # 'librivox', 'cards', 'alsa' or 'pocketsphinx-raw'
    noise: str  # one of NOISE_TYPES
    snr_db: float  # the mixing SNR: 10 log10(P_clean / P_noise)
    sources: tuple[Path, ...]  # every file read for this pair (speech and noise)
    clean: np.ndarray
    noisy: np.ndarray


def _need(path: Path, package: str) -> Path:
    if not path.exists():
        raise InputError(f"{path} is missing: apt-get install {package}.")
    return path


def utterances(part: str) -> list[Utterance]:
    """The clean speech items of one part (see the module docstring), sorted."""
    if part == "test":
        out = [Utterance(f"librivox-{p.stem.rsplit('-', 1)[-1]}", "librivox", (p,))
               for p in sorted(_need(LIBRIVOX, "pocketsphinx-testdata").glob("*.wav"))]  # fmt: skip
        out += [Utterance(f"cards-{p.stem}", "cards", (p,)) for p in sorted(CARDS.glob("*.wav"))]
        return out
    if part != "dev":
        raise InputError(f"Unknown part {part!r}: use dev or test.")
    words = sorted(
        p for p in _need(ALSA, "alsa-utils").glob("*.wav") if p.stem != "Noise"
    )  # Front_Center, Front_Left, ... (8 words)
    out = [Utterance(f"alsa-{a.stem}-{b.stem}", "alsa", (a, b))
           for a, b in zip(words[0::2], words[1::2], strict=False)]  # fmt: skip
    out += [Utterance(f"raw-{Path(n).stem}", "pocketsphinx-raw",
                      (_need(POCKETSPHINX / n, "pocketsphinx-testdata"),)) for n in RAW_CLIPS]  # fmt: skip
    return out


def noise_files(part: str) -> dict[str, list[Path]]:
    """Recorded noise files of one part: {'music': [...], 'effects': [...]}."""
    music = sorted(_need(ASC_MUSIC, "asc-music").glob("*.mp3"))
    effects = sorted(
        p for p in _need(FREEDESKTOP, "sound-theme-freedesktop").glob("*.oga")
        if not p.stem.startswith("audio-channel-")
    )  # fmt: skip
    keys = sorted(_need(BUCKLESPRING, "bucklespring-data").glob("*.wav"))
    half = len(keys) // 2
    if part == "dev":
        return {"music": [m for m in music if m.name in DEV_MUSIC],
                "effects": effects[0::2] + keys[:half]}  # fmt: skip
    return {"music": [m for m in music if m.name not in DEV_MUSIC],
            "effects": effects[1::2] + keys[half:] + [ALSA / "Noise.wav"]}  # fmt: skip


@cache
def _load(path: Path) -> np.ndarray:
    """A file as 16 kHz mono float32 (raw pocketsphinx clips: 16 kHz s16le); cached."""
    if path.is_relative_to(TRAINING_DOMAIN):
        raise InputError(f"{path} is training data; the outside set never reads it.")
    if path.suffix == ".raw":
        return (np.fromfile(path, dtype="<i2").astype(np.float32) / 32768.0).copy()
    return load_audio(path, SAMPLE_RATE).samples


def clean_speech(u: Utterance) -> np.ndarray:
    """The utterance's waveform; two-word items are joined with 0.15 s of silence."""
    gap = np.zeros(int(0.15 * SAMPLE_RATE), dtype=np.float32)
    parts: list[np.ndarray] = []
    for i, p in enumerate(u.sources):
        parts += [gap, _load(p)] if i else [_load(p)]
    return np.concatenate(parts).astype(np.float32)


def stationary_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Coloured noise 1/f^a, a ~ U(0.5, 2.5), plus mains hum 0-20 dB below it; unit RMS."""
    x = coloured_noise(n, float(rng.uniform(0.5, 2.5)), rng).astype(np.float64)
    f0 = float(rng.choice([50.0, 60.0]))
    t = np.arange(n) / SAMPLE_RATE
    hum = np.zeros(n)
    for k in range(1, 6):
        hum += np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 2 * np.pi)) / k
    hum = hum / rms(hum) * 10 ** (-float(rng.uniform(0, 20)) / 20)
    y = x + hum
    return (y / rms(y)).astype(np.float32)


def effects_noise(
    n: int, files: list[Path], rng: np.random.Generator
) -> tuple[np.ndarray, list[Path]]:
    """Sound events at random times (0.1-0.8 s apart), each at a random peak in [0.3, 1]."""
    out = np.zeros(n, dtype=np.float32)
    used: list[Path] = []
    t = int(rng.integers(0, SAMPLE_RATE // 4))
    while t < n:
        p = files[int(rng.integers(len(files)))]
        e = _load(p)[: n - t]
        if len(e) and np.abs(e).max() > 0:
            out[t : t + len(e)] += e / np.abs(e).max() * float(rng.uniform(0.3, 1.0))
            used.append(p)
        t += max(1, min(len(e), int(rng.uniform(0.1, 0.8) * SAMPLE_RATE)))
    return out, used


def babble_noise(n: int, others: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Four utterances of other speakers at equal level, looped to n samples."""
    idx = rng.choice(len(others), size=4, replace=len(others) < 4)
    out = np.zeros(n, dtype=np.float32)
    for i in idx:
        x = fit_length(others[int(i)], n, rng)
        out += x / rms(x)
    return out


def build_outside(
    part: str = "test",
    seed: int = 0,
    max_seconds: float = 6.0,
    limit: int = 0,
) -> list[OutsidePair]:
    """The pairs of one part ('dev', 'test' or 'all' = both), deterministic for a seed.

    limit > 0 keeps the first `limit` pairs of each part (built in order, so a limited set
    is a prefix of the full one).
    """
    parts = PARTS if part == "all" else (part,)
    if any(p not in PARTS for p in parts):
        raise InputError(f"Unknown part {part!r}: use dev, test or all.")
    out: list[OutsidePair] = []
    for name in parts:
        rng = np.random.default_rng([seed, 27, PARTS.index(name)])
        utts = utterances(name)
        speech = {u.name: clean_speech(u) for u in utts}
        noises = noise_files(name)
        count = 0
        for i, u in enumerate(utts):
            clean = speech[u.name][: int(max_seconds * SAMPLE_RATE)]
            others = [speech[v.name] for v in utts if v.speaker != u.speaker]
            other_src = tuple(s for v in utts if v.speaker != u.speaker for s in v.sources)
            for j, kind in enumerate(NOISE_TYPES):
                if limit > 0 and count >= limit:
                    break
                n = len(clean)
                used: tuple[Path, ...]
                if kind == "music":
                    m = noises["music"][int(rng.integers(len(noises["music"])))]
                    noise, used = fit_length(_load(m), n, rng), (m,)
                elif kind == "babble":
                    noise, used = babble_noise(n, others, rng), other_src
                elif kind == "stationary":
                    noise, used = stationary_noise(n, rng), ()
                else:
                    noise, files = effects_noise(n, noises["effects"], rng)
                    used = tuple(dict.fromkeys(files))
                snr = SNRS_DB[(i + j) % len(SNRS_DB)]
                noisy = mix_at_snr(clean, noise, snr)
                g = float(rng.uniform(0.25, 0.9)) / max(float(np.abs(noisy).max()), 1e-9)
                pair = OutsidePair(
                    name=f"{name}-{i:02d}-{u.name}-{kind}", part=name, speaker=u.speaker,
                    noise=kind, snr_db=snr, sources=u.sources + used,
                    clean=(g * clean).astype(np.float32), noisy=(g * noisy).astype(np.float32),
                )  # fmt: skip
                count += 1
                out.append(pair)
    return out
