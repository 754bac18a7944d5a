"""Recorded speech of two freeware adventure games ("talkies"), read from Debian's packages.

The converter's training speakers (`data/voice_corpus.py`) gain the actors of
``beneath-a-steel-sky`` (Revolution, 1994, CD version) and ``flight-of-the-amazon-queen``
(1995, CD version), read straight from the installed data files, without running ScummVM. The
formats are documented by ScummVM's engines (``engines/sky``, ``engines/queen``); this is a
reader of those formats written here.

- **Flight of the Amazon Queen** (``queen.1c``): a ``QTBL`` header (version string, one
  compression byte: 1 = MP3), then a table of (name[12], bundle, offset, size) entries, big
  endian. Dialogue speech is ``<talk key:2><node:4><J|P><part>.SB`` (``talk.cpp``): 'J' is Joe,
  the hero; 'P' the person of the dialogue file (``*.DOG``) whose header holds the same talk
  key. Speakers are named after the dialogue file without its number (``SPARKY1..8.DOG`` ->
  'sparky'). Lines spoken in cut-scenes (``*SSSS.SB``, no speaker in the name) are left out.
  Each ``.SB`` holds one MP3 stream.
- **Beneath a Steel Sky** (``sky.dsk`` + the file table ``sky.dnr``): file ``50000 + n`` is
  speech line n (``sound.cpp``), RNC ProPack method 1 compressed (`unpack_rnc1`) after a
  22-byte header; unsigned 8-bit mono PCM at 11025 Hz. Who speaks a line is in the game's
  scripts (the speaking character's id is an argument of the script's speak call), which are
  not decoded here: the lines are grouped into `SKY_CLUSTERS` pseudo-speakers
  ('sky-00'...) by agglomerative (Ward) clustering of each line's MFCC mean and standard
  deviation (20 coefficients), standardised. Resemblyzer, the judge, is not used.

Both games' licences (``/usr/share/doc/<package>/copyright``) allow free redistribution and
modification; see docs/voice.md ("Data") for the reading. Every line is converted to 16 kHz
mono and cached as WAV under ``<voxlate cache>/talkies/<game>/`` with an ``index.tsv``
(name, speaker, seconds), written last: a game whose index exists is not read again.
"""

from __future__ import annotations

import io
import re
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voxlate.audio import FRAME_HOP, SAMPLE_RATE, Audio, save_audio, write_text_atomic
from voxlate.parts import cache_dir

SKY_ROOT = Path("/usr/share/scummvm/beneath-a-steel-sky")
QUEEN_ROOT = Path("/usr/share/scummvm/flight-of-the-amazon-queen")
GAMES = ("sky", "queen")
PACKAGES = {"sky": "beneath-a-steel-sky", "queen": "flight-of-the-amazon-queen"}  # Debian's
MIN_LINE_S = 0.8  # shorter lines are left out
SKY_CLUSTERS = 16  # pseudo-speakers the Steel Sky lines are grouped into
SKY_SPEECH_BASE = 50_000  # file number of speech line 0
SKY_SPEECH_RATE = 11_025  # Hz, unsigned 8-bit
SKY_HEADER = 22  # bytes of the data file header before the RNC stream
DOG_HEADER = 20  # bytes before a dialogue file's fields
QUEEN_LINE = re.compile(r"^(\d\d)([0-9A-F ]{4}|SSSS|XXXX)([JP])\d\.SB$")


@dataclass(frozen=True)
class TalkieLine:
    """One recorded line: its name in the game's files, who speaks it, 16 kHz mono audio."""

    game: str  # 'sky' or 'queen'
    name: str
    speaker: str  # 'queen-joe', 'queen-sparky', 'sky-03', ...
    audio: Audio


def installed(game: str) -> bool:
    """Whether the game's Debian package is installed (its speech file exists)."""
    path = SKY_ROOT / "sky.dsk" if game == "sky" else QUEEN_ROOT / "queen.1c"
    return path.is_file()


# -- RNC ProPack method 1 --------------------------------------------------------------


class _Bits:
    """RNC's bit reader: LSB first from little-endian 16-bit words, with literal bytes
    taken from the stream between them."""

    def __init__(self, data: bytes, pos: int) -> None:
        self.d = data + b"\0\0\0\0"
        self.pos = pos
        self.lo = self._word(pos)
        self.hi = 0
        self.count = 0

    def _word(self, at: int) -> int:
        return self.d[at] | (self.d[at + 1] << 8)

    def take(self, n: int) -> int:
        value = self.lo & ((1 << n) - 1)
        left = self.count - n
        if left < 0:  # refill: the high word moves down, a new word comes in
            c = self.count
            self.lo = ((self.lo >> c) | (self.hi << (16 - c))) & 0xFFFF
            self.pos += 2
            self.hi = self._word(self.pos)
            n -= c
            left = 16 - n
        self.lo = ((self.lo >> n) | (self.hi << (16 - n))) & 0xFFFF
        self.hi >>= n
        self.count = left
        return value

    def literal(self, n: int) -> bytes:
        out = self.d[self.pos : self.pos + n]
        self.pos += n
        a, b = self._word(self.pos), self._word(self.pos + 2)
        c = self.count
        self.lo = ((self.lo & ((1 << c) - 1)) | (a << c)) & 0xFFFF
        self.hi = ((a >> (16 - c)) | (b << c)) & 0xFFFF
        return out


