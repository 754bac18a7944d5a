"""Encoding audio to bytes in the format an output file's extension names.

wav, flac and ogg (Vorbis) go through libsndfile; opus, mp3 and m4a (AAC) through
the `ffmpeg` program. Any other extension is refused with one sentence, before
any work is done (`audio_format`), rather than writing WAV bytes into a .mp3.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from voxlate.errors import InputError, MissingDependencyError


@dataclass(frozen=True)
class AudioFormat:
    """How to encode one kind of output file."""

    name: str  # the extension without its dot, e.g. "mp3"
    sndfile: tuple[str, str] | None  # libsndfile (format, subtype), or None for ffmpeg
    ffmpeg: tuple[str, ...] = ()  # ffmpeg output options (codec, bit rate, container)


FORMATS: dict[str, AudioFormat] = {
    f.name: f
    for f in [
        AudioFormat("wav", ("WAV", "PCM_16")),
        AudioFormat("flac", ("FLAC", "PCM_16")),
        AudioFormat("ogg", ("OGG", "VORBIS")),
        AudioFormat("opus", None, ("-c:a", "libopus", "-b:a", "48k", "-f", "ogg")),
        AudioFormat("mp3", None, ("-c:a", "libmp3lame", "-q:a", "4", "-f", "mp3")),
        AudioFormat(
            "m4a",
            None,
            ("-c:a", "aac", "-b:a", "96k", "-f", "ipod"),
        ),
    ]
}


def audio_format(path: str | os.PathLike, default: str = "wav") -> AudioFormat:
    """The format that `path`'s extension names; `-` (stdout) and no extension give `default`.

    Raises InputError for an extension voxlate cannot write.
    """
    p = str(path)
    suffix = "" if p == "-" else Path(p).suffix.lower().lstrip(".")
    fmt = FORMATS.get(suffix or default)
    if fmt is None:
        known = ", ".join(f".{k}" for k in FORMATS)
        raise InputError(f"Cannot write audio as .{suffix} ({path}); use one of {known}.")
    if fmt.sndfile is None and shutil.which("ffmpeg") is None:
        raise MissingDependencyError(f"ffmpeg (needed to write .{fmt.name} files)", apt="ffmpeg")
    return fmt


def encode_audio(samples: np.ndarray, sample_rate: int, fmt: AudioFormat) -> bytes:
    """Encode mono float samples in [-1, 1] at `sample_rate` Hz as a file of `fmt`."""
    wav = io.BytesIO()
    clipped = np.clip(samples, -1.0, 1.0)
    if fmt.sndfile is not None:
        kind, subtype = fmt.sndfile
        sf.write(wav, clipped, sample_rate, subtype=subtype, format=kind)
        return wav.getvalue()
    sf.write(wav, clipped, sample_rate, subtype="PCM_16", format="WAV")
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise MissingDependencyError(f"ffmpeg (needed to write .{fmt.name} files)", apt="ffmpeg")
    # ffmpeg writes to a real file, not a pipe: an mp3's Xing header (its length) and
    # an m4a's index are written at the end by seeking back.
    with tempfile.TemporaryDirectory(prefix="voxlate-encode.") as tmp:
        dest = os.path.join(tmp, f"out.{fmt.name}")
        cmd = [ffmpeg, "-nostdin", "-v", "error", "-f", "wav", "-i", "pipe:0", *fmt.ffmpeg, dest]
        if fmt.name == "opus" and sample_rate not in (8000, 12000, 16000, 24000, 48000):
            cmd[-1:-1] = ["-ar", "48000"]  # Opus codes only these rates
        proc = subprocess.run(cmd, input=wav.getvalue(), capture_output=True)
        if proc.returncode != 0 or not os.path.exists(dest):
            msg = proc.stderr.decode(errors="replace").strip().splitlines()
            raise RuntimeError(f"ffmpeg could not encode .{fmt.name}: {msg[-1] if msg else '?'}")
        with open(dest, "rb") as f:
            return f.read()
