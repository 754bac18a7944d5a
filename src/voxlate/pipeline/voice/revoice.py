"""Re-voicing a recording in place: speech anonymization without translation.

`revoice` cuts a recording into speech spans (the pipeline's VAD segmentation), gives
each span to a voice stage as both the speech to convert and its source, and writes the
result back at the same place: same words, timing and pauses, another voice. With the
``anonymize`` stage built for source speech (``build_world_stage("anonymize",
revoice_source=True)``) this is the VoicePrivacy task, what `voxlate eval anonymize`
measures as source re-voicing, and what `voxlate voice anonymize` runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from voxlate.audio import Audio, Span
from voxlate.engines.voice.base import VoiceStage

FADE_S = 0.01  # cross-fade between original and converted audio at span edges


def revoice(
    audio: Audio,
    stage: VoiceStage,
    spans: Sequence[Span],
    progress: Callable[[], None] | None = None,
) -> Audio:
    """`audio` with every span in `spans` converted by `stage`; the rest is kept.

    The stage sees the spans in order, so its speaker tracking keeps one voice per
    speaker. Returns audio at the input's rate and length.
    """
    sr = audio.sample_rate
    out = audio.samples.astype(np.float32).copy()
    fade = max(1, int(FADE_S * sr))
    for span in spans:
        i0, i1 = int(span.start * sr), min(len(out), int(span.end * sr))
        if i1 - i0 < 2 * fade:
            continue
        seg = Audio(audio.samples[i0:i1].astype(np.float32), sr)
        y = stage.convert(seg, seg).resample(sr).samples[: i1 - i0]
        y = np.pad(y, (0, i1 - i0 - len(y)))
        w = np.ones(i1 - i0, dtype=np.float32)
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
        w[:fade], w[-fade:] = ramp, ramp[::-1]
        out[i0:i1] = w * y + (1.0 - w) * out[i0:i1]
        if progress is not None:
            progress()
    return Audio(out, sr)
