"""`voxlate eval anonymize` at small size: the product path (text -> Piper -> voice stage)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voxlate.audio import load_audio
from voxlate.tasks.speakers.privacy import Utterance, evaluate_system, scoring_text


def test_scoring_text_spells_numerals() -> None:
    assert scoring_text("8 of Spades, 10 of clubs") == "eight of spades ten of clubs"
    assert scoring_text("1,042 fish") == "one thousand forty two fish"
    assert scoring_text("Five five") == "five five"


def test_cli_rejects_an_unknown_system(run_cli) -> None:
    code, _, err = run_cli("eval", "anonymize", "--systems", "none,bogus", "--no-log")
    assert code != 0 and "bogus" in err and "Traceback" not in err


@pytest.fixture(scope="module")
def model_256(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny SpeakerDiff on random 256-d (Resemblyzer-sized) embeddings."""
    from voxlate.diffusion.ddpm import DDPMConfig
    from voxlate.diffusion.training import TrainConfig
    from voxlate.engines.voice.speakerdiff import SpeakerDiffConfig
    from voxlate.tasks.speakers.model import train_speakerdiff

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 256))
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    cfg = SpeakerDiffConfig(ddpm=DDPMConfig(T=20, schedule="sigmoid"), batch_size=16)
    tc = TrainConfig(steps=5, warmup_steps=1, ckpt_every=100, device="cpu")
    out = tmp_path_factory.mktemp("sd256") / "sd.pt"
    return train_speakerdiff(x, out, "mlp", tc, cfg, progress=False)


@pytest.mark.slow
def test_product_path_revoices_the_synthesized_text(
    model_256: Path, librivox, cards, encoder, synth
) -> None:
    from voxlate.tasks.speakers.privacy_run import spoken_texts, system_speech

    utts = [Utterance(load_audio(p, 16000), "librivox", t) for p, t in librivox[:2]]
    utts += [Utterance(load_audio(p, 16000), "cards", t) for p, t in cards[:2]]
    utts.append(Utterance(utts[0].audio, "czech", translation="What kind of strange ship?"))
    heard: list[float] = []

    def transcribe(a):  # the product's recognizer, here the reference text
        heard.append(a.duration)
        return next(u.text for u in utts if u.audio is a)

    texts = spoken_texts(utts, transcribe)
    assert texts[-1] == "What kind of strange ship?" and len(heard) == 4
    assert texts[:4] == [u.text for u in utts[:4]]
    speech = [synth(t) for t in texts]
    tts = system_speech("tts", utts, encoder, lambda: speech)
    assert tts == speech
    anon = system_speech("speakerdiff-tts", utts, encoder, lambda: speech, model_256, 0.3)
    for a, s, u in zip(anon, speech, utts, strict=True):
        # The synthesized speech is re-voiced (its rate and length), not the source.
        assert a.sample_rate == s.sample_rate != u.audio.sample_rate
        assert abs(a.duration - s.duration) < 0.05
        assert not np.allclose(a.samples, s.samples)
    emb = np.stack([encoder.embed(a) for a in anon])
    original = np.stack([encoder.embed(u.audio) for u in utts])
    # Far from each source speaker; one consistent pseudo-voice per speaker.
    assert float(np.max(np.sum(emb * original, axis=1))) < 0.7
    assert float(emb[0] @ emb[1]) > 0.8 and float(emb[2] @ emb[3]) > 0.8
    row = evaluate_system("speakerdiff-tts", utts, anon, encoder.embed, None, original)
    assert 0.0 <= row.eer_ignorant <= 1.0 and row.wer is None
    # Source re-voicing converts the original utterance instead.
    src = system_speech("speakerdiff", utts[:2], encoder, lambda: speech, model_256, 0.3)
    assert src[0].sample_rate == 16000 and abs(src[0].duration - utts[0].audio.duration) < 0.05


def test_pseudo_speaker_picks_the_far_candidate_nearest_the_sample(
    model_256: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voxlate.audio import Audio
    from voxlate.engines.voice import pseudo as anonymize
    from voxlate.engines.voice import speakerdiff
    from voxlate.engines.voice.world import VoiceParams, VoiceStats

    e = np.eye(256, dtype=np.float32)
    source, target = e[0], e[1]
    cands = [VoiceParams(warp=w) for w in (1.1, 1.2, 1.3, 1.4)]
    embs = np.stack(
        [
            0.8 * source + 0.6 * target,  # nearest the sample, but too like the source
            0.9 * source + 0.1 * e[2],
            0.3 * source + 0.5 * target,  # far from the source and nearest the sample
            0.2 * source + 0.1 * target,
        ]
    )

    class Derived:
        def outputs(self, stats, speech):  # type: ignore[no-untyped-def]
            return cands, embs

    monkeypatch.setattr(speakerdiff, "sample_pseudo_speaker", lambda *a, **k: target)
    pseudo = anonymize.SpeakerDiffPseudoSpeaker(None, model_256, 0.3, seed=0)
    pseudo.derived = Derived()  # type: ignore[assignment]
    stats = VoiceStats(5.0, 0.5, np.zeros(4), 3.0)
    speech = Audio(np.zeros(16000, dtype=np.float32), 16000)
    assert pseudo.params(stats, source, speech) is cands[2]
    assert pseudo.last_target is target
