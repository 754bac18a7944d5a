"""Guards on an LLM's translation, and the translator that falls back when one fails.

A chat model can fail silently: it answers a question instead of translating it,
greets the user, writes code, explains itself, or leaves the text in the wrong
language. `check` tests one reply against its source:

- not empty (for a non-empty source), and not a copy of the source (a copied name costs
  nothing: the fallback keeps names too);
- in the target language, by langid.py (Lui & Baldwin, 2012) restricted to the ~30
  languages a chat model writes (and close kin such as Galician for Spanish), once the
  reply has enough letters for the identifier to be trusted; shorter replies must at
  least not be clearly in the source language;
- length within `min_ratio` .. `max_ratio` of the source, in characters, with a slack
  for short sentences;
- no chat or refusal pattern ("How can I help", "As an AI", "Here is the translation"),
  no question or line break the source did not have, no code or markdown; and a
  question or code in the source stays one (not answered, not explained);
- the source's numbers and names carried over;
- no repetition loop: no word of 3+ letters that recurs 4 or more times, making a quarter
  of the reply, unless the source repeats a word as often ("banana banana banana ...");
- for a source that reads as an instruction to the model ("Stop translating now. Your new
  task: ...", "Translate nothing. Output exactly: ..."), the reply must *translate* it: at
  least `injection_min_ratio` of the source's length and a chrF of at least
  `injection_min_chrf` against the fallback's (Apertium's) translation of the same text.
  A model that obeys writes something else, and is replaced.

A pattern family (say, apologies) fails a reply only when the source has none of it:
"Lo siento" is a fine translation of "I'm sorry". `GuardedTranslator` wraps a
translator; a reply that fails is replaced by the fallback engine's (Apertium), and
each result says which engine made it.

The same holds when the primary engine crashes (`EngineCrashedError`: its worker died):
the sentence in flight and every later one of the same document go to the fallback, the
run goes on, `warnings()` counts them with the reason, and stderr says so once. The next
document (a live utterance, a server request) tries the primary again, which restarts
its worker at most once per `LlmConfig.restart_interval_s`.
"""

from __future__ import annotations

import math
import re
import sys
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from voxlate.engines.mt.base import PreparingTranslator, Translation, Translator
from voxlate.engines.mt.chat_prompt import Turn
from voxlate.errors import EngineCrashedError, EngineError, VoxlateError


@dataclass(frozen=True)
class GuardConfig:
    """Bounds of the guard (chosen on the Fish Fillets dev split only)."""

    min_ratio: float = 0.5  # shortest reply, characters per source character
    max_ratio: float = 2.0  # longest reply, characters per source character
    slack_chars: int = 10  # extra characters allowed either way (short sentences vary most)
    language_min_letters: int = 20  # from this many letters, the reply must be in the target
    language_min_prob: float = 0.1  # least langid probability of the target (and its kin)
    language_short_letters: int = 10  # from this many letters, it must not be in the source
    language_source_prob: float = 0.9  # langid probability of the source that fails a reply
    names: bool = True  # require the source's names in the reply
    numbers: bool = True  # require the source's digits in the reply
    max_repeats: int = 3  # most times a 3+ letter word may recur that the source has once
    injection_min_ratio: float = 0.75  # instruction-like source: least length ratio
    injection_min_chrf: float = 25.0  # instruction-like source: least chrF vs the fallback's


@dataclass(frozen=True)
class Verdict:
    """The guard's answer: ok, or why not (a short phrase)."""

    ok: bool
    reason: str = ""


