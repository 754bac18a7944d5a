"""Voice stages that speak through the synthesizer's style (Kokoro), not by re-voicing.

With a `StyledSynthesizer`, the pipeline asks the voice stage for a style before
synthesizing (`StyledVoiceStage.style_for(source)`), and the synthesizer speaks the
translation in that voice directly:

- ``preserve``: a style fitted to each source speaker (online clusters of the source
  embeddings, `SpeakerTracker`), once per speaker and again once when a speaker first
  fitted on under `REFIT_AFTER_S` of speech has been heard that long;
- ``REF.wav``: a style fitted to the reference clip;
- ``anonymize``: per speaker, the tuner's training style least like them
  (`StyleFitter.far_style`), different from those given to other speakers.

`convert` then passes the speech through, or through the WORLD stage given as `post`
(the optional post-step; ``--voice preserve+world``), or, live, through the adapter given
as `later` once it has adapted to the speaker in the background (`adapt_later.py`: the
converter; until then the style alone). `last_voice` says which voice spoke the latest
chunk: ``pack`` (the nearest shipped pack while the style is fitted), ``style``, or
``style+converter``.

In the background mode (live), `style_for` never waits for a fit: it returns the
speaker's style when fitted, else the nearest shipped pack (no synthesis), and starts
the fit on the stage's own worker thread; `reset()` cancels it (between probes).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from voxlate.audio import SAMPLE_RATE, Audio
from voxlate.engines.voice.base import SpeakerEncoder, VoiceStage
from voxlate.engines.voice.style_fit import FitCancelled, FitResult, StyleFitter
from voxlate.pipeline.voice.adapt_later import BackgroundAdapter
from voxlate.pipeline.voice.mode import VoiceMode
from voxlate.pipeline.voice.stages import (
    NO_SPEECH,
    REFIT_AFTER_S,
    PreparingVoice,
    SpeakerTracker,
    SpeakerVoice,
)

STYLED_MODES = ("preserve", "anonymize", "reference")


@runtime_checkable
class StyledVoice(Protocol):
    """A voice stage that chooses the synthesizer's style for each utterance."""

    def style_for(self, source: Audio, speaker: str | None = None) -> np.ndarray | None:
        """The style to speak the translation of `source` with (None: the synthesizer's own);
        `speaker`: its label when the speakers were given up front (`SpeakerVoice.assign`)."""
        ...


@dataclass
class _Fitted:
    """A speaker's style and the fit behind it."""

    pack: np.ndarray  # (510, 256)
    z: np.ndarray  # coordinates
    fitted_on_s: float  # source seconds heard when fitted (inf: final)
    result: FitResult | None = None


