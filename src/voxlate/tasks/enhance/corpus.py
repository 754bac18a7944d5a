"""The offline corpus: Czech game dialogue, LibriVox English, game music/effects as noise.

Split (speakers and noise types held out for the test set):

- speech, train: fillets-ng-data-cs lines of the two fish (the game's two main voice actors),
  told apart by the font the game's dialogue scripts show the line in (``font_small``: the
  small fish, code ``m``; ``font_big``: the big fish, code ``v``), else by the character
  code in the file name (``bar-m-barel.ogg``, ``m-otazka0.ogg``, ``agenti-m.ogg``): the
  corpus loader `voxlate.data.fillets.speaker_of`;
- speech, validation (``val/``, for model choices; never the test set): pairs made of
  training speakers' lines that are left out of ``train/clean``, mixed with training noises;
- speech, test: every other character's lines (other voice actors: the parrot, crabs, the
  computer, ...; speakers approximated by font / character code; lines of the code ``x``
  (minor characters of unknown voice) and lines of both fish at once are left out) and the
  five LibriVox clips (an English speaker, unseen language);
- noise, train: music tracks rybky01-07 and menu, 3 in 4 of the game's non-dialogue sound
  effects (sorted), white/pink/brown noise, babble from training utterances;
- noise, test: music rybky09-15 and kufrik, every 4th sound effect, blue noise
  (a colour not seen in training) and babble from held-out speakers.

Sound effects are the ``.ogg`` files outside language folders (`is_dialogue`). Until
2026-12 the pool took every file outside ``cs/``, so the game's 192 English dialogue lines
(``en/``) were 192 of its 204 "effects"; the shipped enhancers were trained that way
(docs/enhance.md).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from tqdm import tqdm

from voxlate.audio import SAMPLE_RATE, Audio, load_audio, save_audio, write_text_atomic
from voxlate.data.fillets import FILLETS_ROOT, code_from_name, dialog_fonts, speaker_of
from voxlate.data.mixing import COLOURS, coloured_noise, fit_length, mix_at_snr, rms
from voxlate.data.pocketsphinx import LIBRIVOX
from voxlate.errors import InputError
from voxlate.languages import LANGUAGES

TRAIN_SPEAKERS = ("m", "v")  # character codes of the training voices
TEST_MUSIC = ("rybky09", "rybky10", "rybky11", "rybky13", "rybky14", "rybky15", "kufrik")


def _shuffled(rng: np.random.Generator, items: list[Path]) -> list[Path]:
    """`items` in random order (the order `rng.permutation(items)` gives)."""
    return [items[i] for i in rng.permutation(len(items))]


def speech_split(root: Path = FILLETS_ROOT) -> tuple[list[Path], list[Path]]:
    """(train, test) clean speech files; InputError if fillets-ng-data-cs is missing."""
    lines = sorted(root.glob("sound/*/cs/*.ogg"))
    if not lines:
        raise InputError(
            "fillets-ng-data-cs is not installed (apt-get install fillets-ng-data-cs)."
        )
    fonts = dialog_fonts(root)
    speakers = {p: speaker_of(p, fonts) for p in lines}
    train = [p for p in lines if speakers[p] in TRAIN_SPEAKERS]
    test = [
        p
        for p in lines
        if speakers[p] not in (*TRAIN_SPEAKERS, "both", "") and code_from_name(p.stem) != "x"
    ]
    test += sorted(LIBRIVOX.glob("*.wav"))
    return train, test


def noise_split(root: Path = FILLETS_ROOT) -> tuple[list[Path], list[Path]]:
    """(train, test) recorded noise files: game music and non-dialogue sound effects."""
    music = sorted((root / "music").glob("*.ogg"))
    train: list[Path] = []
    test: list[Path] = []
    for m in music:
        (test if m.stem in TEST_MUSIC else train).append(m)
    effects = sorted(p for p in (root / "sound").rglob("*.ogg") if not is_dialogue(p))
    test += effects[3::4]
    train += [p for i, p in enumerate(effects) if i % 4 != 3]
    return train, test


def is_dialogue(path: Path) -> bool:
    """Whether a game sound file is a spoken line: it sits in a language folder (``cs/``,
    ``en/``, ``nl/``, ...)."""
    return path.parent.name in LANGUAGES


def _link(files: list[Path], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:
        name = f"{f.parent.parent.name}-{f.name}" if f.parent.name in ("cs", "en") else f.name
        dest = folder / name
        if not dest.exists():
            os.symlink(f, dest)


def _noise_for(kind: str, n: int, pools: dict, rng: np.random.Generator) -> np.ndarray:
    """n samples of noise of one kind: 'music' and 'effects' from recorded files, a colour
    of `COLOURS`, or 'babble' (4 utterances of `pools['babble']`)."""
    if kind == "music":
        music = pools["music"]
        return fit_length(load_audio(music[int(rng.integers(len(music)))], SAMPLE_RATE).samples,
                          n, rng)  # fmt: skip
    if kind in COLOURS:
        return coloured_noise(n, COLOURS[kind], rng)
    noise = np.zeros(n, dtype=np.float32)
    if kind == "effects":
        effects = pools["effects"]
        for j in rng.choice(len(effects), size=4, replace=len(effects) < 4):
            e = load_audio(effects[int(j)], SAMPLE_RATE).samples
            noise += fit_length(e / (rms(e) + 1e-9), n, rng)
        return noise
    babble = pools["babble"]
    for b in rng.choice(len(babble), size=4, replace=False):
        x = babble[int(b)]
        noise += fit_length(x / rms(x), n, rng)
    return noise


def _write_pairs(
    folder: Path,
    picks: list[Path],
    kinds: list[str],
    pools: dict,
    rng: np.random.Generator,
    max_seconds: float,
) -> None:
    """folder/clean, folder/noisy (16 kHz wav pairs at SNR 0/5/10 dB, noise kinds in turn)
    and folder/meta.jsonl (one line per pair: name, source, noise, snr_db)."""
    meta = []
    for i, src in enumerate(tqdm(picks, desc=f"{folder.name} pairs", unit="pair")):
        clean = load_audio(src, SAMPLE_RATE).samples[: int(max_seconds * SAMPLE_RATE)]
        kind = kinds[i % len(kinds)]
        noise = _noise_for(kind, len(clean), pools, rng)
        snr = float([0, 5, 10][i % 3])
        noisy = mix_at_snr(clean, noise, snr)
        peak = max(np.abs(noisy).max(), np.abs(clean).max())
        g = 0.7 / peak if peak > 0.7 else 1.0
        name = f"{i:02d}-{src.stem}"
        save_audio(folder / "clean" / f"{name}.wav", Audio(clean * g, SAMPLE_RATE))
        save_audio(folder / "noisy" / f"{name}.wav", Audio(noisy * g, SAMPLE_RATE))
        meta.append({"name": name, "source": str(src), "noise": kind, "snr_db": snr})
    write_text_atomic(folder / "meta.jsonl", "".join(json.dumps(m) + "\n" for m in meta))


def _long_half(files: list[Path]) -> list[Path]:
    """The longer half of `files` (by file size; longer lines make better test items)."""
    sizes = {p: p.stat().st_size for p in files}
    return sorted(files, key=lambda p: (-sizes[p], str(p)))[: max(1, len(files) // 2)]


def build_corpus(
    out: str | os.PathLike,
    n_test: int = 12,
    seed: int = 0,
    max_seconds: float = 6.0,
    n_val: int = 0,
) -> Path:
    """Write the split to `out`: train/clean and train/noise (symlinks), test/clean and
    test/noisy (16 kHz wav pairs, SNR 0/5/10 dB, held-out speakers and noises) and
    test/meta.jsonl (one line per pair: name, source, noise, snr_db).

    n_val > 0 also writes val/ (same layout) for model choices: lines of the training
    speakers, left out of train/clean, mixed with training noises (music, effects,
    white/pink/brown noise, babble of training lines). Its lines are drawn from the fish
    lines whose file name lacks the m/v code in second place (help*, init-*, m-otazka*,
    agenti-m, ...), which the split before the speaker fix did not train on either.
    """
    out = Path(out)
    train_speech, test_speech = speech_split()
    train_noise, test_noise = noise_split()
    val_rng = np.random.default_rng([seed, 1])  # its own stream: test/ is as with n_val=0
    val_picks: list[Path] = []
    if n_val > 0:
        unseen = [p for p in train_speech if len(p.stem.split("-")) < 3 or
                  p.stem.split("-")[1] not in TRAIN_SPEAKERS]  # fmt: skip
        val_picks = _shuffled(val_rng, _long_half(unseen))[:n_val]
        train_speech = [p for p in train_speech if p not in set(val_picks)]
    rng = np.random.default_rng(seed)
    _link(train_speech, out / "train" / "clean")
    _link(train_noise, out / "train" / "noise")
    librivox = [p for p in test_speech if p.suffix == ".wav"]
    others = [p for p in test_speech if p.suffix != ".wav"]
    picks = _shuffled(rng, librivox)[: max(1, n_test // 4)]
    picks += _shuffled(rng, _long_half(others))[: n_test - len(picks)]
    pools = {
        "babble": [load_audio(p, SAMPLE_RATE).samples for p in _shuffled(rng, others)[:20]],
        "music": [p for p in test_noise if p.parent.name == "music"],
        "effects": [p for p in test_noise if p.parent.name != "music"],
    }
    _write_pairs(out / "test", picks, ["music", "effects", "blue", "babble"], pools, rng,
                 max_seconds)  # fmt: skip
    if val_picks:
        babble = _shuffled(val_rng, train_speech)[:20]
        val_pools = {
            "babble": [load_audio(p, SAMPLE_RATE).samples for p in babble],
            "music": [p for p in train_noise if p.parent.name == "music"],
            "effects": [p for p in train_noise if p.parent.name != "music"],
        }
        kinds = ["music", "effects", "white", "babble", "pink", "brown"]
        _write_pairs(out / "val", val_picks, kinds, val_pools, val_rng, max_seconds)
    return out
