"""Fish Fillets NG dialog text as a parallel corpus: English and its human translations.

Each level's ``script/<level>/dialogs_<lang>.lua`` holds ``dialogId("<id>", "<font>",
"<English>")`` followed by ``dialogStr("<translation>")`` (``dialogs_en.lua`` holds the
English alone). Joining two languages on the line id gives ~1,500 English-Spanish pairs,
mostly short dialogue between the two fish. Splits hold whole levels out with the same
rule as the speech corpus (`voxlate.data.fillets.group_roles`): dev for choices (the
prompt, the guard's bounds), test for the reported figures.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from voxlate.data.fillets import DIALOG_LINE, FILLETS_ROOT, LUA_STRING, group_roles, unescape_lua
from voxlate.errors import InputError

_DIALOG_ID = re.compile(rf"dialogId\(\s*{LUA_STRING}\s*,\s*{LUA_STRING}\s*,\s*{LUA_STRING}\s*\)")


@dataclass(frozen=True)
class ParallelLine:
    """One dialog line in two languages."""

    id: str  # the game's line id, e.g. "bar-v-videt0"
    level: str  # the game level (script folder), the unit of the splits
    source: str  # text in the source language
    target: str  # its human translation (or original) in the target language


def _clean(text: str) -> str:
    return " ".join(unescape_lua(text).split())


def read_language(
    language: str, root: str | os.PathLike = FILLETS_ROOT
) -> dict[str, tuple[str, str]]:
    """Line id -> (level, text) for every dialog line in `language` (ISO 639-1, e.g. 'es')."""
    r = Path(root)
    scripts = sorted(r.glob(f"script/*/dialogs_{language}.lua"))
    if not scripts:
        raise InputError(
            f"No Fish Fillets dialog scripts in '{language}' under {r} "
            "(apt-get install fillets-ng-data)."
        )
    out: dict[str, tuple[str, str]] = {}
    for lua in scripts:
        text = lua.read_text(encoding="utf-8", errors="replace")
        if language == "en":
            pairs = [(uid, en) for uid, _font, en in _DIALOG_ID.findall(text)]
        else:
            pairs = [(uid, tr) for uid, _font, _en, tr in DIALOG_LINE.findall(text)]
        for uid, line in pairs:
            line = _clean(line)
            if line and uid not in out:
                out[uid] = (lua.parent.name, line)
    return out


def read_parallel(
    source: str, target: str, root: str | os.PathLike = FILLETS_ROOT
) -> list[ParallelLine]:
    """Every line present in both languages, in level and script order."""
    src, tgt = read_language(source, root), read_language(target, root)
    lines = [
        ParallelLine(uid, level, text, tgt[uid][1])
        for uid, (level, text) in src.items()
        if uid in tgt and text != tgt[uid][1]  # untranslated lines are copies of the English
    ]
    return lines


def split_parallel(
    lines: list[ParallelLine], split: str, limit: int | None = None
) -> list[ParallelLine]:
    """The lines of `split` ('train' | 'dev' | 'test'), whole levels by `group_roles`.

    limit: keep at most this many, evenly spread over the split (deterministic).
    """
    if split not in ("train", "dev", "test"):
        raise InputError(f"Unknown split '{split}'; choose train, dev or test.")
    role = group_roles({ln.level for ln in lines})
    chosen = [ln for ln in lines if role[ln.level] == split]
    if limit is not None and 0 < limit < len(chosen):
        step = len(chosen) / limit
        chosen = [chosen[int(i * step)] for i in range(limit)]
    return chosen
