"""Paired noisy/clean folders: the VoiceBank-DEMAND layout and voxlate's own test folders.

Accepted layouts under a root folder (matching files by name):

- ``clean/`` + ``noisy/`` (voxlate test sets, SGMSE+'s restructured VB-DMD ``train|test/``),
- VoiceBank-DEMAND as distributed (Valentini-Botinhao et al., 2016):
  ``clean_trainset_28spk_wav/`` + ``noisy_trainset_28spk_wav/`` and
  ``clean_testset_wav/`` + ``noisy_testset_wav/`` (``split`` picks which).
"""

from __future__ import annotations

import os
from pathlib import Path

from voxlate.data.mixing import AUDIO_SUFFIXES
from voxlate.errors import InputError

VOICEBANK_DIRS = {
    "train": ("clean_trainset_28spk_wav", "noisy_trainset_28spk_wav"),
    "test": ("clean_testset_wav", "noisy_testset_wav"),
}


def _by_stem(folder: Path) -> dict[str, Path]:
    return {f.stem: f for f in sorted(folder.iterdir()) if f.suffix.lower() in AUDIO_SUFFIXES}


def find_pairs(root: str | os.PathLike, split: str = "test") -> list[tuple[Path, Path]]:
    """(noisy, clean) file pairs under `root`, sorted by name.

    Raises InputError when `root` has none of the layouts above or no matching names.
    """
    r = Path(root)
    if not r.is_dir():
        raise InputError(f"Folder not found: {r}")
    candidates = [(r / "clean", r / "noisy"), (r / split / "clean", r / split / "noisy")]
    candidates.append(tuple(r / d for d in VOICEBANK_DIRS.get(split, VOICEBANK_DIRS["test"])))  # type: ignore[arg-type]
    for clean_dir, noisy_dir in candidates:
        if clean_dir.is_dir() and noisy_dir.is_dir():
            clean, noisy = _by_stem(clean_dir), _by_stem(noisy_dir)
            names = sorted(set(clean) & set(noisy))
            if not names:
                raise InputError(f"No file names match between {clean_dir} and {noisy_dir}.")
            return [(noisy[n], clean[n]) for n in names]
    raise InputError(
        f"{r} has neither clean/ and noisy/ folders nor the VoiceBank-DEMAND layout "
        "(clean_testset_wav/, noisy_testset_wav/)."
    )
