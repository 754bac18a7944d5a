from __future__ import annotations

import numpy as np
import pytest

from voxlate.data.mixing import (
    COLOURS,
    MixConfig,
    NoiseSampler,
    coloured_noise,
    mix_at_snr,
    noisy_pairs,
    rms,
)
from voxlate.data.voicebank import find_pairs
from voxlate.errors import InputError


def test_mix_at_snr_is_exact() -> None:
    rng = np.random.default_rng(0)
    x, v = (
        rng.standard_normal(8000).astype(np.float32),
        rng.standard_normal(8000).astype(np.float32),
    )
    y = mix_at_snr(x, v, 7.5)
    assert 20 * np.log10(rms(x) / rms(y - x)) == pytest.approx(7.5, abs=1e-3)


def test_coloured_noise_slopes() -> None:
    rng = np.random.default_rng(0)
    for name, exponent in COLOURS.items():
        x = coloured_noise(2**15, exponent, rng)
        assert rms(x) == pytest.approx(1.0, rel=1e-3)
        p = np.abs(np.fft.rfft(x)) ** 2
        low, high = p[50:500].mean(), p[5000:16000].mean()
        assert (low > high) == (exponent > 0) or exponent == 0, name


def test_noisy_pairs_shapes_and_peak() -> None:
    rng = np.random.default_rng(1)
    clean = [rng.standard_normal(5000).astype(np.float32) * 0.1 for _ in range(3)]
    sampler = NoiseSampler([], clean, MixConfig())
    y, x = next(noisy_pairs(clean, sampler, 1000, MixConfig(), seed=0))
    assert y.shape == x.shape == (1000,)
    assert 0.1 <= np.abs(y).max() <= 0.9 + 1e-6


def test_find_pairs_layouts(tmp_path, test_folder) -> None:
    assert [p[0].name for p in find_pairs(test_folder)] == ["u0.wav", "u1.wav"]
    vb = tmp_path / "vb"
    for d in ("clean_testset_wav", "noisy_testset_wav"):
        (vb / d).mkdir(parents=True)
        (vb / d / "p232_001.wav").write_bytes((test_folder / "clean" / "u0.wav").read_bytes())
    assert find_pairs(vb)[0][1].parent.name == "clean_testset_wav"
    with pytest.raises(InputError):
        find_pairs(tmp_path / "nowhere")
    with pytest.raises(InputError):
        find_pairs(tmp_path)
