"""Fish Fillets NG Czech dialogs (Debian ``fillets-ng-data-cs``): a small real ST corpus.

Audio: ``<root>/sound/<level>/cs/<id>.ogg`` (22.05 kHz, spoken by Czech voice
actors). Text: ``<root>/script/<level>/dialogs_cs.lua`` holds, per line,
``dialogId("<id>", "<font>", "<English>")`` followed by ``dialogStr("<Czech>")``.
The id's second field names the character (``m`` small fish, ``v`` big fish, others
for the level's objects), used here as the speaker.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from voxlate.data.manifest import ManifestEntry, audio_duration
from voxlate.errors import InputError

FILLETS_ROOT = Path("/usr/share/games/fillets-ng")  # where Debian installs the game's data
LUA_STRING = r'"((?:[^"\\]|\\.)*)"'
DIALOG_LINE = re.compile(
    rf"dialogId\(\s*{LUA_STRING}\s*,\s*{LUA_STRING}\s*,\s*{LUA_STRING}\s*\)\s*dialogStr\(\s*{LUA_STRING}\s*\)"
)


def unescape_lua(s: str) -> str:
    return re.sub(r"\\(.)", r"\1", s)


def read_fillets(root: str | os.PathLike = FILLETS_ROOT) -> Iterator[ManifestEntry]:
    """Every Czech dialog line that has both audio and text, with its English translation.

    `group` is the game level, so splitting by group holds whole levels out.
    """
    r = Path(root)
    scripts = sorted(r.glob("script/*/dialogs_cs.lua")) + sorted(
        r.glob("script/*/demo_dialogs_cs.lua")
    )
    if not scripts:
        raise InputError(
            f"No Fish Fillets dialog scripts under {r} (apt-get install fillets-ng-data-cs)."
        )
    seen: set[str] = set()
    for lua in scripts:
        level = lua.parent.name
        for uid, _font, english, czech in DIALOG_LINE.findall(lua.read_text(encoding="utf-8")):
            audio = r / "sound" / level / "cs" / f"{uid}.ogg"
            czech, english = unescape_lua(czech).strip(), unescape_lua(english).strip()
            if uid in seen or not czech or not audio.exists():
                continue
            seen.add(uid)
            parts = uid.split("-")
            yield ManifestEntry(
                audio=str(audio),
                text=czech,
                duration=audio_duration(audio),
                id=uid,
                language="cs",
                translation=english,
                translation_language="en",
                speaker=parts[1] if len(parts) > 2 else "",
                group=level,
            )


def group_roles(groups: set[str], test_every: int = 10, dev_offset: int = 5) -> dict[str, str]:
    """Group -> 'train' | 'dev' | 'test': every `test_every`-th group (sorted) is test, and
    the group `dev_offset` places later in each block is dev; the rest is train."""
    role = {}
    for i, g in enumerate(sorted(groups)):
        role[g] = (
            "test" if i % test_every == 0 else "dev" if i % test_every == dev_offset else "train"
        )
    return role


def split_by_group(
    entries: list[ManifestEntry], test_every: int = 10, dev_offset: int = 5
) -> dict[str, list[ManifestEntry]]:
    """Split whole groups (levels) by `group_roles`."""
    role = group_roles({e.group for e in entries}, test_every, dev_offset)
    out: dict[str, list[ManifestEntry]] = {"train": [], "dev": [], "test": []}
    for e in entries:
        out[role[e.group]].append(e)
    return out


# -- speakers: the font each line's subtitle is shown in ------------------------------
FISH_FONTS = {"font_small": "m", "font_big": "v"}  # dialogue font -> character code
_DIALOG_ID = re.compile(r'dialogId\(\s*"([^"]+)"\s*,\s*"([^"]*)"')


@functools.cache
def dialog_fonts(root: Path = FILLETS_ROOT) -> dict[str, str]:
    """Dialogue id (the sound file's stem) -> the font its subtitle is shown in, read from
    the game's ``script/*/*dialogs*.lua``; ids with an empty font are left out."""
    fonts: dict[str, str] = {}
    for lua in sorted((root / "script").glob("*/*dialogs*.lua")):
        for name, font in _DIALOG_ID.findall(lua.read_text(encoding="utf-8", errors="replace")):
            if font:
                fonts.setdefault(name, font)
    return fonts


def code_from_name(stem: str) -> str:
    """The character code in a fillets dialogue file name: 'bar-m-barel' -> 'm' (level-
    code-word), 'm-otazka0' -> 'm' (code-word), 'agenti-m' -> 'm' (word-code, level fdto:
    the first part is taken when it is a short code of at most 3 characters); '' if none."""
    parts = stem.split("-")
    if len(parts) > 2:
        return parts[1]
    if len(parts) == 2:
        return parts[0] if len(parts[0]) <= 3 else parts[1]
    return ""


def speaker_of(path: Path, fonts: dict[str, str] | None = None) -> str:
    """The speaker of a fillets dialogue file: 'm' / 'v' for the two fish, else the
    character's font name ('parrot', 'white', ...) or code.

    The font of the line in the game's scripts decides where it is known (`fonts`, default
    `dialog_fonts()`; 'both' for lines of both fish at once); otherwise the file name's
    character code (`code_from_name`)."""
    fonts = dialog_fonts() if fonts is None else fonts
    font = fonts.get(path.stem)
    if font:
        return FISH_FONTS.get(font, font.removeprefix("font_"))
    return code_from_name(path.stem)


@dataclass(frozen=True)
class FilletsLine:
    """One dialog line with its English text and a human translation of it."""

    id: str  # dialog id, e.g. "let-m-divna"
    english: str  # the English text of `dialogId`
    translation: str  # the line in `language`, from dialogs_<language>.lua
    language: str  # ISO 639-1 of `translation`
    level: str  # the game level (script folder)


def read_fillets_lines(
    language: str, root: str | os.PathLike = FILLETS_ROOT
) -> Iterator[FilletsLine]:
    """Every dialog line of the game's `language` scripts (Debian ``fillets-ng-data``), with
    the English line it translates; ids repeated across levels are given once."""
    r = Path(root)
    scripts = sorted(r.glob(f"script/*/dialogs_{language}.lua"))
    if not scripts:
        raise InputError(
            f"No Fish Fillets '{language}' dialog scripts under {r} (apt-get install fillets-ng-data)."
        )
    seen: set[str] = set()
    for lua in scripts:
        for uid, _font, english, text in DIALOG_LINE.findall(lua.read_text(encoding="utf-8")):
            english, text = unescape_lua(english).strip(), unescape_lua(text).strip()
            if uid in seen or not english or not text:
                continue
            seen.add(uid)
            yield FilletsLine(uid, english, text, language, lua.parent.name)
