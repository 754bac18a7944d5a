"""Voice modes: preserve, reference clip, tts, anonymize; reference-clip errors."""

from __future__ import annotations

import numpy as np
import pytest

from voxlate.audio import Audio, load_audio, save_audio
from voxlate.engines.voice.base import VoiceStage
from voxlate.engines.voice.pseudo import DerivedPseudoSpeaker
from voxlate.engines.voice.world import WorldAdapter
from voxlate.errors import InputError, VoxlateError
from voxlate.pipeline.voice.reference import (
    ReferenceVoiceError,
    ShortReferenceError,
    SilentReferenceError,
)
from voxlate.pipeline.voice.stages import build_world_stage as build_voice_stage


def test_tts_mode_is_identity(joe_speech, librivox_clip):
    stage = build_voice_stage("tts")
    assert isinstance(stage, VoiceStage) and stage.spec == "tts"
    assert stage.convert(joe_speech, load_audio(librivox_clip)) is joe_speech


def test_unknown_mode():
    with pytest.raises(InputError, match="Unknown voice"):
        build_voice_stage("robotic")


def test_preserve_matches_each_utterance_to_its_speaker(encoder, synth, librivox, cards):
    adapter = WorldAdapter(encoder, search=False)
    stage = build_voice_stage("preserve", encoder, adapter)
    assert stage.spec.startswith("preserve")
    sources = [load_audio(librivox[0][0]), load_audio(cards[4][0]), load_audio(librivox[2][0])]
    speech = synth("four of clubs")
    outs = [stage.convert(speech, s) for s in sources]
    assert len(stage.tracker.speakers) == 2  # the third utterance is the first speaker again
    assert adapter.n_fits == 2
    sims = [float(encoder.embed(o) @ encoder.embed(s)) for o, s in zip(outs, sources)]
    stock = [float(encoder.embed(speech) @ encoder.embed(s)) for s in sources]
    assert np.mean(sims) > np.mean(stock)
    # The LibriVox reader (7 s of speech to fit on) is clearly closer; the cards speaker's
    # 1-3 s clips are not always (a known weakness, see docs/voice.md).
    assert sims[0] > stock[0] + 0.05 and sims[2] > stock[2] + 0.05
    assert all(len(o.samples) == len(speech.samples) for o in outs)
    stage.reset()
    assert stage.tracker.speakers == []


def test_reference_clip_mode(encoder, joe_speech, librivox, cards, tmp_path):
    ref = tmp_path / "ref.wav"
    save_audio(ref, load_audio(librivox[3][0]))
    stage = build_voice_stage(str(ref), encoder, WorldAdapter(encoder, search=False))
    assert stage.spec == f"reference:{ref}"
    out = stage.convert(joe_speech, load_audio(cards[0][0]))  # the source's voice is ignored
    target = encoder.embed(load_audio(librivox[0][0]))  # another clip of the reference speaker
    assert float(encoder.embed(out) @ target) > float(encoder.embed(joe_speech) @ target)


def test_anonymize_is_distinct_and_consistent(encoder, synth, librivox):
    stage = build_voice_stage("anonymize", encoder, WorldAdapter(encoder))
    texts = ["he was not an ill disposed young man", "he might even have been made amiable"]
    src = [load_audio(p) for p, _ in librivox[:2]]
    outs = [stage.convert(synth(t), s) for t, s in zip(texts, src)]
    assert len(stage.tracker.speakers) == 1
    a, b = (encoder.embed(o) for o in outs)
    source = encoder.embed(src[0])
    assert float(a @ source) < 0.65
    assert float(a @ b) > 0.75  # the same pseudo-speaker for both utterances
    assert stage.spec == "anonymize:speakerdiff"  # the SpeakerDiff model ships in the package


def test_anonymize_falls_back_to_the_derived_grid(encoder, monkeypatch):
    """Without a SpeakerDiff model, the pseudo-speaker comes from the derived grid."""
    from voxlate.engines.voice import speakerdiff
    from voxlate.engines.voice.pseudo import SPEECH_WARPS

    monkeypatch.setattr(speakerdiff, "default_model_path", lambda: None)
    stage = build_voice_stage("anonymize", encoder, WorldAdapter(encoder))
    assert stage.spec == "anonymize:world-derived"
    assert type(stage.pseudo) is DerivedPseudoSpeaker and stage.pseudo.warps == SPEECH_WARPS


def test_derived_candidates_are_a_function_of_the_speaker(librivox, cards):
    """The grid: every warp x F0 at -6, -3, +3, +6 semitones from the speaker's mean x
    a darker and a brighter tilt; the same for two analyses of the speaker's audio."""
    from voxlate.engines.voice.pseudo import PSEUDO_F0_STEPS, PSEUDO_TILTS, SPEECH_WARPS

    derived = DerivedPseudoSpeaker(encoder=None)  # type: ignore[arg-type]  # candidates only
    clip = load_audio(librivox[0][0])
    stats = _stats(clip)
    cands = derived.candidates(stats)
    assert len(cands) == len(SPEECH_WARPS) * len(PSEUDO_F0_STEPS) * len(PSEUDO_TILTS) == 16
    semitones = sorted({round(12 * (c.f0_mean - stats.f0_mean) / np.log(2), 6) for c in cands})
    assert semitones == sorted(PSEUDO_F0_STEPS)  # never the speaker's own pitch
    assert {(c.warp, c.tilt) for c in cands} == {(w, t) for w in SPEECH_WARPS for t in PSEUDO_TILTS}
    again = derived.candidates(_stats(Audio(clip.samples.copy(), clip.sample_rate)))
    assert again == cands
    other = derived.candidates(_stats(load_audio(cards[4][0])))
    assert other != cands  # another speaker (another mean pitch), another grid


def _stats(audio):
    from voxlate.engines.voice.world import analyze, measure

    return measure(analyze(audio))


def test_reference_silent(tmp_path):
    p = tmp_path / "silent.wav"
    save_audio(p, Audio.silence(3.0, 16_000))
    with pytest.raises(SilentReferenceError, match="silent"):
        build_voice_stage(str(p))


def test_reference_too_short(tmp_path, librivox_clip):
    p = tmp_path / "short.wav"
    save_audio(p, load_audio(librivox_clip).slice(1.0, 1.5))
    with pytest.raises(ShortReferenceError, match="at least 1 s"):
        build_voice_stage(str(p))


def test_reference_unreadable_or_missing(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"this is not audio at all" * 10)
    with pytest.raises(ReferenceVoiceError, match="reference voice"):
        build_voice_stage(str(bad))
    with pytest.raises(ReferenceVoiceError, match="not found"):
        build_voice_stage(str(tmp_path / "missing.wav"))
    assert issubclass(ReferenceVoiceError, VoxlateError)
