"""LibriSpeech layout: ``<root>/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt``.

Each transcript line is ``<utterance-id> <UPPER CASE TEXT>`` and the audio is
``<utterance-id>.flac`` beside it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from voxlate.data.manifest import ManifestEntry, audio_duration
from voxlate.errors import InputError


def read_librispeech(root: str | os.PathLike, lowercase: bool = True) -> Iterator[ManifestEntry]:
    """Entries of a LibriSpeech split folder (e.g. ``LibriSpeech/dev-clean``)."""
    r = Path(root)
    if not r.is_dir():
        raise InputError(f"LibriSpeech folder not found: {r}")
    for trans in sorted(r.glob("*/*/*.trans.txt")):
        speaker, chapter = trans.parent.parent.name, trans.parent.name
        for line in trans.read_text(encoding="utf-8").splitlines():
            uid, _, text = line.strip().partition(" ")
            if not uid:
                continue
            audio = trans.parent / f"{uid}.flac"
            if not audio.exists():
                continue
            yield ManifestEntry(
                audio=str(audio),
                text=text.lower() if lowercase else text,
                duration=audio_duration(audio),
                id=uid,
                language="en",
                speaker=speaker,
                group=f"{speaker}-{chapter}",
            )
