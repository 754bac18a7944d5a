"""AI Hub Korean speech (KsponSpeech and its relatives): transcript conventions.

The transcripts mark what was said with a few conventions:

- dual transcription ``(spelling)/(pronunciation)``, e.g. ``(3개)/(세 개)``;
- noise tags ``b/`` (breath), ``n/`` (noise), ``l/`` (laughter), ``o/`` (overlap),
  ``u/`` (unintelligible);
- a filler word ends with ``/`` (``음/``), a repeated word with ``+``, an uncertain
  word with ``*``.

`normalize_aihub` removes the tags and marks, keeps one side of each dual
transcription and removes punctuation. Audio is 16 kHz 16-bit headerless PCM
(``.pcm``) or WAV, with the transcript in a ``.txt`` file of the same name.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

from voxlate.data.manifest import ManifestEntry
from voxlate.errors import InputError
from voxlate.text.normalize import normalize_text

_DUAL = re.compile(r"\(([^()]*)\)\s*/\s*\(([^()]*)\)")
_NOISE = re.compile(r"(?<![^\s(])[bnlou]/")
_MARKS = re.compile(r"[/+*]")
PCM_SAMPLE_RATE = 16_000  # Hz, KsponSpeech .pcm files
PCM_BYTES = 2  # 16-bit


def normalize_aihub(text: str, mode: str = "pronunciation") -> str:
    """Plain text of an AI Hub transcript.

    mode: "pronunciation" keeps the right side of ``(a)/(b)`` (what was said),
    "spelling" the left side (how it is written).
    """
    if mode not in ("pronunciation", "spelling"):
        raise ValueError(f"mode must be 'pronunciation' or 'spelling', not {mode!r}")
    side = 2 if mode == "pronunciation" else 1
    text = _DUAL.sub(lambda m: m.group(side), text)
    text = _NOISE.sub(" ", text)
    text = _MARKS.sub(" ", text)
    return normalize_text(text, lowercase=False)


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    for enc in ("utf-8", "cp949"):
        try:
            return raw.decode(enc).strip()
        except UnicodeDecodeError:
            pass
    return raw.decode("utf-8", errors="replace").strip()


def read_aihub(root: str | os.PathLike, mode: str = "pronunciation") -> Iterator[ManifestEntry]:
    """Entries for every ``.txt`` transcript under `root` with a ``.pcm``/``.wav`` beside it.

    A ``.pcm`` file's duration is its size / (16000 Hz * 2 bytes); convert such files to
    WAV (``ffmpeg -f s16le -ar 16000 -ac 1 -i x.pcm x.wav``) before training.
    """
    r = Path(root)
    if not r.is_dir():
        raise InputError(f"AI Hub folder not found: {r}")
    for txt in sorted(r.rglob("*.txt")):
        for ext in (".wav", ".pcm"):
            audio = txt.with_suffix(ext)
            if audio.exists():
                break
        else:
            continue
        if ext == ".pcm":
            duration = audio.stat().st_size / (PCM_SAMPLE_RATE * PCM_BYTES)
        else:
            from voxlate.data.manifest import audio_duration

            duration = audio_duration(audio)
        text = normalize_aihub(_read_text(txt), mode)
        if text:
            yield ManifestEntry(
                audio=str(audio),
                text=text,
                duration=duration,
                id=txt.stem,
                language="ko",
                group=txt.parent.name,
            )
