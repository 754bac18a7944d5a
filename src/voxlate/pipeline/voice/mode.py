"""``--voice``: whose voice the translation is spoken in, parsed once into a `VoiceMode`.

Every entry (the CLI's ``--voice``, the REST and WebSocket ``voice`` fields, a batch's
options) hands its text to `parse_voice`, the one parser and validator; the server's
entries take only the named modes (`named_voice`). Spellings:

- ``preserve`` | ``anonymize`` (any case): the speaker's own voice | a pseudo-speaker;
- ``tts`` (also ``none``, ``off``): the synthesizer's own voice;
- a path to a reference clip (``REF.wav``): every utterance in that voice;
- each of these but ``tts`` followed by ``+ADAPTER`` (``preserve+world``): with a
  synthesizer that takes styles (Kokoro), the voice adapter of that name (the
  `engines.voice.ADAPTERS` registry) re-voices the styled speech afterwards; otherwise
  that adapter is the one the stage re-voices with;
- ``+none`` (``preserve+none``): Kokoro's style alone, no adapter after it.

Without ``+ADAPTER`` the pipeline picks the post-step (`post.py`: the trained converter
for ``preserve`` and ``REF.wav`` when it loads; live, adapted in the background and used
once ready, `adapt_later.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from voxlate.errors import InputError

VoiceKind = Literal["preserve", "tts", "anonymize", "reference"]

#: The named modes (besides a reference clip's path); what the server's entries accept.
NAMED_VOICES = ("preserve", "tts", "anonymize")
DEFAULT_VOICE = "preserve"
TTS_ALIASES = ("tts", "none", "off")  # spellings of the synthesizer's own voice
NO_POST = "none"  # ``MODE+none``: no voice adapter after Kokoro's style

#: The one help text of ``--voice`` (every command's, cli/engine_options.py).
VOICE_HELP = (
    "Voice of the output: preserve (the speaker's own), tts (stock voice), anonymize "
    "(a pseudo-speaker), or a reference clip REF.wav. With Kokoro, preserve and REF.wav "
    "re-voice its styled speech with the trained converter when it is installed (live: "
    "once adapted in the background); MODE+converter or MODE+world picks that adapter, MODE+none Kokoro's style "
    "alone. The server takes the three named modes only."
)


@dataclass(frozen=True)
class VoiceMode:
    """A parsed ``--voice``: what the pipeline's `build_voice_stage` builds from."""

    kind: VoiceKind
    reference: str | None = None  # the reference clip's path (kind "reference" only)
    # voice adapter name applied after styled synthesis ("world"; "none": none; None: the
    # pipeline's default, `post.default_post`)
    post: str | None = None

    def __str__(self) -> str:
        """The canonical spelling: ``preserve``, ``REF.wav+world``, ..."""
        base = self.reference if self.kind == "reference" else self.kind
        return f"{base}+{self.post}" if self.post else str(base)


def parse_voice(text: str) -> VoiceMode:
    """The `VoiceMode` of a ``--voice`` value (see the module docstring).

    Raises InputError (one sentence) for anything else; a reference clip is checked
    (readable, at least 1 s of speech) only when its stage is built.
    """
    if not isinstance(text, str):
        raise InputError(f"Unknown voice {text!r}; use {_USE}.")
    core, post = _split_post(text.strip())
    low = core.lower()
    if low in TTS_ALIASES:
        return VoiceMode("tts")
    if low == "anonymize" and post not in (None, NO_POST, "world"):
        # its pseudo-speaker is a set of WORLD parameters, not a speaker's speech to adapt to
        raise InputError(f"anonymize re-voices with WORLD only (+world or +none), not +{post}.")
    if low in ("preserve", "anonymize"):
        return VoiceMode(low, post=post)  # type: ignore[arg-type]  # checked just above
    if core and _looks_like_path(core):
        return VoiceMode("reference", core, post)
    raise InputError(f"Unknown voice '{text}'; use {_USE}.")


def named_voice(value: object, what: str = "voice") -> VoiceMode:
    """`parse_voice` for the server's entries (``serve --voice``, REST, WebSocket): one of
    `NAMED_VOICES` exactly, no reference path (the server reads no files it is named)."""
    if not isinstance(value, str) or value not in NAMED_VOICES:
        raise InputError(f"{what} must be one of: {', '.join(NAMED_VOICES)}.")
    return parse_voice(value)


_USE = "preserve, tts, anonymize or the path to a reference clip"


def _split_post(text: str) -> tuple[str, str | None]:
    """(``MODE``, adapter name) of ``MODE+NAME`` when NAME is a registered voice adapter
    or ``none``."""
    core, plus, name = text.rpartition("+")
    if not plus or not core:
        return text, None
    from voxlate.engines.voice import ADAPTERS

    if name.strip().lower() not in (*ADAPTERS.names(), NO_POST):
        return text, None
    return core.strip(), name.strip().lower()


def _looks_like_path(text: str) -> bool:
    p = Path(text)
    return p.suffix != "" or p.exists() or "/" in text or "\\" in text
