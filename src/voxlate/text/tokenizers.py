"""Tokenizers for CTC and attention decoders: characters, Korean syllables, Korean jamo.

Id 0 is the CTC blank (also padding), ids 1 and 2 are begin/end of sentence for
attention decoders, and the rest are symbols. A tokenizer is rebuilt from
`to_dict()`, which checkpoints store.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from voxlate.text.hangul import compose_jamo, decompose_hangul

BLANK, BOS, EOS = 0, 1, 2
SPECIALS = ("<blank>", "<s>", "</s>")
KINDS = ("char", "ko-syllable", "ko-jamo")


@dataclass(frozen=True)
class Tokenizer:
    """Maps text to ids and back.

    kind: "char" (any script, one symbol per character), "ko-syllable" (Hangul
        syllables as symbols; the same as char but named for Korean), or "ko-jamo"
        (syllables decomposed into conjoining jamo, recomposed on decoding).
    symbols: the symbols after the three specials, in id order.
    """

    kind: str
    symbols: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"tokenizer kind must be one of {KINDS}, not {self.kind!r}")
        object.__setattr__(
            self, "_index", {s: i + len(SPECIALS) for i, s in enumerate(self.symbols)}
        )

    @classmethod
    def build(cls, texts: Iterable[str], kind: str = "char", min_count: int = 1) -> Tokenizer:
        """Collect the symbols of `texts` seen at least `min_count` times."""
        counts: Counter[str] = Counter()
        for t in texts:
            counts.update(cls._split(kind, t))
        return cls(kind, tuple(sorted(s for s, c in counts.items() if c >= min_count)))

    @staticmethod
    def _split(kind: str, text: str) -> list[str]:
        return list(decompose_hangul(text) if kind == "ko-jamo" else text)

    @property
    def vocab_size(self) -> int:
        """Number of ids, specials included."""
        return len(SPECIALS) + len(self.symbols)

    def encode(self, text: str) -> list[int]:
        """Ids of `text`; unknown symbols are dropped."""
        idx: dict[str, int] = self._index  # type: ignore[attr-defined]
        return [idx[s] for s in self._split(self.kind, text) if s in idx]

    def decode(self, ids: Iterable[int]) -> str:
        """Text of `ids`; specials are skipped and jamo recomposed."""
        n = len(SPECIALS)
        text = "".join(self.symbols[i - n] for i in ids if i >= n)
        return compose_jamo(text) if self.kind == "ko-jamo" else text

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "symbols": list(self.symbols)}

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> Tokenizer:
        return cls(str(d["kind"]), tuple(d["symbols"]))  # type: ignore[arg-type]
