"""Decoding audio files safely: the one place every CLI command and endpoint reads audio.

An audio file may come from someone else (an upload to `voxlate serve`), so decoding
must not follow references to other files or the network, and must not let a small
file expand without limit:

- **Container allow-list.** libsndfile reads WAV/FLAC/OGG/AIFF itself (it never opens
  other files). Anything else goes to ffmpeg only when its first bytes match a
  container on `FFMPEG_FORMATS` (mp3, aac, m4a/mp4, webm/mkv, ogg, ...): ffmpeg is then
  told that demuxer with ``-f`` and ``-format_whitelist`` (so no playlist, concat or
  image demuxer can be probed into) and ``-protocol_whitelist file,pipe`` (no network).
- **A duration cap** (`max_seconds`), checked while the samples stream out of the decoder
  (libsndfile in blocks, ffmpeg through a pipe), and from the header when it states the
  length, so a 2-hour FLAC of silence is refused before it is decoded.
- **Finite samples only.** NaN or infinite samples are refused with an `InputError`.
- **Samples near full scale.** Float files may go past ±1 (headroom); up to a peak of
  `MAX_PEAK` (16: 24 dB over full scale) they are kept as they are (speech with a peak
  of 30 is still transcribed word for word). A higher peak (e.g. speech scaled by 1e20,
  which overflows the engines' float32 arithmetic; at a peak of 300 Whisper already
  mishears) is refused with an `InputError`, the same for every command and endpoint.

`load_audio` in `voxlate.audio` calls `decode_file`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from voxlate.errors import InputError, MissingDependencyError

DECODE_SAMPLE_RATE = 16_000  # Hz; ffmpeg's output rate when the caller asks for none
BLOCK_FRAMES = 1 << 16  # frames read from libsndfile at a time
FFMPEG_TIMEOUT_S = 600.0  # wall seconds after which an ffmpeg decode is stopped
MAX_PEAK = 16.0  # largest |sample| accepted (full scale is 1.0; float files may exceed it)

# libsndfile major formats read directly (none of them can refer to another file).
SNDFILE_FORMATS = frozenset(
    {"WAV", "WAVEX", "RF64", "W64", "FLAC", "OGG", "AIFF", "CAF", "AU", "MPEG"}
)

# ffmpeg demuxers allowed, each with a test on the file's first bytes.
FFMPEG_FORMATS = (
    *("mp3", "aac", "mov", "matroska", "ogg", "wav", "flac", "aiff", "amr", "caf"),
    *("avi", "mpegts", "flv"),  # video containers; none of them refers to another file
)
SNIFF_BYTES = 512  # bytes read to recognise a container
TS_PACKET = 188  # bytes in an MPEG transport stream packet (each starts with 0x47)


def sniff_format(head: bytes) -> str | None:
    """The ffmpeg demuxer for a file starting with `head` (its first 64+ bytes; an MPEG
    transport stream is recognised from 3 packets, 377+ bytes), or None.

    Only containers of audio on `FFMPEG_FORMATS` are recognised; text formats
    (playlists, concat lists, SDP) and image or video-only formats never are.
    """
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if head[:3] == b"FLV" and len(head) > 3 and head[3] == 1:
        return "flv"
    if len(head) > 2 * TS_PACKET and all(head[i * TS_PACKET] == 0x47 for i in range(3)):
        return "mpegts"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "matroska"  # also webm
    if head[4:8] == b"ftyp":
        return "mov"  # mp4, m4a, 3gp, mov
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head[:5] == b"#!AMR":
        return "amr"
    if head[:4] == b"caff":
        return "caf"
    if head[:3] == b"ID3":
        return "mp3"
    if len(head) >= 2 and head[0] == 0xFF:
        if head[1] & 0xF6 == 0xF0:  # ADTS sync, layer 0
            return "aac"
        if head[1] & 0xE0 == 0xE0:  # MPEG audio frame sync
            return "mp3"
    return None


def decode_file(
    path: str | os.PathLike,
    sample_rate: int | None = None,
    max_seconds: float | None = None,
    name: str | None = None,
) -> tuple[np.ndarray, int]:
    """Decode `path` to mono float32 samples; returns (samples, sample rate in Hz).

    sample_rate: resample to this rate (Hz); None keeps libsndfile's native rate, and
        ffmpeg decodes at `DECODE_SAMPLE_RATE`.
    max_seconds: refuse input longer than this many seconds (None: no cap).
    name: how errors name the file (default: its path); the server passes the
        upload's name so that no server path appears in a message.

    Raises InputError (one sentence) for a missing, empty, unsupported, too long or
    non-finite file, and MissingDependencyError when ffmpeg is needed but absent.
    """
    p = Path(path)
    label = name if name is not None else str(p)
    if not p.exists():
        raise InputError(f"Input file not found: {label}")
    if p.is_dir():
        raise InputError(f"Input is a folder, not an audio file: {label}")
    if p.stat().st_size == 0:
        raise InputError(f"Input file is empty: {label}")
    try:
        info = sf.info(str(p))
        # A header with no length (a streamed FLAC) makes libsndfile fail at the end: ffmpeg.
        use_sndfile = info.format in SNDFILE_FORMATS and 0 <= info.frames < 2**62
    except (sf.LibsndfileError, RuntimeError, TypeError):
        use_sndfile = False
    if use_sndfile:
        samples, rate = _decode_sndfile(p, sample_rate, max_seconds, label)
    else:
        samples, rate = _decode_ffmpeg(p, sample_rate, max_seconds, label)
    check_samples(samples, label)
    return samples, rate


def check_samples(samples: np.ndarray, label: str) -> None:
    """Refuse non-finite samples, and a peak above `MAX_PEAK` (InputError, one sentence)."""
    if not np.isfinite(samples).all():
        raise InputError(f"{label} holds NaN or infinite samples; it is not valid audio.")
    peak = float(np.abs(samples).max()) if len(samples) else 0.0
    if peak > MAX_PEAK:
        raise InputError(
            f"{label} has samples far beyond full scale (peak {peak:.3g}, at most "
            f"{MAX_PEAK:g} accepted); it is not valid audio."
        )


def _too_long(label: str, max_seconds: float) -> InputError:
    return InputError(f"{label} is longer than the limit of {max_seconds / 60:g} minutes of audio.")


def _decode_sndfile(
    p: Path, sample_rate: int | None, max_seconds: float | None, label: str
) -> tuple[np.ndarray, int]:
    """Read with libsndfile block by block, mixing to mono and resampling as it goes."""
    try:
        f = sf.SoundFile(str(p))
    except (sf.LibsndfileError, RuntimeError, TypeError) as e:
        raise InputError(f"Cannot read {label} as audio (not a supported or valid file).") from e
    with f:
        native = int(f.samplerate)
        if native <= 0:
            raise InputError(f"Cannot read {label} as audio (no sample rate).")
        limit = None if max_seconds is None else int(max_seconds * native)
        if limit is not None and f.frames > limit:
            raise _too_long(label, max_seconds)  # type: ignore[arg-type]
        rate = sample_rate or native
        resampler = (
            soxr.ResampleStream(native, rate, 1, dtype="float32", quality="HQ")
            if rate != native
            else None
        )
        out: list[np.ndarray] = []
        read = 0
        while True:
            try:
                block = f.read(BLOCK_FRAMES, dtype="float32", always_2d=True)
            except (sf.LibsndfileError, RuntimeError) as e:
                raise InputError(f"Cannot read {label} as audio (corrupt data).") from e
            last = len(block) < BLOCK_FRAMES
            read += len(block)
            if limit is not None and read > limit:
                raise _too_long(label, max_seconds)  # type: ignore[arg-type]
            mono = block.mean(axis=1, dtype=np.float32) if block.shape[1] > 1 else block[:, 0]
            check_samples(mono, label)  # before resampling: fail at the first bad block
            if resampler is not None:
                mono = resampler.resample_chunk(mono, last=last)
            out.append(np.array(mono, dtype=np.float32))
            if last:
                break
    samples = np.concatenate(out) if out else np.zeros(0, np.float32)
    return samples, rate


def _decode_ffmpeg(
    p: Path, sample_rate: int | None, max_seconds: float | None, label: str
) -> tuple[np.ndarray, int]:
    """Decode with ffmpeg, restricted to the sniffed demuxer, reading its output as it comes."""
    with open(p, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    fmt = sniff_format(head)
    if fmt is None:
        raise InputError(
            f"Cannot read {label} as audio (not a supported audio format: "
            "wav, flac, ogg/opus, mp3, aac, m4a, mp4, mov, webm, mkv, avi, ts, flv, aiff)."
        )
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise MissingDependencyError(
            f"ffmpeg (needed to read {p.suffix or 'this'} files)", apt="ffmpeg"
        )
    rate = sample_rate or DECODE_SAMPLE_RATE
    cmd = [ffmpeg, "-nostdin", "-hide_banner", "-v", "error"]
    cmd += ["-protocol_whitelist", "file,pipe", "-format_whitelist", fmt, "-f", fmt]
    cmd += ["-i", f"file:{p.resolve()}", "-map", "0:a:0", "-vn", "-sn", "-dn"]
    if max_seconds is not None:
        cmd += ["-t", f"{max_seconds + 1.0:.3f}"]  # ffmpeg stops too, a second past the cap
    cmd += ["-f", "f32le", "-ac", "1", "-ar", str(rate), "pipe:1"]
    limit = None if max_seconds is None else int(max_seconds * rate) * 4  # bytes
    data = bytearray()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        while chunk := proc.stdout.read(1 << 16):
            data += chunk
            if limit is not None and len(data) > limit:
                raise _too_long(label, max_seconds)  # type: ignore[arg-type]
        code = proc.wait(timeout=FFMPEG_TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    if code != 0 or len(data) < 4:
        raise InputError(f"Cannot read {label} as audio (not a supported or valid audio file).")
    del data[len(data) // 4 * 4 :]
    return np.frombuffer(data, dtype="<f4"), rate