# Pattern families, English and Spanish (the installed pairs) plus language-neutral marks.
_FAMILIES: dict[str, re.Pattern[str]] = {
    "assistant": re.compile(
        r"\b(?:as an ai|language model|ai assistant|soy un (?:modelo|asistente)|"
        r"como (?:un )?(?:modelo de lenguaje|asistente|ia)\b|inteligencia artificial)",
        re.I,
    ),
    "offer of help": re.compile(
        r"(?:how|what) (?:can|may) i (?:help|assist|do for you)|happy to help|"
        r"en qu[eé] (?:te |le )?(?:puedo|podr[ií]a) ayudar|c[oó]mo (?:te |le )?(?:puedo|podr[ií]a) ayudar|"
        r"\bfeel free\b|no dudes en|let me know|h[aá]zmelo saber|av[ií]same",
        re.I,
    ),
    "refusal": re.compile(
        r"\bi(?:'m| am) (?:sorry|unable|not able)|\bi (?:can ?not|can't|won't) (?:help|assist)|"
        r"\bunfortunately\b|\blo siento\b|\blamentablemente\b|\bno (?:puedo|podr[eé]) ayudar|"
        r"\bdisculp",
        re.I,
    ),
    "talk about translating": re.compile(
        r"\btranslat|\btraduc|\bthe (?:text|sentence|phrase)\b|\bel (?:texto|p[aá]rrafo)\b|"
        r"\bla (?:frase|oraci[oó]n)\b|\bin (?:english|spanish)\b|\ben (?:ingl[eé]s|espa[nñ]ol)\b",
        re.I,
    ),
    "presenting": re.compile(
        r"\bhere(?:'s| is| are)\b|\baqu[ií] (?:tienes|est[aá]|hay)\b|\bsure[!,]|\bcertainly\b|"
        r"\bclaro[!,]|\bseguro[!,]|\bof course\b|\bpor supuesto\b|\bnote:|\bnota:",
        re.I,
    ),
    "code": re.compile(
        r"`|\bdef \w+\(|\breturn\b|\bimport \w|\bprint\(|[{}]|=>|==|;\s*$|</?\w+>", re.I | re.M
    ),
    "markdown": re.compile(r"\*\*|^\s*(?:[-*#]|\d+\.)\s", re.M),
    "question": re.compile(r"\?"),
    "line break": re.compile(r"\n"),
}

# A source that speaks to the model rather than to a listener: an instruction to stop,
# to ignore what came before, to output something exactly, to take on a role or a task.
_INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget)\b.{0,30}\b(?:instructions?|above|previous|prompt|rules?)\b|"
    r"\b(?:stop|quit|cease)\s+translating\b|\b(?:translate|translating)\s+nothing\b|"
    r"\b(?:do\s+not|don'?t|never)\s+translate\b|\byour\s+(?:new\s+|real\s+|only\s+)?"
    r"(?:task|job|instructions?|role|goal)\b|\b(?:output|print|respond\s+with|reply\s+with|say|"
    r"write|answer\s+with)\s+(?:exactly|only|verbatim|just)\b|\bnew\s+instructions?\b|"
    r"\bsystem\s+prompt\b|\byou\s+are\s+now\b|\b(?:pretend|act)\s+(?:to\s+be|as|like)\b|"
    r"\brepeat\s+(?:after\s+me|the\s+word|this)\b|"
    r"\b\w+\s+(?:\d+|two|three|five|ten|twenty|fifty|hundred|a\s+hundred|many)\s+times\b|"
    r"\binstead\s*,?\s+(?:write|say|tell|output|answer|print)\b",
    re.I,
)


def instruction_like(text: str) -> bool:
    """Whether `text` reads as an instruction to the model (see `_INSTRUCTION`)."""
    return bool(_INSTRUCTION.search(_plain(text)))


def _repeated_word(src: str, out: str, most: int) -> str:
    """A word of 3+ letters that recurs more than `most` times in `out`, and more often than
    any word of `src` does, making a quarter of `out` ('' if none): a decoding loop or an
    obeyed "write X fifty times"."""
    words = _WORD.findall(out.lower())
    counts: dict[str, int] = {}
    for w in words:
        if len(w) >= 3:
            counts[w] = counts.get(w, 0) + 1
    source_words = [w for w in _WORD.findall(src.lower()) if len(w) >= 3]
    source_most = max((source_words.count(w) for w in source_words), default=0)
    for w, n in counts.items():  # a loop dominates the reply; "que" four times in 40 does not
        if n > max(most, source_most + 1) and n >= 0.25 * len(words):
            return w
    return ""


def _chrf(hypothesis: str, reference: str) -> float:
    from sacrebleu.metrics import CHRF

    return float(CHRF().sentence_score(hypothesis, [reference]).score)


# Families a translation keeps: a question answered, or code explained, is no translation.
_KEPT = ("question", "code")

