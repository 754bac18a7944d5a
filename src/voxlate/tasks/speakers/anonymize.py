"""Pseudo-speakers from SpeakerDiff for ``--voice anonymize``.

`sample_pseudo_speaker` draws embeddings from a SpeakerDiff model and rejects every sample
whose cosine distance to the source speaker is below `min_distance` (rejection sampling:
the accepted sample is distributed as the model restricted to {e : 1 - cos(e, s) >= d}).
`SpeakerDiffPseudoSpeaker` implements the voice engine's `PseudoSpeaker` seam: it starts
from the deterministic derived pseudo-voice and lets the WORLD adapter search for the
parameters whose output the speaker encoder places closest to the sampled embedding, then
keeps the vocal-tract warp within `WARP_LIMITS` and the converted speech's own F0 range.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from voxlate.errors import InputError

DEFAULT_MODEL = Path(__file__).with_name("speakerdiff.pt")  # shipped default, when present
MIN_DISTANCE = 0.3  # default cosine distance (1 - cos) a pseudo-speaker keeps from the source
# Vocal-tract warp a pseudo-voice may use on synthesized speech. The search reached 0.89 / 1.11,
# which cost about 1.7 points of English WER on the product path (`voxlate eval anonymize`,
# speakerdiff-tts, mean of 5 TTS draws) for no privacy gain: the attacker's EER stayed at
# chance. Re-voicing *source* speech is different: there the wider warp masks the source's
# timbre (ignorant EER 20.5 % vs 15.2 % clipped, mean of 4 seeds), so the eval passes None.
WARP_LIMITS = (0.93, 1.07)

_MODELS: dict[str, Any] = {}
_LOCK = threading.Lock()


def default_model_path() -> Path | None:
    """The SpeakerDiff model shipped in the package, or None when it is absent."""
    return DEFAULT_MODEL if DEFAULT_MODEL.is_file() else None


def load_model(path: str | os.PathLike | None = None):  # -> SpeakerDiff
    """Load (once per process) the SpeakerDiff model at `path`, or the shipped default."""
    from voxlate.tasks.speakers.model import SpeakerDiff

    p = Path(path) if path is not None else default_model_path()
    if p is None:
        raise InputError(
            "No SpeakerDiff model: train one with 'voxlate speakers train' and pass --model."
        )
    key = str(p.resolve())
    with _LOCK:
        if key not in _MODELS:
            _MODELS[key] = SpeakerDiff.load(p)
        return _MODELS[key]


def sample_pseudo_speaker(
    source_embedding: np.ndarray,
    model_path: str | os.PathLike | None = None,
    min_distance: float = MIN_DISTANCE,
    batch: int = 32,
    max_batches: int = 20,
    seed: int | None = None,
    steps: int = 50,
) -> np.ndarray:
    """A unit speaker embedding (D,) from SpeakerDiff with 1 - cos(e, source) >= min_distance.

    Candidates are drawn `batch` at a time; the first accepted one is returned. Raises
    InputError when `max_batches` batches give no accepted sample (min_distance too large).
    """
    model = load_model(model_path)
    src = np.asarray(source_embedding, dtype=np.float32).reshape(-1)
    if src.shape[0] != model.config.dim:
        raise InputError(
            f"The source embedding has {src.shape[0]} dimensions; the model makes {model.config.dim}."
        )
    src = src / max(float(np.linalg.norm(src)), 1e-9)
    rng = np.random.default_rng(seed)
    for _ in range(max_batches):
        cand = model.sample(batch, steps=steps, seed=int(rng.integers(2**31)))
        ok = np.nonzero(1.0 - cand @ src >= min_distance)[0]
        if len(ok):
            return cand[ok[0]]
    raise InputError(
        f"No pseudo-speaker at cosine distance >= {min_distance} from the source after "
        f"{batch * max_batches} samples; lower min_distance."
    )


class SpeakerDiffPseudoSpeaker:
    """`PseudoSpeaker` (voxlate.engines.voice.modes) for ``--voice anonymize``, from SpeakerDiff.

    params(source, source_embedding, tts_sample): sample a target embedding at cosine
    distance >= `min_distance` from `source_embedding`, start from the derived pseudo-voice
    (`DerivedPseudoSpeaker`, already chosen to be unlike the source) and let
    `WorldAdapter.refine` move the adapter parameters towards the sampled embedding. The
    warp is then clipped to `warp_limits` (None: only the adapter's own bounds), and the F0
    range (std of ln F0) is the converted speech's own rather than the source speaker's, which
    is an identity cue.
    """

    def __init__(
        self,
        adapter: Any,
        model_path: str | os.PathLike | None = None,
        min_distance: float = MIN_DISTANCE,
        seed: int | None = None,
        warp_limits: tuple[float, float] | None = WARP_LIMITS,
    ) -> None:
        load_model(model_path)  # fail early with one sentence when there is no model
        self.adapter = adapter
        self.model_path = model_path
        self.min_distance = min_distance
        self.warp_limits = warp_limits
        self.rng = np.random.default_rng(seed)
        self.last_target: np.ndarray | None = None  # the embedding chosen last (for reports)

    def params(self, source: Any, source_embedding: np.ndarray, tts_sample: Any) -> Any:
        from voxlate.engines.voice.modes import DerivedPseudoSpeaker

        start = DerivedPseudoSpeaker(self.adapter.encoder).params(
            source, source_embedding, tts_sample
        )
        target = sample_pseudo_speaker(
            source_embedding, self.model_path, self.min_distance, seed=int(self.rng.integers(2**31))
        )
        self.last_target = target
        p = self.adapter.refine(tts_sample, start, target)
        warp = float(np.clip(p.warp, *self.warp_limits)) if self.warp_limits else p.warp
        return dataclasses.replace(p, warp=warp, f0_std=None)
