"""The voice route: ``--voice`` text -> `VoiceMode` (`mode.py`) -> `build_voice_stage` -> a stage.

The stages keep per-speaker state and own the calls between engine kinds (speaker
encoder, voice adapter, synthesizer, VAD for reference checks):

- `stages.py`: re-voicing after synthesis with a voice adapter (WORLD): `PreserveVoice`,
  `ReferenceVoice`, `AnonymousVoice`, `PlainVoice`, the online `SpeakerTracker`;
- `styled.py`: speaking through the synthesizer's style (Kokoro), `StyledVoiceStage`;
- `post.py`: the adapter after Kokoro's style when ``--voice`` names none (the converter);
- `adapt_later.py`: live, that adapter adapted per speaker on a niced background thread;
- `reference.py`: the checks on a reference clip; `revoice.py`: re-voicing a recording
  in place (`voxlate voice anonymize`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from voxlate.pipeline.voice.mode import NO_POST, VoiceMode, parse_voice

if TYPE_CHECKING:  # kept out of the import: `--help` reads mode.py through this package
    from voxlate.engines.voice.base import SpeakerEncoder, VoiceStage


def build_voice_stage(
    mode: VoiceMode | str,
    synthesizer: Any = None,
    live: bool = False,
    encoder: SpeakerEncoder | None = None,
) -> VoiceStage | None:
    """The voice stage of `mode` for `synthesizer`; None for the synthesizer's own voice.

    With a synthesizer that takes styles (Kokoro), preserve / anonymize / REF.wav speak
    through a fitted style (`styled.py`; fitted in the background when `live`), and
    ``MODE+ADAPTER`` adds that adapter's stage after it (no ``+ADAPTER``: `post.py`'s
    default, the trained converter for preserve / REF.wav on a recording when it loads;
    ``+none``: none); otherwise the adapter stage (`stages.py`, WORLD unless the mode
    names another adapter).

    encoder: the speaker encoder to use (the server shares one); None: Resemblyzer.
    """
    from voxlate.engines.tts.base import StyledSynthesizer

    m = parse_voice(mode) if isinstance(mode, str) else mode
    if m.kind == "tts":
        return None
    if isinstance(synthesizer, StyledSynthesizer):
        from voxlate.pipeline.voice.post import default_post
        from voxlate.pipeline.voice.styled import build_styled_stage

        post = default_post(m.kind, live) if m.post is None else m.post
        m = replace(m, post=None if post == NO_POST else post)
        return build_styled_stage(m, synthesizer, encoder=encoder, background=live)
    from voxlate.pipeline.voice.stages import build_world_stage

    # without styles the adapter stage is the voice (WORLD unless named; ``+none`` too)
    return build_world_stage(replace(m, post=None) if m.post == NO_POST else m, encoder=encoder)


__all__ = ["VoiceMode", "build_voice_stage", "parse_voice"]
