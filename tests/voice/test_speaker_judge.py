"""The second speaker judge (MFCC statistics + LDA) on real speech."""

from __future__ import annotations

import numpy as np

from voxlate.audio import load_audio
from voxlate.eval.speaker_judge import MfccJudge, mfcc_stats


def test_mfcc_judge_tells_two_real_speakers_apart(librivox, cards) -> None:
    lib = [load_audio(p, 16_000) for p, _ in librivox]
    crd = [load_audio(p, 16_000) for p, _ in cards]
    judge = MfccJudge.fit({"librivox": lib[:3], "cards": crd[:3]})
    assert [judge.identify(a) for a in lib[3:]] == ["librivox", "librivox"]
    assert [judge.identify(a) for a in crd[3:]] == ["cards", "cards"]
    s = judge.scores(lib[4])
    assert (
        s.shape == (2,) and s[judge.speakers.index("librivox")] > s[judge.speakers.index("cards")]
    )


def test_mfcc_stats_shape_and_silence() -> None:
    from voxlate.audio import Audio

    x = mfcc_stats(Audio(np.zeros(100, np.float32), 16_000))
    assert x.shape == (80,) and np.all(np.isfinite(x))


def test_eval_voice_style_rejects_an_unknown_split(run_cli) -> None:
    code, _, err = run_cli("eval", "voice-style", "--split", "test", "--no-log")
    assert code != 0 and "--split is validation or held-out" in err