_Table = list[tuple[int, int, int, int]]  # (mask, code, code length, symbol)


def _huffman(bits: _Bits) -> _Table | None:
    n = bits.take(5)
    if not n:
        return None  # the previous block's table stays
    lengths = [bits.take(4) for _ in range(n)]
    table: _Table = []
    code = 0
    for length in range(1, 17):
        for sym in range(n):
            if lengths[sym] == length:
                prefix = code >> (16 - length)
                rev = int(format(prefix, f"0{length}b")[::-1], 2)  # codes are read LSB first
                table.append(((1 << length) - 1, rev, length, sym))
                code += 1 << (16 - length)
    return table


def _value(bits: _Bits, table: _Table) -> int:
    match = next((t for t in table if bits.lo & t[0] == t[1]), None)
    if match is None:
        raise ValueError("corrupt RNC stream: no Huffman code matches")
    length, sym = match[2], match[3]
    bits.take(length)
    if sym < 2:
        return sym
    return bits.take(sym - 1) | (1 << (sym - 1))


def unpack_rnc1(data: bytes) -> bytes:
    """Decompress one RNC ProPack method 1 stream ('RNC\\x01' header, 18 bytes)."""
    if data[:4] != b"RNC\x01":
        raise ValueError("not an RNC method 1 stream")
    size = struct.unpack(">I", data[4:8])[0]
    blocks = data[17]
    bits = _Bits(data, 18)
    bits.take(2)  # lock and key flags
    out = bytearray()
    raw: _Table = []
    pos: _Table = []
    lens: _Table = []
    for _ in range(blocks):
        raw = _huffman(bits) or raw
        pos = _huffman(bits) or pos
        lens = _huffman(bits) or lens
        for k in range(bits.take(16), 0, -1):
            n = _value(bits, raw)
            if n:
                out += bits.literal(n)
            if k > 1:  # the last token of a block has no match
                back = _value(bits, pos) + 1
                n = _value(bits, lens) + 2
                start = len(out) - back
                if back >= n:
                    out += out[start : start + n]
                else:  # overlapping: byte by byte
                    for i in range(n):
                        out.append(out[start + i])
    return bytes(out[:size])


# -- Beneath a Steel Sky ---------------------------------------------------------------


def sky_files(root: Path = SKY_ROOT) -> dict[int, tuple[int, int]]:
    """File number -> (offset in sky.dsk, stored size), from the dinner table sky.dnr."""
    table = (root / "sky.dnr").read_bytes()
    n = struct.unpack("<I", table[:4])[0]
    found = {}
    for i in range(n):
        e = table[4 + 8 * i : 12 + 8 * i]
        number = struct.unpack("<H", e[:2])[0]
        offset = int.from_bytes(e[2:5], "little")
        flags = int.from_bytes(e[5:8], "little")
        if offset >> 23 & 1:  # offsets are stored in 16-byte units
            offset = (offset & 0x7FFFFF) << 4
        found[number] = (offset, flags & 0x3FFFFF)
    return found


