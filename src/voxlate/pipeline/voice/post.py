"""Which voice adapter re-voices Kokoro's styled speech when ``--voice`` names none.

``--voice preserve`` and ``--voice REF.wav`` for a recording: the trained converter
(`engines/voice/converter.py`, adapter ``converter``) after Kokoro's style, when it is
installed and its checkpoint loads; otherwise the style alone, as before the converter,
with one ``note:`` on stderr saying why. ``MODE+NAME`` picks an adapter explicitly and
``MODE+none`` turns the post-step off.

Live (and the server's sessions): the converter too (`LIVE_DEFAULT_POST`), adapted per
speaker in the background (`adapt_later.py`: a niced thread, once 5 s of their speech was
heard), so it never waits on the adaptation (3.5 CPU-s median per speaker); until it is
ready the speaker's utterances are spoken in the fitted style alone. Once ready, each
chunk's conversion is on the critical path: about 0.05 CPU-s per second of speech
(docs/voice.md "Live default").

``anonymize`` keeps its own route (a pseudo-speaker's WORLD parameters): no default
post-step, so its guarantees (similarity to the source <= 0.6, one voice per speaker)
stay as tested.
"""

from __future__ import annotations

import functools
import sys

CONVERTER = "converter"  # the adapter name the converter registers
DEFAULT_POST_MODES = ("preserve", "reference")  # the modes a recording re-voices by default
FILE_ADAPT_BUDGET_S = 30.0  # the converter's adaptation budget per speaker (CPU s, issue 24)
# The live post-step of preserve / REF.wav (None: the style alone); see docs/voice.md.
LIVE_DEFAULT_POST: str | None = CONVERTER


@functools.cache
def converter_unavailable(name: str = CONVERTER) -> str:
    """Why the adapter `name` cannot be the default ('' when it loads); loaded once per
    process (the stage builds its own instance)."""
    from voxlate.engines.voice import ADAPTERS

    if name not in ADAPTERS.names():
        return f"no voice adapter '{name}' is installed"
    from voxlate.errors import MissingDependencyError

    try:
        ADAPTERS.create(name)
    except MissingDependencyError:
        return f"no {name} checkpoint is installed (voxlate voice train-converter makes one)"
    except Exception as e:  # an unreadable checkpoint: the style alone, said once
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return f"the {name} did not load ({first.rstrip('.')})"
    return ""


def default_post(kind: str, live: bool) -> str | None:
    """The adapter after Kokoro's style for a mode of `kind` that names none (None: none)."""
    if kind not in DEFAULT_POST_MODES or (live and LIVE_DEFAULT_POST is None):
        return None
    why = converter_unavailable()
    if why:
        _note(f"note: voice {kind} with Kokoro's style alone, not the converter: {why}.")
        return None
    return CONVERTER


_TOLD: set[str] = set()


def _note(text: str) -> None:
    if text not in _TOLD:
        _TOLD.add(text)
        print(text, file=sys.stderr, flush=True)
