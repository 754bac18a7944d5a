"""The server's live voice, chosen at start-up by measuring the default synthesizer here.

Kokoro is the live default for the languages it speaks (`pipeline.engines.LIVE_TTS`), but
on a machine too slow for it a listener would wait seconds for every sentence. At start-up
the server times one short Kokoro call (after one untimed call that pays ONNX Runtime's
first-run set-up) and keeps Kokoro when its real-time factor is under
`LIVE_MAX_RTF`, else speaks live in eSpeak NG (`live_tts_choice`). The choice is printed on
stderr and reported by ``/v1/health`` (``live_tts``). A synthesizer named with ``--tts`` is
used as it is: no measurement, no fallback.
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

from voxlate.pipeline.engines import LIVE_FALLBACK_TTS, default_tts, live_tts_choice
from voxlate.server.pool import EnginePool

PROBE_TEXT = "Uno, dos, tres, cuatro."  # a short live clause
PROBE_LANGUAGE = "es"  # the speed is the machine's; any language the synthesizer speaks


@dataclass(frozen=True)
class LiveVoice:
    """The live synthesizer chosen for `language`, and how."""

    language: str
    spec: str  # the synthesizer live sessions get
    default: str  # the default it was chosen against
    rtf: float | None  # the measured real-time factor (None: not measured)
    message: str  # the sentence printed at start-up

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["rtf"] = None if self.rtf is None else round(self.rtf, 3)
        return d


def real_time_factor(synthesizer: Any, language: str, text: str = PROBE_TEXT) -> float:
    """Wall seconds of one call of `synthesizer` on `text` per second of speech it made
    (one untimed call first); inf when it made no speech."""
    for _ in synthesizer.synthesize(text, language):
        pass
    t0 = time.perf_counter()
    speech = sum(chunk.duration for chunk in synthesizer.synthesize(text, language))
    wall = time.perf_counter() - t0
    return wall / speech if speech > 0 else float("inf")


def choose_live_voice(pool: EnginePool, language: str) -> LiveVoice | None:
    """Measure the default live synthesizer for `language` and tell `pool` to use eSpeak NG
    instead when it is too slow here; None when the server's ``--tts`` names one (or the
    pool is not a live one)."""
    if pool.specs.tts is not None or not pool.specs.live:
        return None
    default = default_tts(language, live=True)
    if default == LIVE_FALLBACK_TTS:
        return LiveVoice(language, default, default, None, f"live voice: {default}")
    synthesizer, lock = pool.shared("tts", default)
    probe = PROBE_LANGUAGE if PROBE_LANGUAGE in synthesizer.languages() else language
    with lock:
        rtf = real_time_factor(synthesizer, probe)
    spec, message = live_tts_choice(default, rtf)
    if spec != default:
        pool.too_slow_tts.add(default)
    return LiveVoice(language, spec, default, rtf, message)


def announce(choice: LiveVoice | None) -> None:
    """Print the choice on stderr (one line)."""
    if choice is not None:
        print(choice.message, file=sys.stderr, flush=True)
