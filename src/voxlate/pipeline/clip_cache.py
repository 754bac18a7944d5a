"""Synthesized and voiced clips kept per segment, so that `voxlate render` re-synthesises
only the segments whose text, speaker or voice changed.

A clip is stored under the SHA-256 of what made it (`clip_key`: the text, the language,
the synthesizer's spec, the voice mode and the identity of the speaker's voice) as
``$VOXLATE_CACHE/render/<key>.npz``: the samples (float32), the rate and the key itself,
written to a temp file and renamed. A clip is read with ``allow_pickle=False`` and used
only when it names its own key, is one-dimensional float32, finite, and at a sane rate;
anything else is a miss (and is re-synthesised and overwritten).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from voxlate.audio import Audio

MAX_RATE = 192_000  # a stored clip's rate above this (Hz) is refused as damaged
CACHE_FOLDER = "render"  # under the voxlate cache


def clip_key(text: str, language: str, tts: str, voice: str, speaker: str) -> str:
    """The SHA-256 (hex) of what makes a segment's clip.

    tts: the synthesizer's spec; voice: the voice mode (``preserve``, ``tts``, a
    reference clip's digest ...); speaker: what identifies the speaker's fitted voice
    (the digest of their speech, `audio_digest`), '' when the voice does not depend on it.
    """
    blob = json.dumps([text, language, tts, voice, speaker], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def audio_digest(clips: list[Audio]) -> str:
    """SHA-256 of the samples and rates of `clips`, in order (a speaker's speech)."""
    h = hashlib.sha256()
    for c in clips:
        h.update(str(c.sample_rate).encode())
        h.update(np.ascontiguousarray(c.samples, dtype=np.float32).tobytes())
    return h.hexdigest()


class ClipCache:
    """Clips by `clip_key` in `folder` (default: the voxlate cache's ``render/``, made
    private on first use); `hits`, `misses` and `stored` count the calls."""

    def __init__(self, folder: str | os.PathLike | None = None) -> None:
        self._folder = Path(folder) if folder is not None else None
        self.hits = 0
        self.misses = 0
        self.stored = 0

    @property
    def folder(self) -> Path:
        if self._folder is None:
            from voxlate.parts import cache_dir, private_folder

            root = cache_dir()
            self._folder = private_folder(root / CACHE_FOLDER, root)
        else:
            self._folder.mkdir(parents=True, exist_ok=True)
        return self._folder

    def _path(self, key: str) -> Path:
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise ValueError(f"not a clip key: {key!r}")
        return self.folder / f"{key}.npz"

    def get(self, key: str) -> Audio | None:
        """The clip stored under `key`, or None (missing or failing the checks)."""
        path = self._path(key)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            with os.fdopen(fd, "rb") as f, np.load(f, allow_pickle=False) as z:
                samples, rate, named = z["samples"], int(z["rate"]), str(z["key"])
        except (OSError, ValueError, KeyError, EOFError):
            self.misses += 1
            return None
        ok = (
            named == key
            and samples.ndim == 1
            and samples.dtype == np.float32
            and 0 < rate <= MAX_RATE
            and bool(np.isfinite(samples).all())
        )
        if not ok:
            self.misses += 1
            return None
        self.hits += 1
        return Audio(samples, rate)

    def put(self, key: str, clip: Audio) -> None:
        """Store `clip` under `key` (temp file, then rename)."""
        path = self._path(key)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(
                    f,
                    samples=np.asarray(clip.samples, dtype=np.float32),
                    rate=np.int64(clip.sample_rate),
                    key=np.str_(key),
                )
            os.replace(tmp, path)
            self.stored += 1
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