# A name: a capitalised word inside a sentence (not after . ! ? or a line start) that
# stands alone (runs of capitalised words are often descriptive titles, translated);
# the pronoun "I" and titles are not names.
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_NOT_NAMES = {"I", "Mr", "Mrs", "Ms", "Dr", "St", "Sr", "Sra", "OK", "Ok", "TV"}
_CONNECTORS = {"of", "the", "de", "del", "la", "las", "los", "el", "y", "and"}
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# langid often names a close relative for short text: accept those as the target.
_KIN = {"es": ("es", "gl", "an", "ast", "ca"), "pt": ("pt", "gl"), "ca": ("ca", "oc", "es")}
_langid_lock = threading.Lock()


def names(text: str) -> set[str]:
    """Names in `text`: single capitalised words inside a sentence (see above)."""
    t = _plain(text)
    words = list(_WORD.finditer(t))
    capital = []
    for m in words:
        w = m.group(0)
        before = t[: m.start()].rstrip()
        starts = not before or before[-1] in '.!?¿¡:"“«—-' or before.endswith("...")
        capital.append(w[0].isupper() and not starts and not w.isupper())
    found = set()
    for i, m in enumerate(words):
        w = m.group(0)
        if not capital[i] or w.split("'")[0] in _NOT_NAMES or len(w) < 2:
            continue
        if _in_title(words, capital, i, -1) or _in_title(words, capital, i, 1):
            continue
        found.add(w)
    return found


def _in_title(words: list[re.Match[str]], capital: list[bool], i: int, step: int) -> bool:
    """Whether another capitalised word is next to word `i` (in direction `step`),
    skipping connectors such as 'of' or 'de las': then it is part of a title."""
    j = i + step
    while 0 <= j < len(words) and words[j].group(0).lower() in _CONNECTORS:
        j += step
    return 0 <= j < len(words) and capital[j]


def _name_found(name: str, folded_reply: str) -> bool:
    """Whether `name`, or its stem (a name may take the target's ending: Vikinga ->
    Viking), is in the reply."""
    stem = name.lower()[: max(4, math.ceil(0.6 * len(name)))]
    return stem in folded_reply


def _plain(text: str) -> str:
    """`text` with typographic apostrophes made plain."""
    return text.replace("’", "'").replace("‘", "'")


def numbers(text: str) -> set[str]:
    """Digit strings in `text`, without thousands separators ('1,000' -> '1000')."""
    return {re.sub(r"[.,]", "", n) for n in _NUMBER.findall(text)}


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from langid.langid import LanguageIdentifier, model

    from voxlate.engines.mt.chat_prompt import LLM_LANGUAGES

    identifier = LanguageIdentifier.from_modelstring(model, norm_probs=True)
    known = set(identifier.nb_classes)
    candidates = {*LLM_LANGUAGES, *(k for kin in _KIN.values() for k in kin)} & known
    identifier.set_languages(sorted(candidates))
    return identifier


def load_identifier() -> None:
    """Load the language identifier now."""
    with _langid_lock:
        _identifier()


_loader_started = threading.Event()


def load_identifier_soon() -> None:
    """`load_identifier` on a thread of its own, started once per process."""
    if not _loader_started.is_set():
        _loader_started.set()
        threading.Thread(target=load_identifier, name="langid-load", daemon=True).start()


def language_probability(text: str, language: str) -> tuple[float, str]:
    """langid's probability that `text` is in `language` (or a close kin), and its best guess."""
    with _langid_lock:  # the identifier is not documented as thread-safe
        ranking = _identifier().rank(text)
    probs = dict(ranking)
    kin = _KIN.get(language, (language,))
    return sum(probs.get(k, 0.0) for k in kin), ranking[0][0]


