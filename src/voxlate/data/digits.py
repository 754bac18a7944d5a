"""Spoken-digit corpora: AudioMNIST, FSDD and SC09 readers, and an offline synthetic corpus.

Layouts (each yields `DigitClip`s, digit 0-9 and a speaker id):

- AudioMNIST (Becker et al., 2018): ``<root>/data/<spk>/<digit>_<spk>_<rep>.wav`` (48 kHz).
- FSDD, the Free Spoken Digit Dataset: ``<root>/<digit>_<speaker>_<index>.wav`` (8 kHz),
  optionally inside ``recordings/``.
- SC09 (Donahue et al., 2019, the WaveGAN paper): the ten digit folders of Speech Commands,
  ``<root>/{zero,...,nine}/<speaker-hash>_nohash_<n>.wav`` (16 kHz, 1 s).

`build_synthetic_corpus` writes spoken digits from many synthetic voices (Piper joe with
varied length scale and a speed/pitch shift, eSpeak NG English accents with its voice
variants, pitch and rate) in the FSDD layout, so `read_fsdd` reads it back. Everything it
writes is labelled synthetic in ``corpus.json``.
"""

from __future__ import annotations

import json
import os
import random
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from voxlate.audio import Audio, load_audio, save_audio, write_text_atomic
from voxlate.errors import InputError, MissingDependencyError

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

_AUDIOMNIST = re.compile(r"^(\d)_([^_]+)_(\d+)\.wav$", re.IGNORECASE)
_FSDD = _AUDIOMNIST  # same file-name pattern: digit_speaker_index.wav


@dataclass(frozen=True)
class DigitClip:
    """One spoken digit on disk."""

    path: Path  # the wav file
    digit: int  # 0-9
    speaker: str  # speaker id as the layout names it


def _require_dir(root: str | os.PathLike) -> Path:
    r = Path(root)
    if not r.is_dir():
        raise InputError(f"Digit corpus folder not found: {r}")
    return r


def read_audiomnist(root: str | os.PathLike) -> list[DigitClip]:
    """AudioMNIST: ``data/<spk>/<digit>_<spk>_<rep>.wav`` (``data/`` may be the root itself)."""
    r = _require_dir(root)
    base = r / "data" if (r / "data").is_dir() else r
    clips = []
    for p in sorted(base.glob("*/*.wav")):
        m = _AUDIOMNIST.match(p.name)
        if m and m.group(2) == p.parent.name:
            clips.append(DigitClip(p, int(m.group(1)), m.group(2)))
    if not clips:
        raise InputError(f"No AudioMNIST files (data/<spk>/<digit>_<spk>_<rep>.wav) under {r}")
    return clips


def read_fsdd(root: str | os.PathLike) -> list[DigitClip]:
    """FSDD: ``<digit>_<speaker>_<index>.wav`` in the root or in ``recordings/``."""
    r = _require_dir(root)
    base = r / "recordings" if (r / "recordings").is_dir() else r
    clips = []
    for p in sorted(base.glob("*.wav")):
        m = _FSDD.match(p.name)
        if m:
            clips.append(DigitClip(p, int(m.group(1)), m.group(2)))
    if not clips:
        raise InputError(f"No FSDD files (<digit>_<speaker>_<index>.wav) under {r}")
    return clips


def read_sc09(root: str | os.PathLike) -> list[DigitClip]:
    """SC09: the digit folders ``zero`` ... ``nine`` of Speech Commands (other words ignored).

    The speaker is the hash before ``_nohash_`` in the file name.
    """
    r = _require_dir(root)
    clips = []
    for d, word in enumerate(DIGIT_WORDS):
        for p in sorted((r / word).glob("*.wav")):
            clips.append(DigitClip(p, d, p.stem.split("_nohash_")[0]))
    if not clips:
        raise InputError(f"No SC09 digit folders (zero/ ... nine/ with wav files) under {r}")
    return clips


def detect_layout(root: str | os.PathLike) -> str:
    """'audiomnist', 'sc09' or 'fsdd', from what the folder holds."""
    r = _require_dir(root)
    if any((r / w).is_dir() for w in DIGIT_WORDS):
        return "sc09"
    base = r / "data" if (r / "data").is_dir() else r
    for p in base.glob("*/*.wav"):
        m = _AUDIOMNIST.match(p.name)
        if m and m.group(2) == p.parent.name:
            return "audiomnist"
    return "fsdd"


READERS: dict[str, Callable[[str | os.PathLike], list[DigitClip]]] = {
    "audiomnist": read_audiomnist,
    "fsdd": read_fsdd,
    "sc09": read_sc09,
}


