"""One audio type for the whole package, with loading, saving and resampling.

Every module takes and returns `Audio`: mono float32 samples in [-1, 1] and their
sample rate. Loading (`load_audio`) goes through `voxlate.audio_decode`: wav/flac/ogg
through libsndfile, mp3/m4a/webm and other allowed containers through `ffmpeg`.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

from voxlate.audio_decode import decode_file
from voxlate.errors import InputError

SAMPLE_RATE = 16_000  # Hz; the rate every recognizer, VAD and enhancer here works at
FRAME_LENGTH = 400  # samples: the 25 ms analysis window at SAMPLE_RATE
FRAME_HOP = 160  # samples: the 10 ms hop at SAMPLE_RATE
DEFAULT_OUTPUT_RATE = 22_050  # Hz; output speech where no synthesizer has said its rate


@dataclass(frozen=True)
class Span:
    """A stretch of a recording, seconds from its start (e.g. one utterance)."""

    start: float  # seconds
    end: float  # seconds


@dataclass(frozen=True)
class Audio:
    """Mono audio.

    samples: float32 array of shape (n,), values in [-1, 1].
    sample_rate: samples per second (Hz).
    """

    samples: np.ndarray
    sample_rate: int

    def __post_init__(self) -> None:
        if self.samples.ndim != 1:
            raise ValueError(f"Audio must be mono (1-D); got shape {self.samples.shape}")
        if self.samples.dtype != np.float32:
            object.__setattr__(self, "samples", self.samples.astype(np.float32))

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.sample_rate

    def resample(self, sample_rate: int) -> Audio:
        """Return this audio at `sample_rate` (Hz); a no-op when it already is."""
        if sample_rate == self.sample_rate or len(self.samples) == 0:
            return Audio(self.samples, sample_rate) if len(self.samples) == 0 else self
        y = soxr.resample(self.samples, self.sample_rate, sample_rate, quality="HQ")
        return Audio(np.asarray(y, dtype=np.float32), sample_rate)

    def slice(self, start: float, end: float) -> Audio:
        """The part between `start` and `end` seconds."""
        a = max(0, int(round(start * self.sample_rate)))
        b = min(len(self.samples), int(round(end * self.sample_rate)))
        return Audio(self.samples[a:b].copy(), self.sample_rate)

    def to_pcm16(self) -> bytes:
        """Little-endian 16-bit PCM bytes."""
        return (np.clip(self.samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()

    @classmethod
    def from_pcm16(cls, data: bytes, sample_rate: int) -> Audio:
        """Build from little-endian 16-bit PCM bytes."""
        return cls(np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0, sample_rate)

    @classmethod
    def silence(cls, seconds: float, sample_rate: int) -> Audio:
        return cls(np.zeros(int(round(seconds * sample_rate)), dtype=np.float32), sample_rate)


def to_mono(data: np.ndarray) -> np.ndarray:
    """Average the channels of a (frames, channels) array; pass 1-D arrays through."""
    return data if data.ndim == 1 else data.mean(axis=1)


def load_audio(
    path: str | os.PathLike,
    sample_rate: int | None = None,
    max_seconds: float | None = None,
    name: str | None = None,
) -> Audio:
    """Read any audio file as mono, resampled to `sample_rate` (Hz) when given.

    Decoding goes through `voxlate.audio_decode.decode_file`: a container allow-list,
    no playlists or network, `max_seconds` (s) checked while decoding, finite samples
    only. `name` is how errors name the file (default: its path).

    Raises InputError with one sentence for a missing, unreadable, empty, too long or
    non-finite file.
    """
    samples, rate = decode_file(path, sample_rate, max_seconds=max_seconds, name=name)
    return Audio(samples, rate)


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only on success.

    Readers of `path` never see a half-written file, and a failure leaves any
    earlier file at `path` untouched.
    """
    dest = Path(path)
    check_replaceable(dest)
    tmp = temp_beside(dest)
    try:
        yield tmp
        check_replaceable(dest)  # again: the work may have taken minutes
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()


_SPECIAL_FILES = (
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
)


def check_replaceable(dest: str | os.PathLike) -> None:
    """Raise InputError unless `dest` is missing or a regular file (a symbolic link is not).

    Files are written by renaming a temp file onto `dest`, which replaces the name itself:
    a device node, FIFO, socket or symbolic link there would become a regular file (as
    root, `-o /dev/null` would replace the system's /dev/null), so those are refused.
    """
    try:
        mode = os.lstat(dest).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise InputError(f"Cannot write {dest}: it is a folder; give a file name.")
    if stat.S_ISLNK(mode):
        raise InputError(
            f"Cannot write {dest}: it is a symbolic link; give the path of a regular file, "
            "or - for standard output."
        )
    kind = next((k for test, k in _SPECIAL_FILES if test(mode)), "not a regular file")
    raise InputError(
        f"Cannot write {dest}: it is {kind}, not a regular file; use - for standard output."
    )


def temp_beside(dest: Path) -> Path:
    """An empty hidden temp file in `dest`'s folder (made if missing), for a rename onto
    `dest` (same file system); it keeps `dest`'s suffix so writers pick the format."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    return new_temp_file(f".{dest.name}.", dest.suffix or ".tmp", dest.parent)


def new_temp_file(prefix: str, suffix: str = "", folder: Path | None = None) -> Path:
    """An empty temp file with the usual permissions (0666 less the umask; mkstemp's are 0600)."""
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=folder)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(name, 0o666 & ~umask)
    return Path(name)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write `text` to `path` atomically (temp file, then rename)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def save_audio(path: str | os.PathLike, audio: Audio) -> None:
    """Write `audio` atomically in the format `path`'s extension names (wav if none).

    wav/flac/ogg through libsndfile, opus/mp3/m4a through ffmpeg (voxlate.audio_encode);
    an unknown extension raises InputError before anything is written.
    """
    from voxlate.audio_encode import audio_format, encode_audio

    fmt = audio_format(path)
    data = encode_audio(audio.samples, audio.sample_rate, fmt)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def concatenate(parts: list[Audio], sample_rate: int) -> Audio:
    """Join clips end to end, resampling each to `sample_rate`."""
    if not parts:
        return Audio(np.zeros(0, dtype=np.float32), sample_rate)
    return Audio(np.concatenate([p.resample(sample_rate).samples for p in parts]), sample_rate)
