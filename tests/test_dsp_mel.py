"""The one mel formula (dsp.py): known values and the filterbank's shape."""

from __future__ import annotations

import numpy as np

from voxlate.dsp import hz_to_mel, mel_filterbank, mel_to_hz


def test_htk_mel_scale_known_values():
    assert abs(float(hz_to_mel(1000.0)) - 1000.0) < 0.1  # the scale's anchor: 1 kHz ~ 1000 mel
    assert float(hz_to_mel(0.0)) == 0.0
    f = np.array([20.0, 440.0, 7600.0])
    assert np.allclose(mel_to_hz(hz_to_mel(f)), f)


def test_filterbank_triangles_peak_at_one_in_order():
    assert mel_filterbank(40, 400, 16_000, 20.0, 7600.0).shape == (40, 201)
    fb = mel_filterbank(40, 8192, 16_000, 20.0, 7600.0)  # bins much narrower than any band
    assert fb.dtype == np.float32 and np.all(fb >= 0)
    assert np.allclose(fb.max(axis=1), 1.0, atol=0.05)
    peaks = fb.argmax(axis=1)
    assert np.all(np.diff(peaks) >= 0) and peaks[-1] > peaks[0]