def read_digits(root: str | os.PathLike, layout: str = "auto") -> list[DigitClip]:
    """Read any of the three layouts; `layout='auto'` detects it."""
    name = detect_layout(root) if layout == "auto" else layout
    if name not in READERS:
        raise InputError(f"Unknown digit layout '{layout}'; choose auto, {', '.join(READERS)}.")
    return READERS[name](root)


# --- the synthetic corpus ---------------------------------------------------------------


@dataclass(frozen=True)
class SyntheticVoice:
    """One synthetic speaker: an engine and the settings that make it sound distinct."""

    name: str  # speaker id in file names (no underscores)
    engine: str  # 'piper' or 'espeak-ng'
    voice: str = ""  # eSpeak NG voice, e.g. 'en-us+f3' (voice + variant); '' for Piper joe
    rate: int = 165  # eSpeak NG words per minute
    pitch: int = 50  # eSpeak NG base pitch, 0-100
    length_scale: float = 1.0  # Piper: > 1 speaks slower
    shift: float = 1.0  # resampling factor applied after synthesis (> 1: higher and faster)
    noise_scale: float = 0.667  # Piper: variability of the VITS prior


ESPEAK_ACCENTS = ("en", "en-us", "en-gb-x-rp", "en-gb-scotland", "en-029", "en-us-nyc")
ESPEAK_VARIANTS = ("", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5")


def synthetic_voices(n_espeak: int = 40, n_piper: int = 8, seed: int = 0) -> list[SyntheticVoice]:
    """A reproducible list of distinct synthetic speakers (eSpeak NG first, then Piper)."""
    rng = random.Random(seed)
    combos = [(a, v) for a in ESPEAK_ACCENTS for v in ESPEAK_VARIANTS]
    rng.shuffle(combos)
    voices = []
    for i in range(n_espeak):
        accent, variant = combos[i % len(combos)]
        voices.append(
            SyntheticVoice(
                name=f"espeak{i:02d}",
                engine="espeak-ng",
                voice=f"{accent}+{variant}" if variant else accent,
                rate=rng.randint(120, 210),
                pitch=rng.randint(25, 75),
                shift=round(rng.uniform(0.92, 1.08), 3),
            )
        )
    for i in range(n_piper):
        voices.append(
            SyntheticVoice(
                name=f"piper{i:02d}",
                engine="piper",
                length_scale=round(rng.uniform(0.8, 1.35), 3),
                noise_scale=round(rng.uniform(0.4, 0.9), 3),
                shift=round(rng.uniform(0.85, 1.15), 3) if i else 1.0,
            )
        )
    return voices


def trim_and_fit(audio: Audio, sample_rate: int, seconds: float = 1.0) -> Audio:
    """Resample, trim leading/trailing silence (-40 dB re peak, 10 ms frames), then centre
    the speech in exactly `seconds` (zero padding, or keeping the loudest part if longer)
    and normalise the peak to 0.9."""
    x = audio.resample(sample_rate).samples.astype(np.float32)
    n_out = int(round(seconds * sample_rate))
    if len(x) == 0 or float(np.max(np.abs(x))) < 1e-6:
        return Audio(np.zeros(n_out, dtype=np.float32), sample_rate)
    hop = max(1, sample_rate // 100)
    frames = len(x) // hop
    if frames > 0:
        e = np.sqrt(np.mean(x[: frames * hop].reshape(frames, hop) ** 2, axis=1))
        active = np.nonzero(e > e.max() * 10 ** (-40 / 20))[0]
        x = x[active[0] * hop : (active[-1] + 1) * hop]
    if len(x) > n_out:
        energy = np.convolve(x**2, np.ones(n_out, dtype=np.float32), mode="valid")
        start = int(np.argmax(energy))
        x = x[start : start + n_out]
    pad = n_out - len(x)
    x = np.pad(x, (pad // 2, pad - pad // 2))
    x = 0.9 * x / max(float(np.max(np.abs(x))), 1e-6)
    return Audio(x.astype(np.float32), sample_rate)


_PIPER: list[object] = []  # the embedded Piper voice, loaded once per process


def _piper_say(word: str, length_scale: float, noise_scale: float) -> Audio:
    """Speak `word` with the embedded Piper joe voice (one model, per-call settings)."""
    try:
        from piper import PiperVoice, SynthesisConfig
    except ImportError as e:
        raise MissingDependencyError("Piper", pip="piper-tts") from e
    from voxlate.engines.tts.piper import embedded_voice_path

    if not _PIPER:
        path = embedded_voice_path()
        _PIPER.append(PiperVoice.load(str(path), config_path=f"{path}.json"))
    voice = _PIPER[0]
    cfg = SynthesisConfig(length_scale=length_scale, noise_scale=noise_scale)
    chunks = list(voice.synthesize(word, syn_config=cfg))  # type: ignore[attr-defined]
    samples = np.concatenate([np.asarray(c.audio_float_array, np.float32) for c in chunks])
    return Audio(samples, int(chunks[0].sample_rate))


def synthesize_digit(voice: SyntheticVoice, word: str) -> Audio:
    """One take of `word` by a synthetic voice, before trimming."""
    if voice.engine == "piper":
        audio = _piper_say(word, voice.length_scale, voice.noise_scale)
    elif voice.engine == "espeak-ng":
        audio = _espeak_say(word, voice.voice, voice.rate, voice.pitch)
    else:
        raise InputError(f"Unknown synthetic engine '{voice.engine}'; use piper or espeak-ng.")
    if voice.shift != 1.0:  # play back faster/slower: pitch and formants move together
        audio = Audio(audio.samples, int(round(audio.sample_rate * voice.shift)))
    return audio


def _espeak_say(word: str, voice: str, rate: int, pitch: int) -> Audio:
    """Speak `word` with eSpeak NG voice 'accent' or 'accent+variant' (espeak's own syntax)."""
    from voxlate.engines.tts.espeak import EspeakSynthesizer
    from voxlate.errors import UnsupportedLanguageError

    try:
        syn = EspeakSynthesizer(voice=voice, rate=rate, pitch=pitch)
    except UnsupportedLanguageError as e:
        raise InputError(str(e)) from e
    return next(iter(syn.synthesize(word, "en")))


def build_synthetic_corpus(
    out: str | os.PathLike,
    voices: Sequence[SyntheticVoice] | None = None,
    digits: Sequence[int] = tuple(range(10)),
    repetitions: int = 2,
    sample_rate: int = 8000,
    seconds: float = 1.0,
    progress: bool = True,
) -> list[DigitClip]:
    """Synthesize `repetitions` takes of each digit by each voice into `out` (FSDD layout).

    Takes after the first vary the eSpeak rate by +-10% and the Piper length scale by +-10%
    (Piper's stochastic duration predictor varies them as well). Each clip is trimmed and
    centred in `seconds` at `sample_rate` Hz. ``corpus.json`` records the voices and marks
    the corpus synthetic. Existing files are kept, so an interrupted build resumes.
    """
    from tqdm import tqdm

    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    voices = list(voices) if voices is not None else synthetic_voices()
    rng = random.Random(1234)
    clips: list[DigitClip] = []
    jobs = [(v, d, k) for v in voices for d in digits for k in range(repetitions)]
    for v, d, k in tqdm(jobs, disable=not progress, unit="clip", desc="synthesizing"):
        path = root / f"{d}_{v.name}_{k}.wav"
        if not path.exists():
            take = v
            if k > 0:
                f = rng.uniform(0.9, 1.1)
                take = replace(v, rate=int(v.rate * f), length_scale=round(v.length_scale * f, 3))
            audio = synthesize_digit(take, DIGIT_WORDS[d])
            save_audio(path, trim_and_fit(audio, sample_rate, seconds))
        clips.append(DigitClip(path, d, v.name))
    meta = {
        "synthetic": True,
        "description": "Spoken digits from synthetic voices (Piper joe, eSpeak NG); "
        "not human speech. Layout: FSDD (<digit>_<speaker>_<index>.wav).",
        "sample_rate": sample_rate,
        "seconds": seconds,
        "repetitions": repetitions,
        "voices": [asdict(v) for v in voices],
    }
    write_text_atomic(root / "corpus.json", json.dumps(meta, indent=2) + "\n")
    return clips


def split_by_speaker(
    clips: Sequence[DigitClip], test_fraction: float = 0.2, seed: int = 0
) -> tuple[list[DigitClip], list[DigitClip]]:
    """(train, test) with whole speakers held out; each speaker lands on one side."""
    speakers = sorted({c.speaker for c in clips})
    rng = random.Random(seed)
    rng.shuffle(speakers)
    n_test = max(1, int(round(test_fraction * len(speakers)))) if len(speakers) > 1 else 0
    test = set(speakers[:n_test])
    return [c for c in clips if c.speaker not in test], [c for c in clips if c.speaker in test]


def load_clips(
    clips: Sequence[DigitClip], sample_rate: int, seconds: float = 1.0
) -> Iterator[tuple[Audio, int]]:
    """(audio fitted to `seconds` at `sample_rate`, digit) for each clip."""
    for c in clips:
        yield trim_and_fit(load_audio(c.path), sample_rate, seconds), c.digit