class StyledVoiceStage:
    """``preserve`` / ``anonymize`` / reference voice through the synthesizer's style.

    mode: one of `STYLED_MODES`; reference: the clip for ``reference``;
    background: never fit on the caller's thread (live sessions);
    post: an adapter stage (WORLD) applied after synthesis (None: none), `post_name` its
    adapter's name for the spec;
    later: an adapter adapted per speaker in the background and applied once ready (live:
    the converter; preserve and reference only).
    """

    def __init__(
        self,
        mode: str,
        fitter: StyleFitter,
        encoder: SpeakerEncoder,
        reference: Audio | None = None,
        background: bool = False,
        post: VoiceStage | None = None,
        label: str = "",
        post_name: str = "world",
        later: BackgroundAdapter | None = None,
    ) -> None:
        if mode not in STYLED_MODES:
            raise ValueError(f"styled voice mode is one of {STYLED_MODES}, not {mode!r}")
        if later is not None and (mode == "anonymize" or post is not None):
            raise ValueError("a background adapter is for preserve or reference, without post")
        self.mode = mode
        self.fitter = fitter
        self.encoder = encoder
        self.tracker = SpeakerTracker(encoder)
        self.reference = reference
        self._ref_embedding = encoder.embed(reference) if reference is not None else None
        self.background = background
        self.post = post
        self.later = later
        extra = post_name if post is not None else later.name if later is not None else ""
        self.spec = f"{label or mode}:kokoro-style" + (f"+{extra}" if extra else "")
        self.last_voice = "pack"  # which voice spoke the latest converted chunk (see above)
        self._styles: dict[int, _Fitted] = {}  # speaker id -> style (reference: id -1)
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._pool: ThreadPoolExecutor | None = None
        self._pending: dict[int, Future] = {}
        self.fits: list[FitResult] = []  # every completed fit, for reports and evaluation

    # -- speakers known up front (`SpeakerVoice`) ---------------------------------------
    def assign(self, labels: Sequence[str], clips: Sequence[Audio], embeddings: np.ndarray) -> None:
        """The speakers of a whole recording: one style per label, fitted on the mean
        embedding of all of that speaker's utterances (final: never refitted)."""
        with self._lock:
            self.tracker.fix(labels, clips, embeddings)
            self._styles = {k: v for k, v in self._styles.items() if k == -1}
        if isinstance(self.post, SpeakerVoice):  # the post-step's voice too: one per speaker
            self.post.assign(labels, clips, embeddings)

    def voice_of(self, speaker: str) -> str:
        """'kokoro style, probe cosine 0.81, fitted on 23.4 s' (what the report says)."""
        if self.mode == "reference":
            return self.spec
        spk = self.tracker.known.get(speaker)
        fitted = self._styles.get(spk.id) if spk is not None else None
        if spk is None or fitted is None:
            return "not used"
        what = "kokoro style" if self.mode == "preserve" else "kokoro anonymous style"
        sim = fitted.result.similarity if fitted.result is not None else None
        cos = f", probe cosine {sim:.2f}" if sim is not None else ""
        return f"{what}{cos}, from {spk.seconds:.1f} s of speech"

    # -- the capability ----------------------------------------------------------
    def style_for(self, source: Audio, speaker: str | None = None) -> np.ndarray | None:
        """The style for the translation of `source` (see the module docstring)."""
        with self._lock:
            target: np.ndarray
            if self.mode == "reference":
                assert self._ref_embedding is not None  # set from the reference clip
                key, target, heard = -1, self._ref_embedding, float("inf")
            elif speaker is not None and speaker in self.tracker.known:
                spk = self.tracker.known[speaker]
                key, target, heard = spk.id, spk.centroid.copy(), float("inf")
            else:
                if source.duration < 0.1:
                    return None
                spk, _ = self.tracker.assign(source)
                key, target, heard = spk.id, spk.centroid.copy(), spk.seconds
            have = self._styles.get(key)
            if self.mode == "anonymize":
                if have is None:
                    avoid = [f.z for f in self._styles.values()]
                    z = self.fitter.far_style(target, avoid)
                    have = self._styles[key] = _Fitted(self.fitter.space.pack(z), z, heard)
                return have.pack
            stale = have is not None and have.fitted_on_s < REFIT_AFTER_S <= heard
            if have is not None and not stale:
                return have.pack
            if not self.background:
                self._store(key, self.fitter.fit(target), heard)
                return self._styles[key].pack
            if key not in self._pending:
                self._pending[key] = self._executor().submit(self._fit_later, key, target, heard)
            if have is not None:
                return have.pack
            return self.fitter.fit(target, "pack").pack  # nearest pack meanwhile

    def _store(self, key: int, result: FitResult, heard: float) -> None:
        self._styles[key] = _Fitted(result.pack, result.z, heard, result)
        self.fits.append(result)

    def _fit_later(self, key: int, target: np.ndarray, heard: float) -> None:
        cancel = self._cancel
        try:
            result = self.fitter.fit(target, cancel=cancel)
        except FitCancelled:
            return
        with self._lock:
            if not cancel.is_set():
                self._store(key, result, heard)
            self._pending.pop(key, None)

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="style-fit")
        return self._pool

    def wait(self, timeout: float | None = None) -> None:
        """Block until the background fits (and adaptations) started so far are done (tests,
        evaluation)."""
        for f in list(self._pending.values()):
            f.result(timeout)
        if self.later is not None:
            self.later.wait(timeout)

    def prepare(self, speaker: str) -> None:
        """Fit `speaker`'s style (a label given to `assign`), then the post-step's voice
        where it needs no synthesized speech (`PreparingVoice`); the file pipeline calls
        this on a thread of its own while the sentences are translated."""
        if self.background or speaker not in self.tracker.known:
            return
        self.style_for(NO_SPEECH, speaker)
        if isinstance(self.post, PreparingVoice):
            self.post.prepare(speaker)

    # -- VoiceStage ----------------------------------------------------------------
    def convert(self, speech: Audio, source: Audio, speaker: str | None = None) -> Audio:
        """The speech as synthesized, or through the WORLD post-step, or (live) through the
        background adapter once it is ready for this speaker.

        In the background mode this also starts the speaker's fit (the live pipeline's
        warm-up calls convert on the first utterance, spoken in the stock voice)."""
        if self.background and self.mode != "anonymize":
            self.style_for(source, speaker)
        found = self._speaker(source, speaker) if self.background else None
        with self._lock:
            styled = not self.background or (found is not None and found[0] in self._styles)
        self.last_voice = "style" if styled else "pack"
        if self.later is not None:
            if found is None:
                return speech
            key, heard, sample, embedding = found
            params = self.later.params(key, heard, sample, speech, embedding)
            if params is None:
                return speech
            self.last_voice += f"+{self.later.name}"
            return self.later.convert(speech, params)
        if self.post is None:
            return speech
        if speaker is not None and isinstance(self.post, SpeakerVoice):
            return self.post.convert(speech, source, speaker=speaker)  # type: ignore[call-arg]
        return self.post.convert(speech, source)

    def speaking(self, on: bool) -> None:
        """The live pipeline is speaking an utterance (True) or its audio is out (False):
        the background adaptation waits for the latter (`BackgroundAdapter.speaking`)."""
        if self.later is not None:
            self.later.speaking(on)

    def _speaker(
        self, source: Audio, speaker: str | None
    ) -> tuple[int, float, Callable[[], Audio], np.ndarray | None] | None:
        """`source`'s speaker: key, seconds heard, their speech so far, embedding (None
        for a clip too short to place)."""
        with self._lock:
            if self.mode == "reference":
                assert self.reference is not None
                ref = self.reference
                return -1, float("inf"), lambda: ref, self._ref_embedding
            if speaker is not None and speaker in self.tracker.known:
                spk = self.tracker.known[speaker]
                return spk.id, float("inf"), spk.sample, spk.centroid.copy()
            if source.duration < 0.1:
                return None
            spk, _ = self.tracker.assign(source)  # the same source: not embedded again
            return spk.id, spk.seconds, spk.sample, spk.centroid.copy()

    def reset(self) -> None:
        """Forget speakers and cancel running fits (a reference's style is kept)."""
        with self._lock:
            self._cancel.set()
            self._cancel = threading.Event()
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
            self._pending = {}
            self.tracker.reset()
            self._styles = {k: v for k, v in self._styles.items() if k == -1}
        if self.post is not None:
            self.post.reset()
        if self.later is not None and self.mode != "reference":
            self.later.reset()  # a reference's adaptation is kept, as its style


