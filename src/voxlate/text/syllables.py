"""Syllable counts for timing a dub: a vowel-group estimate, good enough for a length budget.

A syllable is counted per run of vowel letters (accented ones included, y counted as a
vowel); a silent final 'e' of English is not counted. Scripts without Latin-like vowels
(Japanese, Hindi, ...) count one syllable per letter-like character / 2, a rough bound.
"""

from __future__ import annotations

import re
import unicodedata

_VOWELS = set("aeiouyáéíóúýàèìòùâêîôûäëïöüÿåæøœěůąęõãı")
_WORD = re.compile(r"\w+")


def count_syllables(text: str, language: str = "") -> int:
    """The estimated number of syllables of `text` (0 for no word)."""
    total = 0
    for word in _WORD.findall(text.lower()):
        letters = [ch for ch in word if ch.isalpha()]
        if not letters:
            total += len(word)  # digits: about one syllable each
            continue
        if not any(unicodedata.name(ch, "").startswith("LATIN") for ch in letters):
            total += max(1, len(letters) // 2)
            continue
        runs = 0
        previous = False
        for ch in word:
            v = ch in _VOWELS
            if v and not previous:
                runs += 1
            previous = v
        if language == "en" and runs > 1 and word.endswith("e") and not word.endswith("le"):
            runs -= 1
        total += max(1, runs)
    return total
