"""JSONL manifests: one utterance per line.

Each line is a JSON object with ``audio`` (a path), ``text`` (the transcript),
``duration`` (seconds) and, where the corpus has them, ``translation``, ``language``,
``translation_language``, ``speaker`` and ``id``. Audio paths are relative to the corpus
root, which a first line ``{"root": DIR}`` names (DIR itself absolute, or relative to the
manifest's folder); without that line, relative paths are relative to the manifest's folder.
So a manifest names no machine's absolute paths but its corpus root. Example::

    {"root": "/srv/corpora/fillets-ng"}
    {"id": "bar-v-co", "audio": "sound/bar/cs/bar-v-co.ogg", "text": "Ale co s tím budeme dělat?",
     "duration": 1.9, "translation": "What are we supposed to do with it?", "language": "cs"}
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from voxlate.audio import write_text_atomic
from voxlate.errors import InputError


@dataclass(frozen=True)
class ManifestEntry:
    """One utterance of a manifest."""

    audio: str  # path to the audio file
    text: str  # transcript in `language`
    duration: float  # seconds
    id: str = ""  # utterance id, unique in its corpus
    language: str = ""  # ISO 639-1 of the speech
    translation: str | None = None  # the same utterance in `translation_language`
    translation_language: str = ""  # ISO 639-1
    speaker: str = ""  # speaker (or voice) id
    group: str = ""  # split unit (book, level, session) held out together


_FIELDS = {f.name for f in fields(ManifestEntry)}


def write_manifest(
    path: str | os.PathLike,
    entries: Iterable[ManifestEntry],
    root: str | os.PathLike | None = None,
) -> int:
    """Write `entries` as JSONL atomically; returns the number written.

    root: the corpus root; written on the first line, and audio paths under it are
    written relative to it.
    """
    base = Path(root) if root is not None else None
    lines = [json.dumps({"root": str(base)})] if base is not None else []
    n = 0
    for e in entries:
        d = {k: v for k, v in asdict(e).items() if v not in ("", None)}
        if base is not None and Path(e.audio).is_relative_to(base):
            d["audio"] = Path(e.audio).relative_to(base).as_posix()
        lines.append(json.dumps(d, ensure_ascii=False))
        n += 1
    write_text_atomic(path, "\n".join(lines) + ("\n" if lines else ""))
    return n


def read_manifest(path: str | os.PathLike) -> list[ManifestEntry]:
    """Read a JSONL manifest; relative audio paths are resolved against its corpus root
    (its first line ``{"root": DIR}``) or else its folder.

    Raises InputError for a missing file or a line without audio/text/duration.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"Manifest not found: {p}")
    out: list[ManifestEntry] = []
    base = p.parent
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            if not out and set(d) == {"root"}:  # the header: the corpus root
                base = p.parent / Path(d["root"])  # an absolute root replaces the folder
                continue
            audio = Path(d["audio"])
            d["audio"] = str(audio if audio.is_absolute() else base / audio)
            d["duration"] = float(d["duration"])
            d["text"] = str(d["text"])
            out.append(ManifestEntry(**{k: v for k, v in d.items() if k in _FIELDS}))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
            raise InputError(
                f"{p} line {n} is not a manifest entry (needs audio, text, duration): {e}"
            ) from None
    return out


def audio_duration(path: str | os.PathLike) -> float:
    """Length in seconds of an audio file, read from its header."""
    import soundfile as sf

    info = sf.info(str(path))
    return float(info.frames) / float(info.samplerate)
