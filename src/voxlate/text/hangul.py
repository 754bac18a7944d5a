"""Hangul syllables <-> conjoining jamo (Unicode 15, section 3.12).

A precomposed syllable is ``0xAC00 + (L * 21 + V) * 28 + T`` with L the leading
consonant (19), V the vowel (21) and T the optional trailing consonant (28, 0 = none).
Decomposition gives conjoining jamo (U+1100.., U+1161.., U+11A8..), which recompose
without ambiguity, unlike compatibility jamo (U+3131..).
"""

from __future__ import annotations

S_BASE, L_BASE, V_BASE, T_BASE = 0xAC00, 0x1100, 0x1161, 0x11A7
L_COUNT, V_COUNT, T_COUNT = 19, 21, 28
N_COUNT = V_COUNT * T_COUNT  # 588
S_COUNT = L_COUNT * N_COUNT  # 11172


def is_syllable(ch: str) -> bool:
    """True for a precomposed Hangul syllable (가..힣)."""
    return S_BASE <= ord(ch) < S_BASE + S_COUNT


def decompose_hangul(text: str) -> str:
    """Replace each Hangul syllable by its 2 or 3 conjoining jamo; other characters pass."""
    out: list[str] = []
    for ch in text:
        if is_syllable(ch):
            s = ord(ch) - S_BASE
            out.append(chr(L_BASE + s // N_COUNT))
            out.append(chr(V_BASE + (s % N_COUNT) // T_COUNT))
            t = s % T_COUNT
            if t:
                out.append(chr(T_BASE + t))
        else:
            out.append(ch)
    return "".join(out)


def compose_jamo(text: str) -> str:
    """Inverse of `decompose_hangul`: join L V [T] runs into syllables.

    Jamo that do not form a syllable (a lone vowel from a bad CTC output, say) are
    kept as they are, so the result always has every input character.
    """
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = ord(text[i])
        if (
            L_BASE <= c < L_BASE + L_COUNT
            and i + 1 < n
            and V_BASE <= ord(text[i + 1]) < V_BASE + V_COUNT
        ):
            lv = (c - L_BASE) * N_COUNT + (ord(text[i + 1]) - V_BASE) * T_COUNT
            i += 2
            if i < n and T_BASE < ord(text[i]) < T_BASE + T_COUNT:
                lv += ord(text[i]) - T_BASE
                i += 1
            out.append(chr(S_BASE + lv))
        else:
            out.append(text[i])
            i += 1
    return "".join(out)