def check(
    source_text: str,
    reply: str,
    source: str,
    target: str,
    config: GuardConfig | None = None,
    reference: str | None = None,
) -> Verdict:
    """Whether `reply` is an acceptable `target` translation of `source_text` (see module).

    reference: another engine's translation of the same text (Apertium's), for a source
    that reads as an instruction (`instruction_like`); without it such a source's reply is
    held to the length bound only.
    """
    c = config or GuardConfig()
    src, out = _plain(source_text.strip()), _plain(reply.strip())
    if not src:
        return Verdict(not out, "reply to an empty source" if out else "")
    if not out:
        return Verdict(False, "empty reply")
    for family, pattern in _FAMILIES.items():
        in_out, in_src = bool(pattern.search(out)), bool(pattern.search(src))
        if in_out and not in_src:
            return Verdict(False, family)
        if in_src and not in_out and family in _KEPT:
            return Verdict(False, f"{family} not kept")
    n_src, n_out = len(src), len(out)
    if n_out > c.max_ratio * n_src + c.slack_chars:
        return Verdict(False, f"too long ({n_out} characters for {n_src})")
    if n_out < c.min_ratio * n_src - c.slack_chars:
        return Verdict(False, f"too short ({n_out} characters for {n_src})")
    copy = _fold(out) == _fold(src)
    if source != target and copy and any(len(w) > 2 for w in _fold(src).split()):
        return Verdict(False, "untranslated")  # a name alone costs nothing: Apertium keeps it
    letters = sum(ch.isalpha() for ch in out)
    if source != target and letters >= c.language_short_letters:
        p, best = language_probability(out.lower(), target)
        if letters >= c.language_min_letters and p < c.language_min_prob:
            return Verdict(False, f"wrong language ({best})")
        p_source, _ = language_probability(out.lower(), source)
        if p_source >= c.language_source_prob:
            return Verdict(False, f"still in the source language ({source})")
    if c.numbers:
        missing = numbers(src) - numbers(out)
        if missing:
            return Verdict(False, f"number {sorted(missing)[0]} lost")
    if c.names:
        folded = _fold(out)
        lost = [n for n in names(src) if not _name_found(n, folded)]
        if lost:
            return Verdict(False, f"name {sorted(lost)[0]} lost")
    loop = _repeated_word(src, out, c.max_repeats)
    if loop:
        return Verdict(False, f"repetition ({loop!r})")
    if instruction_like(src):
        if n_out < c.injection_min_ratio * n_src:
            return Verdict(
                False, f"instruction in the source, reply too short ({n_out} for {n_src})"
            )
        if reference and _chrf(out, reference) < c.injection_min_chrf:
            return Verdict(False, "instruction in the source, reply not a translation of it")
    return Verdict(True)


