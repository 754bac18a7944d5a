"""Apertium rule-based translation (Forcada et al., 2011) through its programs. GPL.

Every installed pair (Debian packages ``apertium-*``, modes in
/usr/share/apertium/modes) is discovered. Each pair's pipeline is started once and
kept running in null-flush mode (`NullFlushPipe`: ~2 ms a sentence instead of
~0.15 s of program start-up); if that fails, each call runs ``apertium -u`` instead.
Output is cleaned: no unknown-word marks, no space before punctuation, sentence case,
and the source's names kept.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from voxlate.engines.mt import REGISTRY
from voxlate.engines.mt.apertium_pipe import NullFlushPipe, escape, mode_commands, unescape
from voxlate.errors import EngineError, MissingDependencyError, UnsupportedLanguageError
from voxlate.languages import from_639_3, to_639_3

MODES_DIRS = [Path("/usr/share/apertium/modes"), Path("/usr/local/share/apertium/modes")]
_SEPARATOR = "\n\n"  # Apertium keeps blank lines, so segments survive one batched call


def installed_modes() -> dict[tuple[str, str], str]:
    """(source, target) ISO 639-1 -> Apertium mode name, e.g. ('en', 'es') -> 'eng-spa'."""
    modes: dict[tuple[str, str], str] = {}
    for d in MODES_DIRS:
        for f in sorted(d.glob("*.mode")) if d.exists() else []:
            name = f.stem
            m = re.fullmatch(r"([a-z]{2,3})-([a-z]{2,3})", name)
            if m:  # skip variants such as spa-eng_US and debugging modes
                modes[(from_639_3(m.group(1)), from_639_3(m.group(2)))] = name
    return modes


@REGISTRY.register("apertium")
class ApertiumTranslator:
    def __init__(self) -> None:
        exe = shutil.which("apertium")
        if exe is None:
            raise MissingDependencyError("Apertium", apt="apertium apertium-eng-spa")
        self._exe: str = exe
        self._modes = installed_modes()
        self.name = "apertium"
        self._pipes: dict[str, NullFlushPipe | None] = {}  # None: the pipe failed, use one-shot

    @classmethod
    def from_spec(cls, arg: str | None) -> ApertiumTranslator:
        return cls()

    def pairs(self) -> set[tuple[str, str]]:
        return set(self._modes)

    def mode(self, source: str, target: str) -> str:
        if (source, target) not in self._modes:
            have = ", ".join(f"{s}->{t}" for s, t in sorted(self._modes)) or "none"
            raise UnsupportedLanguageError(
                f"Apertium has no {source}->{target} pair installed (installed: {have}); "
                f"try: sudo apt-get install apertium-{to_639_3(source)}-{to_639_3(target)}"
            )
        return self._modes[(source, target)]

    def translate(self, text: str, source: str, target: str) -> str:
        return self.translate_batch([text], source, target)[0]

    def translate_batch(self, texts: list[str], source: str, target: str) -> list[str]:
        """Translate several texts; empty ones stay empty."""
        mode = self.mode(source, target)
        clean = [" ".join(t.split()) for t in texts]
        if not any(clean):
            return ["" for _ in texts]
        outs = self._through_pipe(mode, clean)
        if outs is None:
            outs = self._one_shot_batch(mode, clean)
        common = self._common_words(outs, target)
        return [tidy(o, c, target, common) if c else "" for o, c in zip(outs, clean)]

    def _through_pipe(self, mode: str, texts: list[str]) -> list[str] | None:
        """Translations by the persistent pipeline of `mode`; None if it cannot be used."""
        outs = []
        for t in texts:
            reply = (
                self._ask(mode, lambda: mode_commands(self._mode_file(mode)), escape(t) + "[][\n]")
                if t
                else ""
            )
            if reply is None:
                return None
            outs.append(unescape(reply).strip())
        return outs

    def _ask(self, key: str, commands: Callable[[], list[list[str]]], message: str) -> str | None:
        """The reply of persistent pipe `key` (started from `commands()` on first use) to
        `message`; None when it cannot be used, and from then on (callers run the program once)."""
        if key not in self._pipes:
            try:
                self._pipes[key] = NullFlushPipe(commands())
            except (EngineError, OSError):
                self._pipes[key] = None
        pipe = self._pipes[key]
        if pipe is None:
            return None
        try:
            return pipe.query(message)
        except EngineError:
            pipe.close()
            self._pipes[key] = None
            return None

    def _mode_file(self, mode: str) -> Path:
        for d in MODES_DIRS:
            if (d / f"{mode}.mode").exists():
                return d / f"{mode}.mode"
        raise EngineError(f"No Apertium mode file for {mode}.")

    def _one_shot_batch(self, mode: str, clean: list[str]) -> list[str]:
        """All texts in one ``apertium -u`` call (its start-up costs ~0.15 s)."""
        payload = _SEPARATOR.join(c or "." for c in clean) + "\n"
        proc = subprocess.run(
            [self._exe, "-u", mode], input=payload, capture_output=True, text=True
        )
        if proc.returncode != 0:
            raise EngineError(f"Apertium failed on {mode}: {proc.stderr.strip()[:200]}")
        outs = [o.strip() for o in re.split(r"\n\s*\n", proc.stdout.strip("\n"))]
        if len(outs) != len(clean):  # the separator was disturbed: fall back to one call each
            return [self._one(c, mode) if c else "" for c in clean]
        return outs

    def _common_words(self, outputs: list[str], target: str) -> set[str]:
        """Capitalised words of `outputs` that the target-language analyser knows as
        ordinary words (not proper nouns): Apertium sometimes capitalises them mid-sentence."""
        analyser = self._analyser(target)
        words = sorted({w for o in outputs for w in _WORD.findall(o) if w[:1].isupper()})
        if analyser is None or not words:
            return set()
        query = "\n".join(words) + "\n"
        analysed = self._ask(
            f"analyser:{analyser}", lambda: [["lt-proc", "-z", "-w", str(analyser)]], query
        )
        if analysed is None:
            analysed = subprocess.run(
                ["lt-proc", "-w", str(analyser)], input=query, capture_output=True, text=True
            ).stdout
        common = set()
        for m in re.finditer(r"\^([^/$]+)/([^$]*)\$", analysed):
            surface, analyses = m.group(1), m.group(2)
            if not analyses.startswith("*") and "<np>" not in analyses:
                common.add(surface)
        return common

    def _analyser(self, language: str) -> Path | None:
        """The morphological analyser of `language` from an installed pair that starts there."""
        for (s, _t), mode in self._modes.items():
            if s == language and shutil.which("lt-proc"):
                try:
                    text = self._mode_file(mode).read_text()
                except EngineError:
                    continue
                m = re.search(r"lt-proc(?: -w)? '([^']+automorf\.bin)'", text)
                if m:
                    return Path(m.group(1))
        return None

    def _one(self, text: str, mode: str) -> str:
        proc = subprocess.run(
            [self._exe, "-u", mode], input=text + "\n", capture_output=True, text=True
        )
        return proc.stdout.strip()


_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*", re.UNICODE)
_ABBREVIATIONS = ("Mr.", "Mrs.", "Ms.", "Dr.", "St.", "Sr.", "Sra.", "Jr.", "Prof.")


def _starts_sentence(before: str) -> bool:
    """Whether text ending in `before` puts the next word at a sentence start."""
    b = before.rstrip()
    if not b:
        return True
    if b.endswith(_ABBREVIATIONS):
        return False
    return b[-1] in ".!?¿¡"


def tidy(translation: str, source: str, target: str, common: set[str] | None = None) -> str:
    """Clean Apertium output: punctuation spacing, leftover marks, sentence case, names kept.

    A capitalised word inside a sentence is lowered only when it is in `common` (known
    to the target analyser as an ordinary word) and is not a name in the source; with
    `common` None, every such word not capitalised in the source is lowered.
    """
    t = translation.replace("#", "").replace("*", "")
    t = re.sub(r"(?<=\w)@(?=\w)", "", t).replace("@", "")
    t = re.sub(r"\s+([,.;:!?%)\]»])", r"\1", t)
    t = re.sub(r"([¿¡(\[«])\s+", r"\1", t)
    t = " ".join(t.split())
    # Names: words capitalised in the source other than at a sentence start.
    names = set()
    for m in _WORD.finditer(source):
        w = m.group(0)
        if w[:1].isupper() and not _starts_sentence(source[: m.start()]):
            names.add(w)
    keep_upper = {"I"} if target == "en" else set()

    def fix(m: re.Match[str]) -> str:
        w = m.group(0)
        if _starts_sentence(t[: m.start()]):
            return w[:1].upper() + w[1:]
        if (
            w in names
            or w in keep_upper
            or w.split("'")[0] in keep_upper
            or w.isupper()
            and len(w) > 1
        ):
            return w
        if common is not None and w not in common:
            return w
        return w.lower() if w[:1].isupper() else w

    return _WORD.sub(fix, t)
