"""Real English speech of Debian's pocketsphinx-testdata: LibriVox and card-name clips.

`apt-get install pocketsphinx-testdata` puts them under /usr/share/pocketsphinx/test/data.
"""

from __future__ import annotations

import re
from pathlib import Path

POCKETSPHINX = Path("/usr/share/pocketsphinx/test/data")
LIBRIVOX = POCKETSPHINX / "librivox"  # 5 read sentences, one speaker, 16 kHz
CARDS = POCKETSPHINX / "cards"  # 5 short card-name phrases, another speaker
_TRANSCRIPTIONS = {"librivox": LIBRIVOX / "transcription", "cards": CARDS / "cards.transcription"}
_LINE = re.compile(r"\s*(?:<s>)?(.*?)(?:</s>)?\s*\((\S+)\)\s*$")


def read_transcription(path: Path) -> dict[str, str]:
    """Parse a Sphinx transcription file ('<s> text </s> (id)' per line): id -> text."""
    out = {}
    for line in path.read_text().splitlines():
        m = _LINE.match(line)
        if m:
            out[m.group(2)] = " ".join(m.group(1).split())
    return out


def clips(name: str) -> list[tuple[Path, str]]:
    """(wav path, transcript) of the 'librivox' or 'cards' set, sorted; [] if not installed."""
    t = _TRANSCRIPTIONS[name]
    if not t.is_file():
        return []
    return [(t.parent / f"{k}.wav", v) for k, v in sorted(read_transcription(t).items())]
