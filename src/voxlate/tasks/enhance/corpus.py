"""The offline corpus: Czech game dialogue, LibriVox English, game music/effects as noise.

Split (speakers and noise types held out for the test set):

- speech, train: fillets-ng-data-cs lines of the two fish, the characters coded ``m`` and
  ``v`` in file names like ``bar-m-barel.ogg`` (the game's two main voice actors);
- speech, test: every other character's lines (other voice actors: the parrot, crabs, the
  computer, ...; speakers approximated by character code) and the five LibriVox clips
  (an English speaker, unseen language);
- noise, train: music tracks rybky01-07 and menu, sound effects of 3 in 4 levels,
  white/pink/brown noise, babble from training utterances;
- noise, test: music rybky09-15 and kufrik, effects of every 4th level (sorted), blue noise
  (a colour not seen in training) and babble from held-out speakers.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from tqdm import tqdm

from voxlate.audio import Audio, load_audio, save_audio, write_text_atomic
from voxlate.data.mixing import COLOURS, coloured_noise, fit_length, mix_at_snr, rms
from voxlate.errors import InputError
from voxlate.tasks.enhance.features import SAMPLE_RATE

FILLETS = Path("/usr/share/games/fillets-ng")
LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
TRAIN_SPEAKERS = ("m", "v")  # character codes of the training voices
TEST_MUSIC = ("rybky09", "rybky10", "rybky11", "rybky13", "rybky14", "rybky15", "kufrik")


def speaker_of(path: Path) -> str:
    """The character code of a fillets dialogue file: 'bar-m-barel.ogg' -> 'm'."""
    parts = path.stem.split("-")
    return parts[1] if len(parts) > 2 else ""


def speech_split(root: Path = FILLETS) -> tuple[list[Path], list[Path]]:
    """(train, test) clean speech files; InputError if fillets-ng-data-cs is missing."""
    lines = sorted(root.glob("sound/*/cs/*.ogg"))
    if not lines:
        raise InputError(
            "fillets-ng-data-cs is not installed (apt-get install fillets-ng-data-cs)."
        )
    train = [p for p in lines if speaker_of(p) in TRAIN_SPEAKERS]
    test = [p for p in lines if speaker_of(p) not in TRAIN_SPEAKERS and speaker_of(p) != "x"]
    test += sorted(LIBRIVOX.glob("*.wav"))
    return train, test


def noise_split(root: Path = FILLETS) -> tuple[list[Path], list[Path]]:
    """(train, test) recorded noise files: game music and non-dialogue sound effects."""
    music = sorted((root / "music").glob("*.ogg"))
    levels = sorted(p for p in (root / "sound").iterdir() if p.is_dir())
    test_levels = set(levels[3::4])
    train, test = [], []
    for m in music:
        (test if m.stem in TEST_MUSIC else train).append(m)
    for level in levels:
        effects = [p for p in sorted(level.rglob("*.ogg")) if "cs" not in p.parts]
        (test if level in test_levels else train).extend(effects)
    return train, test


def _link(files: list[Path], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:
        name = f"{f.parent.parent.name}-{f.name}" if f.parent.name in ("cs", "en") else f.name
        dest = folder / name
        if not dest.exists():
            os.symlink(f, dest)


def build_corpus(
    out: str | os.PathLike, n_test: int = 12, seed: int = 0, max_seconds: float = 6.0
) -> Path:
    """Write the split to `out`: train/clean and train/noise (symlinks), test/clean and
    test/noisy (16 kHz wav pairs, SNR 0/5/10 dB, held-out speakers and noises) and
    test/meta.jsonl (one line per pair: name, source, noise, snr_db)."""
    out = Path(out)
    train_speech, test_speech = speech_split()
    train_noise, test_noise = noise_split()
    _link(train_speech, out / "train" / "clean")
    _link(train_noise, out / "train" / "noise")
    rng = np.random.default_rng(seed)
    librivox = [p for p in test_speech if p.suffix == ".wav"]
    others = [p for p in test_speech if p.suffix != ".wav"]
    # Longer lines make better test items; take from the longest half of the others.
    picks = list(rng.permutation(librivox))[: max(1, n_test // 4)]
    sizes = {p: p.stat().st_size for p in others}
    long_half = sorted(others, key=lambda p: -sizes[p])[: max(1, len(others) // 2)]
    picks += list(rng.permutation(long_half))[: n_test - len(picks)]
    babble_pool = [load_audio(p, SAMPLE_RATE).samples for p in rng.permutation(others)[:20]]
    music = [p for p in test_noise if p.parent.name == "music"]
    effects = [p for p in test_noise if p.parent.name != "music"]
    kinds = ["music", "effects", "blue", "babble"]
    meta = []
    for i, src in enumerate(tqdm(picks, desc="test pairs", unit="pair")):
        clean = load_audio(src, SAMPLE_RATE).samples[: int(max_seconds * SAMPLE_RATE)]
        n = len(clean)
        kind = kinds[i % len(kinds)]
        if kind == "music":
            noise = fit_length(
                load_audio(music[int(rng.integers(len(music)))], SAMPLE_RATE).samples, n, rng
            )
        elif kind == "effects":
            noise = np.zeros(n, dtype=np.float32)
            for j in rng.choice(len(effects), size=4, replace=False):
                e = load_audio(effects[int(j)], SAMPLE_RATE).samples
                noise += fit_length(e / (rms(e) + 1e-9), n, rng)
        elif kind == "blue":
            noise = coloured_noise(n, COLOURS["blue"], rng)
        else:
            noise = np.zeros(n, dtype=np.float32)
            for b in rng.choice(len(babble_pool), size=4, replace=False):
                x = babble_pool[int(b)]
                noise += fit_length(x / rms(x), n, rng)
        snr = float([0, 5, 10][i % 3])
        noisy = mix_at_snr(clean, noise, snr)
        peak = max(np.abs(noisy).max(), np.abs(clean).max())
        g = 0.7 / peak if peak > 0.7 else 1.0
        name = f"{i:02d}-{src.stem}"
        save_audio(out / "test" / "clean" / f"{name}.wav", Audio(clean * g, SAMPLE_RATE))
        save_audio(out / "test" / "noisy" / f"{name}.wav", Audio(noisy * g, SAMPLE_RATE))
        meta.append({"name": name, "source": str(src), "noise": kind, "snr_db": snr})
    write_text_atomic(out / "test" / "meta.jsonl", "".join(json.dumps(m) + "\n" for m in meta))
    return out
