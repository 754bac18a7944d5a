"""Pseudo-speakers for ``--voice anonymize``: which new voice replaces a source speaker.

`DerivedPseudoSpeaker` derives a grid of candidate voices from the source speaker and
keeps the one least like it. `SpeakerDiffPseudoSpeaker` (the default when the SpeakerDiff
model ships, `speakerdiff.py`): of the derived candidates it keeps the half whose output
is least like the source speaker and picks the one the speaker encoder places closest to
an embedding sampled from SpeakerDiff. The candidates' warps are bounded (`SOURCE_WARPS`,
`SPEECH_WARPS`) to keep speech intelligible to the English ASR; an open-ended parameter
search towards the sample reached warps of 0.89 and cost English WER for no privacy gain.
"""

from __future__ import annotations

import os
from typing import Any, Protocol, runtime_checkable

import numpy as np

from voxlate.audio import Audio
from voxlate.engines.voice.base import SpeakerEncoder
from voxlate.engines.voice.world import (
    SEARCH_SECONDS,
    VoiceParams,
    VoiceStats,
    analyze,
)
from voxlate.engines.voice.world import convert as world_convert


@runtime_checkable
class PseudoSpeaker(Protocol):
    """Chooses the pseudo-voice that replaces one source speaker (``--voice anonymize``).

    The seam for a generative speaker model (e.g. a diffusion model of speaker
    embeddings): an implementation may sample an embedding far from
    `source_embedding` and return the parameters whose output is closest to it.
    """

    def params(
        self, source: VoiceStats, source_embedding: np.ndarray, tts_sample: Audio
    ) -> VoiceParams:
        """Adapter parameters of the pseudo-voice for a speaker measured as `source`.

        source_embedding: the speaker's embedding (L2-normalised);
        tts_sample: a sample of the synthesizer's voice, as the adapter will receive it.
        """
        ...


# The pseudo-voice grid (`DerivedPseudoSpeaker`). Re-voicing a *source* recording uses
# upward warps only: in `voxlate eval anonymize`, a uniform warp of 0.9 on source speech
# cost 6.5 points of English WER while 1.2 cost none, and these candidates gave an ignorant
# attacker's EER of 31-34 % (the 0.93/1.07 grid: 22 %). On *synthesized* speech (Piper joe,
# the translation path) the same grid cost 7.6 points of WER over the plain voice, so that
# path keeps the mild grid, which cost about 2 points.
SOURCE_WARPS = (1.15, 1.22, 1.3)  # vocal-tract warp: a shorter tract, every formant raised
SPEECH_WARPS = (0.93, 1.07)  # warps for synthesized speech
PSEUDO_F0_STEPS = (-6.0, -3.0, 3.0, 6.0)  # semitones from the source speaker's mean F0
PSEUDO_TILTS = (-4.0, 4.0)  # spectral tilt, dB per octave


class DerivedPseudoSpeaker:
    """A pseudo-voice derived deterministically from the source speaker.

    Candidate voices (`candidates`) move the synthesizer's (or the source's) voice to
    F0 at -6, -3, +3 or +6 semitones from the source speaker's mean, each vocal-tract
    warp of `warps` and a darker or brighter tilt; the F0 range is the
    speech's own (the source's range is an identity cue). The candidate whose output
    the encoder finds least similar to the source speaker (on the first utterance) is
    chosen, once per speaker; no source timbre (equaliser, codebook) is copied. The
    candidates are a function of the speaker alone; which one wins can differ between
    runs when the synthesizer's output varies (Piper samples noise).
    """

    def __init__(self, encoder: SpeakerEncoder, warps: tuple[float, ...] = SPEECH_WARPS) -> None:
        self.encoder = encoder
        self.warps = warps

    def candidates(self, source: VoiceStats) -> list[VoiceParams]:
        """The deterministic candidate pseudo-voices for a speaker measured as `source`."""
        return [
            VoiceParams(f0_mean=float(source.f0_mean + st * np.log(2) / 12), warp=w, tilt=t)
            for w in self.warps
            for st in PSEUDO_F0_STEPS
            for t in PSEUDO_TILTS
        ]

    def outputs(self, source: VoiceStats, speech: Audio) -> tuple[list[VoiceParams], np.ndarray]:
        """The candidates and the embeddings (n, dim) of `speech` converted by each."""
        an = analyze(speech.slice(0.0, SEARCH_SECONDS))  # only what the search converts
        cands = self.candidates(source)
        return cands, np.stack([self.encoder.embed(world_convert(an, p)) for p in cands])

    def params(
        self, source: VoiceStats, source_embedding: np.ndarray, tts_sample: Audio
    ) -> VoiceParams:
        cands, embs = self.outputs(source, tts_sample)
        return cands[int(np.argmin(embs @ source_embedding))]


class SpeakerDiffPseudoSpeaker:
    """`PseudoSpeaker` for ``--voice anonymize``, from SpeakerDiff.

    params(source, source_embedding, tts_sample): convert `tts_sample` with each derived
    candidate pseudo-voice, keep the half least similar to `source_embedding`, sample a
    target embedding at cosine distance >= `min_distance` from it, and return the kept
    candidate whose output is closest to the target. The choice is among voices already
    unlike the source, so the sample decides *which* new voice, not whether it is new.
    """

    def __init__(
        self,
        encoder: Any,
        model_path: str | os.PathLike | None = None,
        min_distance: float | None = None,
        seed: int | None = None,
        warps: tuple[float, ...] = SPEECH_WARPS,
    ) -> None:
        from voxlate.engines.voice.speakerdiff import MIN_DISTANCE, load_model

        load_model(model_path)  # fail early with one sentence when there is no model
        self.derived = DerivedPseudoSpeaker(encoder, warps)  # the candidate grid
        self.model_path = model_path
        self.min_distance = MIN_DISTANCE if min_distance is None else min_distance
        self.rng = np.random.default_rng(seed)
        self.last_target: np.ndarray | None = None  # the embedding chosen last (for reports)

    def params(self, source: Any, source_embedding: np.ndarray, tts_sample: Any) -> Any:
        from voxlate.engines.voice.speakerdiff import sample_pseudo_speaker

        cands, embs = self.derived.outputs(source, tts_sample)
        to_source = embs @ np.asarray(source_embedding, dtype=np.float32)
        far = np.nonzero(to_source <= np.median(to_source))[0]
        target = sample_pseudo_speaker(
            source_embedding, self.model_path, self.min_distance, seed=int(self.rng.integers(2**31))
        )
        self.last_target = target
        return cands[int(far[np.argmax(embs[far] @ target)])]