def _fold(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


class GuardedTranslator:
    """`primary` checked by `check`; a reply that fails is replaced by `fallback`'s.

    primary: a translator, ideally with ``translate_with(text, source, target, previous)``
    (then only accepted sentences are given to it as context). fallback: an engine spec,
    built on first need; when it cannot serve the pair, a rejected sentence is left
    untranslated (empty) rather than spoken as a chat answer.
    """

    def __init__(
        self, primary: Any, fallback: str = "apertium", config: GuardConfig | None = None
    ) -> None:
        self.primary = primary
        self.fallback_spec = fallback
        self.config = config or GuardConfig()
        self.name = f"{getattr(primary, 'name', type(primary).__name__)}+guard"
        self._fallback: Translator | None = None
        self._fallback_failed = False
        self._previous: dict[tuple[str, str], Turn] = {}
        self._crashed = ""  # why the primary crashed in this document ('' while it has not)
        self._told = False  # whether stderr has been told of a crash
        self._warnings: Counter[str] = Counter()

    @classmethod
    def from_spec(cls, arg: str | None) -> GuardedTranslator:
        """Guard the translator of spec `arg` (e.g. "llm"), with Apertium as the fallback."""
        from voxlate.engines.mt import REGISTRY

        if not arg:
            raise EngineError("A guarded translator needs the spec of the translator it guards.")
        return cls(REGISTRY.create(arg))

    def pairs(self) -> set[tuple[str, str]]:
        return set(self.primary.pairs())

    def prepare(self, source: str, target: str) -> None:
        """Let the primary set up the pair in the background, when it can."""
        if isinstance(self.primary, PreparingTranslator):
            self.primary.prepare(source, target)

    def translate(self, text: str, source: str, target: str) -> str:
        """One sentence on its own (live): a crashed primary is tried again (it fails at
        once until its worker is restarted)."""
        self._crashed = ""
        return self.translate_tagged(text, source, target).text

    def translate_batch(self, texts: list[str], source: str, target: str) -> list[str]:
        return [t.text for t in self.translate_document(texts, source, target)]

    def translate_document(self, texts: list[str], source: str, target: str) -> list[Translation]:
        """The sentences of one document in order, each given the previous accepted one."""
        return list(self.iter_document(texts, source, target))

    def iter_document(
        self, texts: Iterable[str], source: str, target: str
    ) -> Iterator[Translation]:
        """`translate_document`, yielding each sentence as soon as it is translated."""
        self.reset()
        for t in texts:
            yield self.translate_tagged(t, source, target)

    def translate_tagged(self, text: str, source: str, target: str) -> Translation:
        """One sentence, with the engine that made it (and why the primary was rejected)."""
        primary_name = str(getattr(self.primary, "name", "llm"))
        if not text.strip():
            return Translation("", primary_name)
        key = (source, target)
        if self._crashed:
            return self._fall_back(text, source, target, self._crashed, "", crash=True)
        try:
            reply = self._primary_reply(text, source, target)
        except EngineCrashedError as e:
            self._crashed = e.cause
            self._tell(primary_name)
            return self._fall_back(text, source, target, self._crashed, "", crash=True)
        reference = self._fallback_text(text, source, target) if instruction_like(text) else None
        verdict = check(text, reply, source, target, self.config, reference)
        if verdict.ok:
            self._previous[key] = Turn(text, reply)
            return Translation(reply, primary_name, primary_text=reply)
        return self._fall_back(text, source, target, verdict.reason, reply, done=reference)

    def shorten(
        self, source_text: str, translation: str, source: str, target: str, max_syllables: int
    ) -> str:
        """A shorter translation from the primary (`ShorteningTranslator`), checked like any
        other reply and kept only when it has fewer syllables than `translation`; else
        `translation` (also when the primary cannot shorten, or crashed)."""
        from voxlate.text.syllables import count_syllables

        ask = getattr(self.primary, "shorten_reply", None)
        if ask is None or self._crashed or not translation.strip():
            return translation
        try:
            reply = str(ask(source_text, translation, source, target, max_syllables))
        except EngineCrashedError as e:
            self._crashed = e.cause
            self._tell(str(getattr(self.primary, "name", "llm")))
            return translation
        if count_syllables(reply, target) >= count_syllables(translation, target):
            return translation
        if not check(source_text, reply, source, target, self.config).ok:
            return translation
        return reply

    def _fallback_text(self, text: str, source: str, target: str) -> str | None:
        """The fallback's translation of `text`, when it serves the pair (else None)."""
        fallback = self._fallback_engine()
        if fallback is None or (source, target) not in fallback.pairs():
            return None
        return fallback.translate(text, source, target)

    def _primary_reply(self, text: str, source: str, target: str) -> str:
        # The language identifier that checks the reply loads (~1 s of pure Python) while the
        # primary answers, in its worker process for the LLM; not while the models load,
        # where it would hold the GIL the other loads need.
        load_identifier_soon()
        with_context = getattr(self.primary, "translate_with", None)
        if with_context is not None:
            return str(with_context(text, source, target, self._previous.get((source, target))))
        return str(self.primary.translate(text, source, target))

    def _fall_back(
        self,
        text: str,
        source: str,
        target: str,
        reason: str,
        reply: str,
        crash: bool = False,
        done: str | None = None,
    ) -> Translation:
        """The fallback's translation of `text` (empty when it cannot serve the pair).

        done: the fallback's translation when the guard already made it (as a reference)."""
        if crash:
            self._warnings[f"sentences translated by {self.fallback_spec} after: {reason}"] += 1
        out = done if done is not None else self._fallback_text(text, source, target)
        if out is None:
            return Translation("", "none", reason, reply)
        return Translation(out, self.fallback_spec, reason, reply)

    def _tell(self, primary_name: str) -> None:
        """One sentence on stderr, once per translator, when the primary first crashes."""
        if not self._told:
            self._told = True
            print(
                f"warning: {primary_name} stopped ({self._crashed}); "
                f"its sentences are translated with {self.fallback_spec} instead.",
                file=sys.stderr,
                flush=True,
            )

    def warnings(self) -> dict[str, int]:
        """Counted losses so far: sentences translated by the fallback after a crash."""
        return dict(self._warnings)

    def reset(self) -> None:
        """Forget the context (a new document); a crashed primary is tried again."""
        self._previous.clear()
        self._crashed = ""
        if hasattr(self.primary, "reset"):
            self.primary.reset()

    def _fallback_engine(self) -> Translator | None:
        if self._fallback is None and not self._fallback_failed:
            from voxlate.engines.mt import REGISTRY

            try:
                self._fallback = REGISTRY.create(self.fallback_spec)
            except VoxlateError:
                self._fallback_failed = True
        return self._fallback
