"""Speaker embeddings of a folder of recordings, saved as ``.npz``.

The file holds ``embeddings`` (N, D) float32 L2-normalised, ``paths`` (N,) and ``speakers``
(N,) strings, and ``encoder`` (the encoder's name). A speaker label comes from the file's
layout: the character field of a Fish Fillets id (``level-<who>-...``), the speaker field
of an FSDD/AudioMNIST name (``<digit>_<speaker>_<n>.wav``), else the parent folder's name.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from voxlate.audio import atomic_path, load_audio
from voxlate.data.fillets import code_from_name
from voxlate.errors import InputError

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".m4a", ".opus")
_FSDD = re.compile(r"^\d_([^_]+)_\d+$")


@dataclass
class EmbeddingSet:
    """Embeddings (N, D) with the file and speaker of each row."""

    embeddings: np.ndarray
    paths: list[str]
    speakers: list[str]
    encoder: str = "resemblyzer"

    def __len__(self) -> int:
        return len(self.embeddings)

    def save(self, path: str | os.PathLike) -> Path:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(
                f,
                embeddings=self.embeddings.astype(np.float32),
                paths=np.array(self.paths, dtype=str),
                speakers=np.array(self.speakers, dtype=str),
                encoder=np.array(self.encoder),
            )
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> EmbeddingSet:
        p = Path(path)
        if not p.is_file():
            raise InputError(f"Embedding file not found: {p}")
        try:
            z = np.load(p, allow_pickle=False)
            emb = np.asarray(z["embeddings"], dtype=np.float32)
        except (OSError, ValueError, KeyError) as e:
            raise InputError(f"{p} is not an embeddings .npz (voxlate speakers embed).") from e
        if emb.ndim != 2 or len(emb) == 0:
            raise InputError(f"{p} holds no (N, D) embeddings.")
        n = len(emb)
        paths = [str(s) for s in z["paths"]] if "paths" in z else [""] * n
        speakers = [str(s) for s in z["speakers"]] if "speakers" in z else [""] * n
        encoder = str(z["encoder"]) if "encoder" in z else "unknown"
        return cls(emb, paths, speakers, encoder)

    @classmethod
    def concat(cls, sets: Sequence[EmbeddingSet]) -> EmbeddingSet:
        return cls(
            np.concatenate([s.embeddings for s in sets]),
            [p for s in sets for p in s.paths],
            [k for s in sets for k in s.speakers],
            sets[0].encoder,
        )


def speaker_label(path: Path) -> str:
    """A speaker label from the file's name or folder (see the module docstring); Fish
    Fillets files by the code in their name (voxlate.data.fillets.speaker_of reads the
    game's fonts instead)."""
    stem = path.stem
    m = _FSDD.match(stem)
    if m:
        return m.group(1)
    if path.parent.name == "cs" and path.parent.parent.parent.name == "sound":  # Fish Fillets
        code = code_from_name(stem) if stem.count("-") > 1 else ""  # level-code-word only
        return f"fillets-{code}" if code else "fillets-other"
    return path.parent.name


def find_audio(root: str | os.PathLike, pattern: str = "**/*") -> list[Path]:
    """Audio files under `root` matching the glob `pattern` (sorted)."""
    r = Path(root)
    if r.is_file():
        return [r]
    if not r.is_dir():
        raise InputError(f"Folder not found: {r}")
    files = sorted(p for p in r.glob(pattern) if p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise InputError(f"No audio files ({', '.join(AUDIO_SUFFIXES)}) under {r}")
    return files


def embed_files(
    files: Sequence[Path],
    encoder_name: str = "resemblyzer",
    min_seconds: float = 1.0,
    progress: bool = True,
    max_seconds: float | None = None,
) -> EmbeddingSet:
    """Embed each file (skipping clips shorter than `min_seconds`) with a speaker encoder.

    A file longer than `max_seconds` (None: no limit) raises InputError while decoding.
    """
    from voxlate.engines.voice import ENCODERS

    encoder = ENCODERS.create(encoder_name)
    embs, paths, speakers = [], [], []
    for p in tqdm(files, disable=not progress, unit="file", desc="embedding"):
        audio = load_audio(p, max_seconds=max_seconds)
        if audio.duration < min_seconds:
            continue
        embs.append(encoder.embed(audio))
        paths.append(str(p))
        speakers.append(speaker_label(p))
    if not embs:
        raise InputError(f"No clip of at least {min_seconds} s to embed.")
    return EmbeddingSet(np.stack(embs).astype(np.float32), paths, speakers, encoder_name)
