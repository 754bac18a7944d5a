"""Small signal-processing helpers shared by pipelines and engines."""

from __future__ import annotations

import numpy as np

from voxlate.audio import Audio


def time_stretch(audio: Audio, rate: float, frame_ms: float = 40.0) -> Audio:
    """Speed `audio` up by `rate` (> 1 shorter) keeping its pitch: WSOLA.

    Waveform-similarity overlap-add (Verhelst & Roelands, 1993): Hann frames of
    `frame_ms` are taken from the input at `rate` times the output hop, each
    shifted by up to a quarter frame to best continue the previous one.
    """
    if abs(rate - 1.0) < 1e-3 or len(audio.samples) == 0:
        return audio
    x = audio.samples
    n = int(audio.sample_rate * frame_ms / 1000) // 2 * 2
    hop = n // 2
    tol = n // 4
    win = np.hanning(n).astype(np.float32)
    out_len = int(len(x) / rate)
    y = np.zeros(out_len + n, dtype=np.float32)
    norm = np.zeros_like(y)
    xp = np.pad(x, (tol, n + tol + hop))
    prev = xp[tol : tol + n]  # the frame that naturally follows the last one placed
    out_pos = 0
    while out_pos < out_len:
        centre = int(out_pos * rate) + tol
        lo, hi = centre - tol, centre + tol
        seg = xp[lo : hi + n]
        # The best shift maximises the correlation with the natural continuation.
        target = prev[hop:] if out_pos else xp[centre : centre + n - hop]
        corr = np.correlate(seg[: 2 * tol + len(target)], target, mode="valid")
        shift = int(np.argmax(corr)) if out_pos else tol
        start = lo + shift
        frame = xp[start : start + n]
        y[out_pos : out_pos + n] += frame * win
        norm[out_pos : out_pos + n] += win
        prev = xp[start : start + n + hop]
        out_pos += hop
    out = y[:out_len] / np.maximum(norm[:out_len], 1e-3)
    return Audio(out.astype(np.float32), audio.sample_rate)


def rms_db(x: np.ndarray) -> float:
    """RMS level of samples in dB relative to full scale (-120 for silence)."""
    if len(x) == 0:
        return -120.0
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    return 20.0 * float(np.log10(max(rms, 1e-6)))


def noise_floor_db(x: np.ndarray, speech_prob: np.ndarray, frame_size: int) -> float | None:
    """Level (dB FS) of the non-speech frames of `x`: their 50th-percentile frame level.

    `speech_prob[i]` is the VAD's probability for samples [i*frame_size, (i+1)*frame_size).
    Returns None when fewer than 5 frames are clearly non-speech (p < 0.2).
    """
    levels = [
        rms_db(x[i * frame_size : (i + 1) * frame_size]) for i in np.flatnonzero(speech_prob < 0.2)
    ]
    return float(np.median(levels)) if len(levels) >= 5 else None


def hz_to_mel(f: np.ndarray | float) -> np.ndarray:
    """Frequency (Hz) on the HTK mel scale: m = 2595 log10(1 + f / 700)."""
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m: np.ndarray | float) -> np.ndarray:
    """The inverse of `hz_to_mel`: f = 700 (10^(m / 2595) - 1) Hz."""
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(
    n_mels: int, n_fft: int, sample_rate: int, fmin: float, fmax: float
) -> np.ndarray:
    """Triangular filters on the HTK mel scale from `fmin` to `fmax` (Hz), each peaking at 1,
    over the n_fft // 2 + 1 bins of a real FFT at `sample_rate` (Hz); (n_mels, bins) float32.

    The mel filterbank of the CTC/ST features and the digit images.
    """
    freqs = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    return mel_triangles(freqs, n_mels, fmin, fmax).astype(np.float32)


def mel_triangles(freqs: np.ndarray, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """Weights (n_mels, len(freqs)) of triangular filters, equally spaced on the HTK mel
    scale from `fmin` to `fmax` (Hz) and peaking at 1, at the frequencies `freqs` (Hz).

    The one mel formula of voxlate (`mel_filterbank`, the voice codebook's features).
    """
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    fb = np.zeros((n_mels, len(freqs)), dtype=np.float64)
    for i in range(n_mels):
        lo, mid, hi = edges[i], edges[i + 1], edges[i + 2]
        up = (freqs - lo) / max(mid - lo, 1e-9)
        down = (hi - freqs) / max(hi - mid, 1e-9)
        fb[i] = np.clip(np.minimum(up, down), 0.0, None)
    return fb
