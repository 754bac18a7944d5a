"""Voice stages that re-voice synthesized speech with a voice adapter (WORLD).

``build_world_stage(mode)`` takes a parsed ``--voice`` (`mode.py`; the pipeline's entry
is `voxlate.pipeline.voice.build_voice_stage`):

- ``preserve`` (default): each utterance in the voice of whoever said it. Source
  utterances are embedded (Resemblyzer) and clustered online by cosine similarity,
  so several speakers in one recording each keep their own voice; the WORLD adapter
  parameters are fitted once per speaker (cluster) and cached.
- a path to a reference clip (``REF.wav``): every utterance in that voice.
- ``tts``: the synthesizer's own voice, unchanged.
- ``anonymize``: a pseudo-speaker per source speaker, distinct from them and the same
  for every utterance of that speaker in one input: one of a grid of voices derived
  from the source speaker (`DerivedPseudoSpeaker`), chosen by the SpeakerDiff model of
  speaker embeddings when it ships (`speakerdiff.py`), else the candidate least like the
  source (`pseudo.py`). Other generators plug in through `PseudoSpeaker`.

Each stage has `spec` (the report's ``engines.voice``), ``convert(speech, source)``
called once per utterance, and ``reset()`` for a new input or session.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from voxlate.audio import SAMPLE_RATE, Audio
from voxlate.engines.voice.base import SpeakerEncoder, VoiceAdapter, VoiceStage
from voxlate.engines.voice.pseudo import (
    SOURCE_WARPS,
    SPEECH_WARPS,
    DerivedPseudoSpeaker,
    PseudoSpeaker,
    SpeakerDiffPseudoSpeaker,
)
from voxlate.engines.voice.world import VoiceParams, analyze, measure
from voxlate.errors import VoxlateError
from voxlate.pipeline.voice.mode import DEFAULT_VOICE, VoiceMode, parse_voice

SAME_SPEAKER = 0.76  # cosine to a cluster centroid above which an utterance joins it
MAX_SPEAKER_AUDIO_S = 20.0  # seconds of a speaker's source audio kept for fitting
# Similarity search when fitting a speaker: about +0.02-0.03 cosine, but it cost
# several points of English WER in `voxlate eval voice`, so it is off by default.
SEARCH = False
REFIT_AFTER_S = 4.0  # a speaker first fitted on less audio is refitted once this much is heard
# Seconds of a diarized speaker's speech (`SpeakerTracker.fix`) a voice is fitted on: all
# of it up to this cap (the adapter's fit grows with it).
MAX_KNOWN_SPEAKER_AUDIO_S = 60.0


@runtime_checkable
class SpeakerVoice(Protocol):
    """A voice stage that can be told the speakers of a whole recording up front (the file
    pipeline's diarization, `pipeline/diarize.py`): each speaker then gets one voice, fitted
    on all of their speech, and `convert(..., speaker=label)` (and `style_for`) use it.
    Without `assign`, the stage tracks speakers online as live sessions need."""

    def assign(self, labels: Sequence[str], clips: Sequence[Audio], embeddings: np.ndarray) -> None:
        """Speaker `labels[i]` said `clips[i]` (embedded as `embeddings[i]`)."""
        ...

    def voice_of(self, speaker: str) -> str:
        """What the report says of `speaker`'s voice (after it was used)."""
        ...


@runtime_checkable
class PreparingVoice(Protocol):
    """A voice stage that can fit a speaker's voice before their first translation is
    synthesized (the file pipeline calls `prepare` on a thread of its own after diarization,
    while the sentences are translated)."""

    def prepare(self, speaker: str) -> None:
        """Fit the voice of `speaker` (a label given to `assign`) now where that needs no
        synthesized speech; otherwise, or on any error, leave it to the first `convert`."""
        ...


def fits_without_speech(adapter: VoiceAdapter) -> bool:
    """Whether `adapter.fit` ignores its `speech` argument (the trained converter), so that
    a speaker can be fitted before anything is synthesized."""
    return bool(getattr(adapter, "fits_without_speech", False))


NO_SPEECH = Audio(np.zeros(0, dtype=np.float32), SAMPLE_RATE)  # `fit`'s unused speech


# -- speakers -----------------------------------------------------------------
@dataclass
class Speaker:
    """One source speaker found in the input so far."""

    id: int
    centroid: np.ndarray  # mean of member embeddings, L2-normalised, (dim,)
    n: int = 1  # utterances assigned
    audio: list[Audio] = field(default_factory=list)  # their source audio, up to the cap
    seconds: float = 0.0  # source audio held in `audio`
    params: VoiceParams | None = None  # fitted adapter parameters
    fitted_on_s: float = 0.0  # source seconds the parameters were fitted on

    def add(self, emb: np.ndarray, source: Audio) -> None:
        c = self.centroid * self.n + emb
        self.n += 1
        self.centroid = c / max(float(np.linalg.norm(c)), 1e-9)
        self.keep(source)

    def keep(self, source: Audio) -> None:
        if self.seconds < MAX_SPEAKER_AUDIO_S:
            self.audio.append(source)
            self.seconds += source.duration

    def sample(self) -> Audio:
        """All kept source audio of this speaker as one clip (at the first clip's rate)."""
        sr = max(a.sample_rate for a in self.audio)
        return Audio(np.concatenate([a.resample(sr).samples for a in self.audio]), sr)


class SpeakerTracker:
    """Online clustering of utterances into speakers by cosine similarity of embeddings.

    threshold: an utterance joins the most similar speaker when its cosine to that
        speaker's centroid is at least this; otherwise it starts a new speaker.
    `fix` gives it the speakers of a whole recording instead (`known`, by label).
    """

    def __init__(self, encoder: SpeakerEncoder, threshold: float = SAME_SPEAKER) -> None:
        self.encoder = encoder
        self.threshold = threshold
        self.speakers: list[Speaker] = []
        self.known: dict[str, Speaker] = {}  # label -> speaker, from `fix`
        self._last: tuple[Audio, Speaker, np.ndarray] | None = None

    def fix(self, labels: Sequence[str], clips: Sequence[Audio], embeddings: np.ndarray) -> None:
        """The speakers are known: one `Speaker` per label, its centroid the mean of its
        utterances' embeddings, its audio all of its clips up to `MAX_KNOWN_SPEAKER_AUDIO_S`
        (longest first, then in order)."""
        self.reset()
        for name in dict.fromkeys(labels):
            rows = [i for i, s in enumerate(labels) if s == name]
            c = np.asarray(embeddings)[rows].mean(axis=0)
            spk = Speaker(len(self.speakers), c / max(float(np.linalg.norm(c)), 1e-9))
            spk.n = len(rows)
            kept: list[int] = []
            secs = 0.0
            for i in sorted(rows, key=lambda i: -clips[i].duration):
                if secs + clips[i].duration > MAX_KNOWN_SPEAKER_AUDIO_S and kept:
                    continue
                kept.append(i)
                secs += clips[i].duration
            spk.audio = [clips[i] for i in sorted(kept)]
            spk.seconds = secs
            self.speakers.append(spk)
            self.known[name] = spk

    def speaker(self, source: Audio, label: str | None) -> Speaker:
        """The known speaker `label` when given and known, else `assign(source)`'s."""
        if label is not None and label in self.known:
            return self.known[label]
        return self.assign(source)[0]

    def assign(self, source: Audio) -> tuple[Speaker, np.ndarray]:
        """The speaker of `source` (new or known) and the utterance's embedding.

        The same `source` object given again (a streamed utterance spoken in several
        chunks) returns the same speaker without embedding or counting it twice.
        """
        if self._last is not None and self._last[0] is source:
            return self._last[1], self._last[2]
        spk, emb = self._assign(source)
        self._last = (source, spk, emb)
        return spk, emb

    def _assign(self, source: Audio) -> tuple[Speaker, np.ndarray]:
        emb = self.encoder.embed(source)
        if self.speakers:
            sims = [float(np.dot(s.centroid, emb)) for s in self.speakers]
            best = int(np.argmax(sims))
            if sims[best] >= self.threshold:
                spk = self.speakers[best]
                spk.add(emb, source)
                return spk, emb
        spk = Speaker(len(self.speakers), emb.copy())
        spk.keep(source)
        self.speakers.append(spk)
        return spk, emb

    def reset(self) -> None:
        self.speakers = []
        self.known = {}
        self._last = None


# -- stages -------------------------------------------------------------------
class PlainVoice:
    """``--voice tts``: the synthesizer's own voice."""

    spec = "tts"

    def convert(self, speech: Audio, source: Audio, speaker: str | None = None) -> Audio:
        return speech

    def reset(self) -> None:
        pass


class PreserveVoice:
    """``--voice preserve``: every utterance in the voice of its own source speaker."""

    def __init__(self, encoder: SpeakerEncoder, adapter: VoiceAdapter) -> None:
        self.encoder = encoder
        self.adapter = adapter
        self.tracker = SpeakerTracker(encoder)
        self.spec = f"preserve:world+{getattr(encoder, 'engine_name', 'encoder')}"
        self._lock = threading.Lock()

    def assign(self, labels: Sequence[str], clips: Sequence[Audio], embeddings: np.ndarray) -> None:
        with self._lock:
            self.tracker.fix(labels, clips, embeddings)

    def voice_of(self, speaker: str) -> str:
        spk = self.tracker.known.get(speaker)
        if spk is None or spk.params is None:
            return "not used"
        return f"{self.adapter.name} fitted on {spk.fitted_on_s:.1f} s"

    def prepare(self, speaker: str) -> None:
        if not fits_without_speech(self.adapter):
            return
        with self._lock:
            spk = self.tracker.known.get(speaker)
            if spk is None or spk.params is not None or not spk.audio:
                return
            with contextlib.suppress(VoxlateError):  # the first convert will say it
                spk.params = self.adapter.fit(NO_SPEECH, spk.sample(), spk.centroid)
                spk.fitted_on_s = spk.seconds

    def convert(self, speech: Audio, source: Audio, speaker: str | None = None) -> Audio:
        if speech.duration < 0.1 or (source.duration < 0.1 and speaker is None):
            return speech
        with self._lock:
            spk = self.tracker.speaker(source, speaker)
            refit = spk.fitted_on_s < REFIT_AFTER_S <= spk.seconds
            if spk.params is None or refit:
                spk.params = self.adapter.fit(speech, spk.sample(), spk.centroid)
                spk.fitted_on_s = spk.seconds
            params = spk.params
        return self.adapter.convert(speech, params)

    def reset(self) -> None:
        with self._lock:
            self.tracker.reset()


class ReferenceVoice:
    """``--voice REF.wav``: every utterance in the voice of one reference clip."""

    def __init__(
        self, reference: Audio, path: str, adapter: VoiceAdapter, encoder: SpeakerEncoder | None
    ) -> None:
        self.reference = reference
        self.adapter = adapter
        self.embedding = encoder.embed(reference) if encoder is not None else None
        self.spec = f"reference:{path}"
        self._params: VoiceParams | None = None
        self._lock = threading.Lock()

    def prepare(self, speaker: str) -> None:
        if not fits_without_speech(self.adapter):
            return
        with self._lock, contextlib.suppress(VoxlateError):
            if self._params is None:
                self._params = self.adapter.fit(NO_SPEECH, self.reference, self.embedding)

    def convert(self, speech: Audio, source: Audio, speaker: str | None = None) -> Audio:
        if speech.duration < 0.1:
            return speech
        with self._lock:
            if self._params is None:
                self._params = self.adapter.fit(speech, self.reference, self.embedding)
            params = self._params
        return self.adapter.convert(speech, params)

    def reset(self) -> None:
        """The reference stays; its fitted parameters are kept (same synthesizer voice)."""


class AnonymousVoice:
    """``--voice anonymize``: one consistent pseudo-speaker per source speaker."""

    spec = "anonymize:world-derived"

    def __init__(
        self, encoder: SpeakerEncoder, adapter: VoiceAdapter, pseudo: PseudoSpeaker | None = None
    ) -> None:
        self.adapter = adapter
        self.pseudo = pseudo or DerivedPseudoSpeaker(encoder)
        self.tracker = SpeakerTracker(encoder)
        self._lock = threading.Lock()

    def assign(self, labels: Sequence[str], clips: Sequence[Audio], embeddings: np.ndarray) -> None:
        with self._lock:
            self.tracker.fix(labels, clips, embeddings)

    def voice_of(self, speaker: str) -> str:
        spk = self.tracker.known.get(speaker)
        return "not used" if spk is None or spk.params is None else "pseudo-speaker"

    def convert(self, speech: Audio, source: Audio, speaker: str | None = None) -> Audio:
        if speech.duration < 0.1 or (source.duration < 0.1 and speaker is None):
            return speech
        with self._lock:
            spk = self.tracker.speaker(source, speaker)
            if spk.params is None:
                src_stats = measure(analyze(spk.sample()))
                spk.params = self.pseudo.params(src_stats, spk.centroid, speech)
            params = spk.params
        return self.adapter.convert(speech, params)

    def reset(self) -> None:
        with self._lock:
            self.tracker.reset()


def build_world_stage(
    mode: VoiceMode | str = DEFAULT_VOICE,
    encoder: SpeakerEncoder | None = None,
    adapter: VoiceAdapter | None = None,
    revoice_source: bool = False,
) -> VoiceStage:
    """The adapter stage for a voice mode (`parse_voice`): preserve, tts, anonymize, or a
    reference clip; re-voices the synthesized speech once per utterance.

    encoder, adapter: engines to use (default: Resemblyzer, and the adapter the mode
        names, else WORLD, without similarity search, see SEARCH, both from their
        registries); built once here, reused per utterance.
    revoice_source: the stage will convert the source speech itself rather than
        synthesized speech (`voxlate voice anonymize`); anonymize then uses SOURCE_WARPS.
    Raises InputError for an unknown mode and ReferenceVoiceError for a bad clip.
    """
    m = parse_voice(mode) if isinstance(mode, str) else mode
    if m.kind == "tts":
        return PlainVoice()
    reference = None
    if m.kind == "reference":
        assert m.reference is not None  # parse_voice sets it
        from voxlate.pipeline.voice.reference import load_reference

        reference = load_reference(m.reference)  # checks the clip before any model loads
    if encoder is None:
        from voxlate.engines.voice import ENCODERS

        encoder = ENCODERS.create("resemblyzer")
    if adapter is None:
        from voxlate.engines.voice import ADAPTERS

        name = m.post or "world"
        adapter = ADAPTERS.create(f"{name}:search" if SEARCH else name)
    if m.kind == "preserve":
        return PreserveVoice(encoder, adapter)
    if m.kind == "anonymize":
        # The SpeakerDiff model shipped in the package draws the pseudo-speaker when present.
        from voxlate.engines.voice.speakerdiff import default_model_path

        warps = SOURCE_WARPS if revoice_source else SPEECH_WARPS
        if default_model_path() is not None:
            pseudo = SpeakerDiffPseudoSpeaker(encoder, warps=warps)
            stage = AnonymousVoice(encoder, adapter, pseudo)
            stage.spec = "anonymize:speakerdiff"
            return stage
        return AnonymousVoice(encoder, adapter, DerivedPseudoSpeaker(encoder, warps))
    assert reference is not None and m.reference is not None
    return ReferenceVoice(reference, m.reference, adapter, encoder)
