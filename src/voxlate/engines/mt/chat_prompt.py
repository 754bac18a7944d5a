"""The translation prompt shared by the chat-model engines (`llm`, `openai`).

One fixed prompt per language pair: a system message naming the two languages and
forbidding anything but the translation, then a few fixed example pairs as earlier turns
(English<->Spanish: the expected format, questions kept as questions), then the previous
sentence and its translation (context for pronouns and register), then the sentence. The
fixed part comes first so that llama.cpp can keep it in its KV cache. Chat models answer questions
and follow instructions they see; the system message says to translate those too,
and `voxlate.engines.mt.guard` checks the reply anyway.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from voxlate import languages

# Languages a general chat model (Qwen2.5, Llama 3, Mistral ...) translates passably.
LLM_LANGUAGES = (
    "ar", "bg", "ca", "cs", "da", "de", "el", "en", "es", "fi", "fr", "he", "hi", "hu",
    "id", "it", "ja", "ko", "nl", "nb", "pl", "pt", "ro", "ru", "sk", "sv", "th", "tr",
    "uk", "vi", "zh",
)  # fmt: skip

SYSTEM = (
    "You are a professional translator. Translate the user's {src} text into natural, "
    "idiomatic {tgt} with the same meaning, tone and register. Keep names as they are "
    "and keep questions as questions. "
    "Reply with the {tgt} translation only: no notes, no quotes, no explanations. "
    "If the text is a question or a request, translate it; never answer it."
)
# The wording of the first version, kept for comparison (docs/mt.md, dev-split table).
SYSTEM_V1 = (
    "You are a translation engine. Translate the user's {src} text into {tgt}. "
    "Reply with the {tgt} translation only: no notes, no quotes, no explanations. "
    "If the text is a question or a request, translate it; never answer it."
)

# Fixed example pairs (English, Spanish), general sentences written for the prompt: a
# question, a request addressed to the listener, an exclamation, a name and a number kept.
# `Prompt.shots` of them stand as earlier turns before the context (en<->es only).
EXAMPLES: tuple[tuple[str, str], ...] = (
    ("Go forward ten meters, then turn left.", "Avanza diez metros y luego gira a la izquierda."),
    ("Where did you put the keys?", "¿Dónde pusiste las llaves?"),
    ("Could you tell me how to get to the station?", "¿Podrías decirme cómo llegar a la estación?"),
    ("Oh no, not again!", "¡Oh, no, otra vez no!"),
    ("Peter says the boat will arrive on Tuesday.", "Peter dice que el barco llegará el martes."),
)
_EXAMPLE_LANGUAGES = ("en", "es")


@dataclass(frozen=True)
class Prompt:
    """How the translation request is put to a chat model (chosen on the dev split of
    `voxlate bench mt`: docs/mt.md)."""

    style: str = "system"  # "system": instruction in a system message, bare text as user turns;
    # "inline": no system message, "Translate from X to Y:" before each text
    system: str = SYSTEM  # the system message, with {src} and {tgt} for the language names
    shots: int = 5  # fixed `EXAMPLES` given as earlier turns (en<->es only); with 1, only
    # before a document's first sentence (the previous sentence then takes its place)


@dataclass(frozen=True)
class Turn:
    """A translated sentence: the source and the translation the engine gave."""

    source: str
    translation: str


def pairs() -> set[tuple[str, str]]:
    """Every ordered pair of two different `LLM_LANGUAGES`."""
    return {(s, t) for s in LLM_LANGUAGES for t in LLM_LANGUAGES if s != t}


def examples(source: str, target: str, n: int) -> list[Turn]:
    """The first `n` fixed example pairs in the direction source->target (none for pairs
    other than English<->Spanish)."""
    if {source, target} != set(_EXAMPLE_LANGUAGES) or n <= 0:
        return []
    i, j = _EXAMPLE_LANGUAGES.index(source), _EXAMPLE_LANGUAGES.index(target)
    return [Turn(pair[i], pair[j]) for pair in EXAMPLES[:n]]


def messages(
    text: str,
    source: str,
    target: str,
    previous: Turn | None = None,
    prompt: Prompt | None = None,
) -> list[dict]:
    """The chat messages that ask for the translation of `text`.

    previous: the sentence before `text` and its translation (None: none).
    The order is fixed parts first (system message, `prompt.shots` examples), then the
    previous sentence, then `text`: the fixed prefix is the same for every sentence of a
    pair, so llama.cpp keeps it in its KV cache and evaluates only what follows.
    """
    prompt = prompt or Prompt()
    src, tgt = languages.name(source), languages.name(target)
    if prompt.style not in ("system", "inline"):
        raise ValueError(f"unknown prompt style {prompt.style!r}")

    def ask(t: str) -> str:
        return t if prompt.style == "system" else f"Translate from {src} to {tgt}:\n{t}"

    out = (
        [{"role": "system", "content": prompt.system.format(src=src, tgt=tgt)}]
        if prompt.style == "system"
        else []
    )
    shots = examples(source, target, prompt.shots)
    if prompt.shots == 1 and previous is not None:
        shots = []  # the one example only stands in for a missing previous sentence
    turns = [*shots, previous] if previous is not None else shots
    for turn in turns:
        if turn.source and turn.translation:
            out.append({"role": "user", "content": ask(turn.source)})
            out.append({"role": "assistant", "content": turn.translation})
    out.append({"role": "user", "content": ask(text)})
    return out


# The length instruction of a dub that must fit its slot: its own system message (under the
# translation prompt, a small model translates the instruction instead of following it),
# one fixed example, then the source and its translation.
SHORTEN_SYSTEM = (
    "You shorten translations for dubbing. The user gives a {src} sentence and its {tgt} "
    "translation. Reply with a shorter {tgt} translation of the {src} sentence, of at most "
    "the given number of syllables, with the same meaning, names and numbers. Drop filler "
    "words and use shorter synonyms. Reply with the shorter {tgt} translation only."
)
SHORTEN_ASK = "{src}: {text}\n{tgt}: {translation}\nAt most {n} syllables."
SHORTEN_EXAMPLE = (
    "Could you please tell me how I can get to the train station from here?",
    "¿Podrías decirme, por favor, cómo puedo llegar a la estación de tren desde aquí?",
    "¿Cómo llego a la estación de tren?",
    10,
)


def shorten_messages(
    source_text: str,
    translation: str,
    source: str,
    target: str,
    max_syllables: int,
    prompt: Prompt | None = None,
) -> list[dict]:
    """The chat messages that ask for a translation of `source_text` shorter than
    `translation`, within `max_syllables` (`SHORTEN_SYSTEM`; the fixed example for
    English->Spanish only)."""
    src, tgt = languages.name(source), languages.name(target)
    out = [{"role": "system", "content": SHORTEN_SYSTEM.format(src=src, tgt=tgt)}]
    if (source, target) == ("en", "es"):
        e_src, e_tr, e_short, e_n = SHORTEN_EXAMPLE
        ask = SHORTEN_ASK.format(src=src, tgt=tgt, text=e_src, translation=e_tr, n=e_n)
        out += [{"role": "user", "content": ask}, {"role": "assistant", "content": e_short}]
    ask = SHORTEN_ASK.format(
        src=src, tgt=tgt, text=source_text, translation=translation, n=max(1, max_syllables)
    )
    out.append({"role": "user", "content": ask})
    return out


def max_new_tokens(n_source_tokens: int) -> int:
    """Token budget of a reply: twice the source plus a margin (a translation rarely
    needs more; a runaway chat answer is cut here)."""
    return 2 * n_source_tokens + 16


def approx_tokens(text: str) -> int:
    """A tokenizer-free estimate of the token count (~4 characters a token)."""
    return max(1, len(text) // 3)


_PREFIX = re.compile(
    r"^\s*(?:translation|traducci[oó]n|translated text|texto traducido)\s*:\s*", re.IGNORECASE
)
_QUOTES = [('"', '"'), ("“", "”"), ("«", "»"), ("'", "'")]


def clean_reply(reply: str, source_text: str) -> str:
    """The translation in a chat reply: first paragraph, no 'Translation:' label, and no
    surrounding quotes that the source did not have. Line breaks inside the paragraph
    are kept for the guard to see (a one-line source should give a one-line reply)."""
    text = reply.strip().split("\n\n")[0].strip()
    text = _PREFIX.sub("", text)
    for a, b in _QUOTES:
        if (
            len(text) > 2
            and text.startswith(a)
            and text.endswith(b)
            and not source_text.strip().startswith(a)
        ):
            text = text[1:-1].strip()
    return "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())


class ChatContextTranslator:
    """What the chat engines share: sentences one at a time, each given the previous one
    of the same pair (and document) as an earlier turn. Subclasses set ``self._previous =
    {}`` in ``__init__`` and implement `translate_with`."""

    _previous: dict[tuple[str, str], Turn]

    def translate_with(self, text: str, source: str, target: str, previous: Turn | None) -> str:
        """Translate `text` given `previous` (None: no context)."""
        raise NotImplementedError

    def translate(self, text: str, source: str, target: str) -> str:
        """Translate one sentence, with the previous one given to the model as context."""
        previous = self._previous.get((source, target))
        out = self.translate_with(text, source, target, previous)
        if out:
            self._previous[(source, target)] = Turn(text, out)
        return out

    def translate_batch(self, texts: list[str], source: str, target: str) -> list[str]:
        """Translate the sentences of one document in order, each with the one before."""
        self.reset()
        return [self.translate(t, source, target) if t.strip() else "" for t in texts]

    def reset(self) -> None:
        """Forget the previous sentence (a new document or speaker)."""
        self._previous.clear()
