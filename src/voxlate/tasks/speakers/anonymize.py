"""Pseudo-speakers from SpeakerDiff for ``--voice anonymize``.

`sample_pseudo_speaker` draws embeddings from a SpeakerDiff model and rejects every sample
whose cosine distance to the source speaker is below `min_distance` (rejection sampling:
the accepted sample is distributed as the model restricted to {e : 1 - cos(e, s) >= d}).
`SpeakerDiffPseudoSpeaker` implements the voice engine's `PseudoSpeaker` seam: of the
derived pseudo-voices (`DerivedPseudoSpeaker.candidates`), it keeps the half whose output is
least like the source speaker and picks the one the speaker encoder places closest to the
sampled embedding. The candidates' warps are bounded (see `SOURCE_WARPS`, `SPEECH_WARPS` in
voxlate.engines.voice.modes) to keep speech intelligible to the English ASR; an open-ended
parameter search towards the sample reached warps of 0.89 and cost English WER for no
privacy gain.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from voxlate.engines.voice.modes import SPEECH_WARPS, DerivedPseudoSpeaker
from voxlate.errors import InputError

DEFAULT_MODEL = Path(__file__).with_name("speakerdiff.pt")  # shipped default, when present
MIN_DISTANCE = 0.3  # default cosine distance (1 - cos) a pseudo-speaker keeps from the source

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
        min_distance: float = MIN_DISTANCE,
        seed: int | None = None,
        warps: tuple[float, ...] = SPEECH_WARPS,
    ) -> None:
        load_model(model_path)  # fail early with one sentence when there is no model
        self.derived = DerivedPseudoSpeaker(encoder, warps)  # the candidate grid
        self.model_path = model_path
        self.min_distance = min_distance
        self.rng = np.random.default_rng(seed)
        self.last_target: np.ndarray | None = None  # the embedding chosen last (for reports)

    def params(self, source: Any, source_embedding: np.ndarray, tts_sample: Any) -> Any:
        cands, embs = self.derived.outputs(source, tts_sample)
        to_source = embs @ np.asarray(source_embedding, dtype=np.float32)
        far = np.nonzero(to_source <= np.median(to_source))[0]
        target = sample_pseudo_speaker(
            source_embedding, self.model_path, self.min_distance, seed=int(self.rng.integers(2**31))
        )
        self.last_target = target
        return cands[int(far[np.argmax(embs[far] @ target)])]
