"""Diarization: clustering, DER, real Czech actors, and voice stages told the speakers."""

from __future__ import annotations

import numpy as np
import pytest

from voxlate.audio import Audio
from voxlate.eval.diarization import build_conversation, der, fillets_speaker_lines
from voxlate.pipeline.diarize import Diarizer, check_speakers, cluster


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def test_cluster_finds_groups_and_labels_by_first_appearance() -> None:
    rng = np.random.default_rng(0)
    a, b = _unit(rng.standard_normal(16)), _unit(rng.standard_normal(16))
    rows = [a, b, a, a, b, b, a, b, a, b]
    x = _unit(np.stack([r + 0.05 * rng.standard_normal(16) for r in rows]))
    want = [0, 1, 0, 0, 1, 1, 0, 1, 0, 1]
    assert cluster(x, [2.0] * 10) == want
    assert cluster(x, [2.0] * 10, n_speakers=1) == [0] * 10
    # Short utterances are not clustered but join the nearest speaker.
    assert cluster(x, [2.0, 2.0, 0.3, 2.0, 0.3, 2.0, 2.0, 2.0, 2.0, 2.0]) == want
    # Even one that alone would make a third speaker.
    x[4] = _unit(b + 0.9 * _unit(rng.standard_normal(16)))
    assert cluster(x, [2.0, 2.0, 0.3, 2.0, 0.3, 2.0, 2.0, 2.0, 2.0, 2.0]) == want


def test_der_is_zero_for_the_reference_under_any_names_and_counts_errors() -> None:
    ref = [(0.0, 2.0, "m"), (3.0, 5.0, "v"), (6.0, 7.0, "m")]
    assert der(ref, [(a, b, {"m": "S2", "v": "S1"}[s]) for a, b, s in ref]).der == 0.0
    one = der(ref, [(a, b, "S1") for a, b, _ in ref])
    assert one.confusion_s == pytest.approx(2.0)
    assert one.der == pytest.approx(2.0 / 5.0)
    shifted = der(ref, [(0.5, 2.0, "S1"), (3.0, 5.5, "S2"), (6.0, 7.0, "S1")])
    assert shifted.missed_s == pytest.approx(0.5)
    assert shifted.false_alarm_s == pytest.approx(0.5)


def test_speaker_count_is_checked(run_cli) -> None:
    assert check_speakers(None) is None and check_speakers(20) == 20
    code, _, err = run_cli("translate", "missing.wav", "--speakers", "0")
    assert code != 0
    assert err.strip().startswith("error:") and "--speakers" in err
    assert len(err.strip().splitlines()) == 1


@pytest.fixture(scope="module")
def two_actors(czech_clips):
    lines = fillets_speaker_lines(["m", "v"])
    return build_conversation(lines, ["m", "v"], seed=3, n_turns=6)


def test_two_czech_actors_are_told_apart(two_actors, encoder) -> None:
    """Each line of the small and the big fish (two actors), diarized on its own."""
    conv = two_actors
    clips = [conv.audio.slice(a, b) for a, b, _ in conv.turns]
    d = Diarizer(encoder, n_speakers=2)(clips)
    hyp = [(a, b, s) for (a, b, _), s in zip(conv.turns, d.labels)]
    assert len(d.speakers()) == 2
    assert der(conv.turns, hyp).der < 0.2, d.labels
    assert d.labels[0] == "S1"


def test_preserve_voice_fits_each_known_speaker_once_on_all_their_speech(encoder) -> None:
    """Told the speakers up front, the stage fits one voice per label on all of its clips
    and uses it for every utterance of that label, whatever the utterance sounds like."""
    from voxlate.pipeline.voice.stages import PreserveVoice, SpeakerVoice

    fits: list[float] = []

    class Adapter:
        name = "fake"

        def fit(self, speech: Audio, target: Audio, emb=None) -> float:
            fits.append(target.duration)
            return target.duration

        def convert(self, speech: Audio, params: float) -> Audio:
            return Audio(np.full(10, params, np.float32), speech.sample_rate)

    stage = PreserveVoice(encoder, Adapter())
    assert isinstance(stage, SpeakerVoice)
    clips = [Audio(np.zeros(16_000 * k, np.float32), 16_000) for k in (1, 2, 3)]
    stage.assign(["S1", "S2", "S1"], clips, _unit(np.eye(3, 256, dtype=np.float32)))
    speech = Audio(np.zeros(16_000, np.float32), 16_000)
    out1 = stage.convert(speech, clips[1], speaker="S1")  # S2's audio, said to be S1
    out2 = stage.convert(speech, clips[0], speaker="S2")
    stage.convert(speech, clips[2], speaker="S1")
    assert out1.samples[0] == pytest.approx(4.0)  # fitted on S1's 1 + 3 s
    assert out2.samples[0] == pytest.approx(2.0)
    assert fits == [4.0, 2.0]
    assert "fake fitted on 4.0 s" == stage.voice_of("S1")


def test_two_english_speakers_are_found_without_a_hint(encoder, librivox, cards) -> None:
    """A LibriVox reader and the cards speaker, alternating, with no speaker count given."""
    from voxlate.audio import SAMPLE_RATE, load_audio

    clips = []
    for (a, _), (b, _) in zip(librivox, cards):
        clips += [load_audio(a, SAMPLE_RATE), load_audio(b, SAMPLE_RATE)]
    d = Diarizer(encoder)(clips)
    assert d.labels == ["S1", "S2"] * 5