def sky_lines(root: Path = SKY_ROOT, limit: int = 0) -> Iterator[tuple[str, Audio]]:
    """('<file number>', 16 kHz audio) of every speech line (the first `limit`; 0: all)."""
    files = sky_files(root)
    numbers = sorted(n for n in files if SKY_SPEECH_BASE <= n < SKY_SPEECH_BASE + 10_000)
    with open(root / "sky.dsk", "rb") as f:
        for number in numbers[:limit] if limit > 0 else numbers:
            offset, size = files[number]
            f.seek(offset)
            data = f.read(size)
            total = struct.unpack("<H", data[12:14])[0]  # header + samples
            pcm = data[SKY_HEADER:]
            if pcm[:3] == b"RNC":
                pcm = unpack_rnc1(pcm)
            pcm = pcm[: max(total - SKY_HEADER, 0)]
            x = (np.frombuffer(pcm, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
            yield str(number), Audio(x, SKY_SPEECH_RATE).resample(SAMPLE_RATE)


def mfcc_stats(audio: Audio) -> np.ndarray:
    """Mean and standard deviation of 20 MFCCs over the louder half of the frames."""
    import librosa

    m = librosa.feature.mfcc(y=audio.samples, sr=audio.sample_rate, n_mfcc=20, n_fft=512,
                             hop_length=FRAME_HOP)  # fmt: skip
    loud = m[0] >= np.median(m[0])
    m = m[:, loud] if loud.sum() >= 5 else m
    return np.concatenate([m.mean(1), m.std(1)])


def cluster_speakers(clips: list[Audio], n: int = SKY_CLUSTERS) -> list[int]:
    """A pseudo-speaker index per clip (n groups; fewer clips: one each)."""
    from sklearn.cluster import AgglomerativeClustering

    if len(clips) <= n:
        return list(range(len(clips)))
    x = np.stack([mfcc_stats(c) for c in clips])
    x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    return [int(k) for k in AgglomerativeClustering(n_clusters=n, linkage="ward").fit_predict(x)]


def sky_talkie(root: Path = SKY_ROOT, limit: int = 0, n: int = SKY_CLUSTERS) -> list[TalkieLine]:
    """The Steel Sky lines of at least `MIN_LINE_S`, labelled by MFCC clusters."""
    lines = [(name, a) for name, a in sky_lines(root, limit) if a.duration >= MIN_LINE_S]
    labels = cluster_speakers([a for _, a in lines], n)
    # clusters numbered by size, largest first, so that names are stable across runs
    order = {k: i for i, (k, _) in enumerate(sorted(
        ((k, labels.count(k)) for k in set(labels)), key=lambda t: (-t[1], t[0])))}  # fmt: skip
    return [TalkieLine("sky", name, f"sky-{order[k]:02d}", a)
            for (name, a), k in zip(lines, labels, strict=True)]  # fmt: skip


# -- Flight of the Amazon Queen --------------------------------------------------------


def queen_entries(root: Path = QUEEN_ROOT) -> dict[str, tuple[int, int]]:
    """Entry name -> (offset, size) in queen.1c (a rebuilt, compressed CD version)."""
    with open(root / "queen.1c", "rb") as f:
        head = f.read(15)
        if head[:4] != b"QTBL":
            raise ValueError("queen.1c has no QTBL table (not a rebuilt, compressed version)")
        if head[12] != 1:
            raise ValueError(f"queen.1c's speech is not MP3 (compression {head[12]})")
        n = struct.unpack(">H", head[13:15])[0]
        table = f.read(21 * n)
    found = {}
    for i in range(n):
        e = table[21 * i : 21 * (i + 1)]
        found[e[:12].rstrip(b"\0").decode("ascii")] = struct.unpack(">II", e[13:21])
    return found


def queen_people(root: Path = QUEEN_ROOT) -> dict[int, str]:
    """Talk key -> the person of its dialogue file ('SPARKY3.DOG' -> 'sparky')."""
    entries = queen_entries(root)
    people = {}
    with open(root / "queen.1c", "rb") as f:
        for name, (offset, _) in entries.items():
            if name.endswith(".DOG"):
                f.seek(offset + DOG_HEADER + 4)  # after the level count and the unique key
                key = struct.unpack(">h", f.read(2))[0]
                people[key] = re.sub(r"\d+$", "", name[:-4]).lower()
    return people


def decode_mp3(data: bytes) -> Audio:
    import soundfile as sf

    x, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    return Audio(x.mean(axis=1), int(rate)).resample(SAMPLE_RATE)


def queen_talkie(root: Path = QUEEN_ROOT, limit: int = 0) -> list[TalkieLine]:
    """The dialogue lines of at least `MIN_LINE_S` (the first `limit` names; 0: all) with
    their speaker: 'queen-joe' or the dialogue file's person."""
    entries = queen_entries(root)
    people = queen_people(root)
    names = sorted(n for n in entries if QUEEN_LINE.match(n))
    out = []
    with open(root / "queen.1c", "rb") as f:
        for name in names[:limit] if limit > 0 else names:
            m = QUEEN_LINE.match(name)
            assert m is not None
            person = "joe" if m.group(3) == "J" else people.get(int(m.group(1)))
            if person is None:
                continue
            offset, size = entries[name]
            f.seek(offset)
            audio = decode_mp3(f.read(size))
            if audio.duration >= MIN_LINE_S:
                out.append(TalkieLine("queen", name, f"queen-{person}", audio))
    return out


# -- the cache -------------------------------------------------------------------------


@dataclass(frozen=True)
class CachedLine:
    speaker: str
    path: Path  # 16 kHz mono WAV
    duration: float  # seconds


def talkie_lines(
    games: tuple[str, ...] = GAMES,
    cache: Path | None = None,
    log: Callable[[str], None] = print,
) -> list[CachedLine]:
    """Every line of the installed games among `games`, extracted once into `cache`
    (default ``<voxlate cache>/talkies``); a game that is not installed gives none."""
    root = cache if cache is not None else cache_dir() / "talkies"
    out: list[CachedLine] = []
    for game in games:
        if not installed(game):
            continue
        folder = root / game
        index = folder / "index.tsv"
        if not index.exists():
            lines = sky_talkie() if game == "sky" else queen_talkie()
            folder.mkdir(parents=True, exist_ok=True)
            rows = []
            for line in lines:
                save_audio(folder / f"{line.name}.wav", line.audio)
                rows.append(f"{line.name}\t{line.speaker}\t{line.audio.duration:.3f}")
            write_text_atomic(index, "\n".join(rows) + "\n")
            hours = sum(x.audio.duration for x in lines) / 3600
            log(f"talkies: {game}: {len(lines)} lines, {hours:.2f} h, "
                f"{len({x.speaker for x in lines})} speakers, cached in {folder}")  # fmt: skip
        for row in index.read_text().splitlines():
            name, speaker, seconds = row.split("\t")
            out.append(CachedLine(speaker, folder / f"{name}.wav", float(seconds)))
    return out
