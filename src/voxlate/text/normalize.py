"""Transcript normalisation for training and scoring recognizers."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def normalize_text(text: str, lowercase: bool = True) -> str:
    """NFC, lower case, punctuation and symbols removed, whitespace collapsed.

    Letters, combining marks and digits of any script are kept, so Czech diacritics
    and Hangul pass; an apostrophe inside a word ("don't") is kept.
    """
    text = unicodedata.normalize("NFC", text)
    text = text.replace("’", "'").replace("‘", "'")
    if lowercase:
        text = text.lower()
    out = []
    for i, ch in enumerate(text):
        cat = unicodedata.category(ch)
        if cat[0] in "LMN":
            out.append(ch)
        elif (
            ch == "'" and 0 < i < len(text) - 1 and text[i - 1].isalpha() and text[i + 1].isalpha()
        ):
            out.append(ch)
        else:
            out.append(" ")
    return _SPACES.sub(" ", "".join(out)).strip()