def build_styled_stage(
    mode: VoiceMode,
    synthesizer,  # type: ignore[no-untyped-def]  # a KokoroSynthesizer
    encoder: SpeakerEncoder | None = None,
    background: bool = False,
    config=None,  # type: ignore[no-untyped-def]  # a FitConfig; None: the default
) -> StyledVoiceStage:
    """The styled stage for a voice mode (preserve, anonymize or a reference clip, each
    optionally with a post-step adapter, ``+world``) speaking through `synthesizer`.

    Raises ReferenceVoiceError for a bad reference clip.
    """
    from voxlate.engines.voice.style_fit import FitConfig
    from voxlate.engines.voice.style_probe import ProbeSpeaker
    from voxlate.engines.voice.style_space import default_space
    from voxlate.engines.voice.style_tuner import default_tuner
    from voxlate.pipeline.voice.stages import build_world_stage

    if mode.kind == "tts":
        raise ValueError("the synthesizer's own voice has no styled stage")
    reference = None
    if mode.kind == "reference":
        assert mode.reference is not None  # parse_voice sets it
        from voxlate.pipeline.voice.reference import load_reference

        reference = load_reference(mode.reference)
    if encoder is None:
        from voxlate.engines.voice import ENCODERS

        encoder = ENCODERS.create("resemblyzer")
    cfg = config or FitConfig()
    searches = cfg.method in ("search", "tuner+search") and cfg.evaluations > 0
    transcribe = english_asr() if cfg.wer_penalty > 0 and searches else None
    prober = ProbeSpeaker(synthesizer, encoder, transcribe)
    fitter = StyleFitter(default_space(), default_tuner(), prober, cfg)
    post = later = None
    if mode.post is not None and background and mode.kind in ("preserve", "reference"):
        from voxlate.engines.voice import ADAPTERS

        later = BackgroundAdapter(ADAPTERS.create(mode.post))  # adapted off the critical path
    elif mode.post is not None:  # the adapter stage of the same mode, after synthesis
        post = build_world_stage(mode, encoder=encoder)
    label = mode.kind if mode.kind != "reference" else f"reference:{mode.reference}"
    return StyledVoiceStage(
        mode.kind, fitter, encoder, reference, background, post, label, mode.post or "world", later
    )


def english_asr():  # type: ignore[no-untyped-def]
    """audio -> text with the embedded Whisper tiny.en (the probe's intelligibility)."""
    from voxlate.engines.asr import REGISTRY, default_for

    asr = REGISTRY.create(default_for("en"))

    def transcribe(audio: Audio) -> str:
        return asr.transcribe(audio.resample(SAMPLE_RATE), "en").text

    return transcribe
