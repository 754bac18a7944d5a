"""The embedded voice adapter: WORLD analysis and resynthesis (pyworld).

Synthesized speech is split by WORLD (Morise et al., 2016, "WORLD: a vocoder-based
high-quality speech synthesis system for real-time applications") into F0, spectral
envelope and aperiodicity, each is moved towards the target speaker, and the result
is resynthesized:

- F0: log-F0 mean and range mapping, ``log f0' = mu_t + k * sigma_t / sigma_s * (log f0 - mu_s)``
  (Gaussian-normalised transformation), plus an offset in semitones;
- vocal-tract length: the envelope is warped along frequency, ``sp'(f) = sp(f / alpha)``,
  so alpha > 1 raises every formant (a shorter vocal tract);
- timbre: a smooth long-term spectral equaliser (mel bands, dB) that moves the speech's
  average envelope onto the target's, plus a spectral tilt in dB per octave;
- aperiodicity (breathiness) offset and speaking rate (a time-scale of the frames).

`WorldAdapter.fit` chooses these per target speaker from a sample of their voice and,
given a speaker encoder, refines them by a small coordinate search that maximises the
encoder's cosine similarity to the target within bounds that keep speech intelligible.
The voice stage (`modes.py`) keeps the fitted `VoiceParams` per speaker, so a long
input pays once.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import sys
import types
from dataclasses import dataclass
from typing import Any

import numpy as np

from voxlate.audio import Audio
from voxlate.dsp import hz_to_mel, mel_to_hz
from voxlate.engines.voice import ADAPTERS
from voxlate.engines.voice.base import SpeakerEncoder
from voxlate.engines.voice.codebook import Codebook, replace_envelopes
from voxlate.errors import MissingDependencyError

FRAME_PERIOD = 5.0  # ms between WORLD frames
F0_FLOOR = 60.0  # Hz; lowest F0 searched
F0_CEIL = 500.0  # Hz; highest F0 searched
N_BANDS = 24  # mel bands of the long-term equaliser
EQ_LOW, EQ_HIGH = 80.0, 7600.0  # Hz; the equaliser's range (inside 16 kHz audio's band)
EQ_LIMIT = 9.0  # dB; largest gain or cut of one equaliser band
WARP_RANGE = (0.80, 1.25)  # bounds of the vocal-tract warp factor alpha
F0_SHIFT_RANGE = (-4.0, 4.0)  # semitones; bounds of the searched F0 offset
SEARCH_SECONDS = 3.0  # seconds of speech each search step resynthesizes and embeds
KNN_STRENGTH = 0.3  # default weight of frame-level envelope replacement
AP_STEP = 3  # frames per aperiodicity estimate when converting (see `analyze`)
UNVOICED_AP = 1.0 - 1e-12  # D4C's aperiodicity of unvoiced frames
KNN_MAX = 0.45  # largest weight the search may choose (more costs intelligibility)


def import_pyworld() -> Any:
    """Import pyworld, which still calls ``pkg_resources`` (gone from setuptools >= 81)."""
    if "pyworld" in sys.modules:
        return sys.modules["pyworld"]
    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        shim = types.ModuleType("pkg_resources")
        shim.get_distribution = lambda name: types.SimpleNamespace(  # type: ignore[attr-defined]
            version=importlib.metadata.version(name)
        )
        sys.modules["pkg_resources"] = shim
    try:
        import pyworld
    except ImportError as e:
        raise MissingDependencyError("pyworld (the WORLD vocoder)", pip="pyworld") from e
    return pyworld


@dataclass(frozen=True)
class VoiceParams:
    """Where to move synthesized speech: one target speaker's voice.

    Built by `WorldAdapter.fit` (or by hand); `dataclasses.replace` makes variants.
    """

    f0_mean: float | None = None  # target mean of ln F0 (ln Hz); None keeps the speech's own
    f0_std: float | None = None  # target std of ln F0; None keeps the speech's own range
    f0_shift: float = 0.0  # extra F0 offset, semitones
    range_scale: float = 1.0  # multiplier on the target F0 range (1 = the target's range)
    warp: float = 1.0  # frequency warp of the envelope; > 1 raises formants (shorter tract)
    eq: tuple[float, ...] = ()  # long-term equaliser, dB per mel band (N_BANDS), () for none
    eq_strength: float = 1.0  # fraction of `eq` applied (0 = none)
    tilt: float = 0.0  # spectral tilt, dB per octave around 1 kHz (> 0 brighter)
    ap_shift: float = 0.0  # added to aperiodicity (0..1); > 0 breathier
    rate: float = 1.0  # speaking-rate factor; > 1 faster (shorter), 1 keeps duration
    codebook: Codebook | None = None  # target envelopes for frame-level replacement
    knn_strength: float = 0.0  # 0..1: how far each frame moves to its target neighbours

    def describe(self) -> str:
        """One line for logs: F0 (Hz), warp, tilt, strength."""
        f0 = f"{np.exp(self.f0_mean):.0f} Hz" if self.f0_mean is not None else "kept"
        return (
            f"F0 {f0} {self.f0_shift:+.1f} st, warp {self.warp:.2f}, "
            f"eq {self.eq_strength:.1f}, tilt {self.tilt:+.1f} dB/oct, "
            f"knn {self.knn_strength:.2f}, rate {self.rate:.2f}"
        )


@dataclass(frozen=True)
class VoiceStats:
    """What the adapter measures of a voice: F0 statistics and long-term envelope."""

    f0_mean: float  # mean ln F0 over voiced frames (ln Hz)
    f0_std: float  # std of ln F0 over voiced frames
    envelope: np.ndarray  # (N_BANDS,) mean log-power envelope per mel band, dB
    voiced_rate: float  # voiced-segment onsets per second (a syllable-rate proxy)


@dataclass
class Analysis:
    """WORLD parameters of one clip at its own sample rate."""

    f0: np.ndarray  # (frames,) Hz, 0 where unvoiced
    sp: np.ndarray  # (frames, fft_size // 2 + 1) power spectral envelope
    ap: np.ndarray  # (frames, fft_size // 2 + 1) aperiodicity in [0, 1]
    sample_rate: int
    n_samples: int


def analyze(audio: Audio, frame_period: float = FRAME_PERIOD, ap_step: int = 1) -> Analysis:
    """WORLD analysis with the fast F0 path (DIO + StoneMask), CheapTrick and D4C.

    ap_step: estimate aperiodicity on every `ap_step`-th frame only and interpolate
        between them (D4C is over half of the analysis time; aperiodicity changes
        slowly: with 3, voiced frames differ from the full estimate by ~0.03 on 0..1).
    """
    pw = import_pyworld()
    x = audio.samples.astype(np.float64)
    sr = audio.sample_rate
    f0, t = pw.dio(x, sr, f0_floor=F0_FLOOR, f0_ceil=F0_CEIL, frame_period=frame_period)
    f0 = pw.stonemask(x, f0, t, sr)
    sp = pw.cheaptrick(x, f0, t, sr)  # default F0 floor (71 Hz) keeps the FFT short
    if ap_step <= 1 or len(f0) < 4 * ap_step:
        ap = pw.d4c(x, f0, t, sr)
    else:
        ap = _coarse_aperiodicity(pw, x, f0, t, sr, ap_step)
    return Analysis(f0, sp, ap, sr, len(x))


def _coarse_aperiodicity(
    pw: Any, x: np.ndarray, f0: np.ndarray, t: np.ndarray, sr: int, step: int
) -> np.ndarray:
    """D4C on every `step`-th frame, linearly interpolated; unvoiced frames fully aperiodic.

    Coarse frames that are unvoiced take the nearest voiced coarse frame's values, so
    that voiced frames next to a pause do not turn breathy in the interpolation.
    """
    fc, tc = np.ascontiguousarray(f0[::step]), np.ascontiguousarray(t[::step])
    apc = pw.d4c(x, fc, tc, sr)
    voiced_c = np.nonzero(fc > 0)[0]
    if len(voiced_c):
        nearest = voiced_c[
            np.clip(np.searchsorted(voiced_c, np.arange(len(fc))), 0, len(voiced_c) - 1)
        ]
        apc = apc[nearest]
    pos = np.arange(len(f0)) / step
    i0 = np.minimum(pos.astype(np.int64), len(apc) - 1)
    i1 = np.minimum(i0 + 1, len(apc) - 1)
    w = (pos - i0)[:, None]
    ap = apc[i0] * (1.0 - w) + apc[i1] * w
    ap[f0 <= 0] = UNVOICED_AP
    return np.ascontiguousarray(ap)


def _band_edges() -> np.ndarray:
    """Mel-spaced band edges (Hz), shape (N_BANDS + 1,)."""
    return mel_to_hz(np.linspace(hz_to_mel(EQ_LOW), hz_to_mel(EQ_HIGH), N_BANDS + 1))


def _band_centres() -> np.ndarray:
    e = _band_edges()
    return np.sqrt(e[:-1] * e[1:])


def band_envelope(sp: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mean log-power (dB) of each mel band of envelope frames `sp` (frames, bins) -> (N_BANDS,)."""
    freqs = np.linspace(0, sample_rate / 2, sp.shape[1])
    db = 10 * np.log10(np.maximum(sp.mean(axis=0), 1e-20))
    edges = _band_edges()
    out = np.empty(N_BANDS)
    for i in range(N_BANDS):
        sel = (freqs >= edges[i]) & (freqs < edges[i + 1])
        out[i] = (
            db[sel].mean() if sel.any() else np.interp((edges[i] + edges[i + 1]) / 2, freqs, db)
        )
    return out


def measure(an: Analysis) -> VoiceStats:
    """F0 statistics and long-term band envelope of an analysed clip."""
    voiced = an.f0 > 0
    if voiced.sum() >= 5:
        lf0 = np.log(an.f0[voiced])
        lo, hi = np.percentile(lf0, [5, 95])
        core = lf0[(lf0 >= lo) & (lf0 <= hi)]
        mean, std = float(core.mean()), float(max(lf0.std(), 0.03))
    else:
        mean, std = float(np.log(120.0)), 0.15
    # Envelope of voiced, non-quiet frames: where the voice (not the room) dominates.
    energy = an.sp.sum(axis=1)
    loud = energy > np.percentile(energy, 30)
    sel = voiced & loud if (voiced & loud).sum() >= 5 else loud
    env = band_envelope(an.sp[sel], an.sample_rate)
    onsets = int(np.sum(np.diff(voiced.astype(np.int8)) == 1))
    seconds = max(an.n_samples / an.sample_rate, 1e-3)
    return VoiceStats(mean, std, env, onsets / seconds)


def target_codebook(an: Analysis) -> Codebook | None:
    """Codebook of the louder 70 % of frames of an analysed target clip (None if too short)."""
    energy = an.sp.sum(axis=1)
    keep = energy > np.percentile(energy, 30)
    return Codebook.from_frames(an.sp, an.sample_rate, keep) if keep.sum() >= 20 else None


def _warp_indices(n_bins: int, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Floor/ceil bin indices and weights for sp'(bin) = sp(bin / alpha)."""
    src = np.clip(np.arange(n_bins) / alpha, 0, n_bins - 1)
    i0 = np.floor(src).astype(np.int64)
    i1 = np.minimum(i0 + 1, n_bins - 1)
    return i0, i1, src - i0


def warp_envelope(sp: np.ndarray, alpha: float) -> np.ndarray:
    """Linear frequency warping of envelope frames: ``sp'(f) = sp(f / alpha)``."""
    if abs(alpha - 1.0) < 1e-6:
        return sp
    i0, i1, w = _warp_indices(sp.shape[1], alpha)
    return sp[:, i0] * (1.0 - w) + sp[:, i1] * w


def _gain_curve(p: VoiceParams, n_bins: int, sample_rate: int) -> np.ndarray:
    """Power gain per frequency bin from the equaliser and the tilt, shape (n_bins,)."""
    freqs = np.linspace(0, sample_rate / 2, n_bins)
    db = np.zeros(n_bins)
    if p.eq and p.eq_strength:
        centres = hz_to_mel(_band_centres())
        eq = np.asarray(p.eq) * p.eq_strength
        db += np.interp(hz_to_mel(freqs), centres, eq, left=eq[0], right=0.0)
    if p.tilt:
        db += p.tilt * np.log2(np.maximum(freqs, 100.0) / 1000.0)
    return 10 ** (db / 10)


def convert(an: Analysis, p: VoiceParams, source: VoiceStats | None = None) -> Audio:
    """Resynthesize an analysed clip with `p` applied; returns audio at the clip's rate."""
    pw = import_pyworld()
    f0 = an.f0.copy()
    voiced = f0 > 0
    if voiced.any():
        lf0 = np.log(f0[voiced])
        mu_s = source.f0_mean if source is not None else float(lf0.mean())
        sd_s = source.f0_std if source is not None else float(max(lf0.std(), 0.03))
        mu_t = p.f0_mean if p.f0_mean is not None else mu_s
        sd_t = p.f0_std if p.f0_std is not None else sd_s
        lf0 = mu_t + p.range_scale * sd_t / sd_s * (lf0 - mu_s) + p.f0_shift * np.log(2) / 12
        f0[voiced] = np.clip(np.exp(lf0), F0_FLOOR, 1000.0)
    sp = warp_envelope(an.sp, p.warp) * _gain_curve(p, an.sp.shape[1], an.sample_rate)
    if p.codebook is not None and p.knn_strength > 0:
        sp = replace_envelopes(sp, an.sample_rate, p.codebook, p.knn_strength)
    ap = np.clip(an.ap + p.ap_shift, 0.0, 1.0) if p.ap_shift else an.ap
    if abs(p.rate - 1.0) > 1e-3:
        n = max(2, int(round(len(f0) / p.rate)))
        idx = np.minimum(np.round(np.arange(n) * p.rate).astype(np.int64), len(f0) - 1)
        f0, sp, ap = f0[idx], sp[idx], ap[idx]
    y = pw.synthesize(
        np.ascontiguousarray(f0),
        np.ascontiguousarray(sp),
        np.ascontiguousarray(ap),
        an.sample_rate,
        FRAME_PERIOD,
    )
    if abs(p.rate - 1.0) <= 1e-3:
        y = y[: an.n_samples]
        if len(y) < an.n_samples:
            y = np.pad(y, (0, an.n_samples - len(y)))
    return Audio(y.astype(np.float32), an.sample_rate)


def estimate_warp(source: VoiceStats, target: VoiceStats) -> float:
    """Warp factor whose warped source envelope best matches the target's band shape.

    The envelopes are compared after removing level and a linear tilt, so that the
    warp explains formant positions rather than recording colour.
    """
    centres = _band_centres()
    x = np.log2(centres)
    best, best_err = 1.0, np.inf
    for alpha in np.arange(WARP_RANGE[0], WARP_RANGE[1] + 1e-9, 0.01):
        warped = np.interp(centres / alpha, centres, source.envelope)
        d = target.envelope - warped
        coef = np.polyfit(x, d, 1)
        err = float(np.mean((d - np.polyval(coef, x)) ** 2))
        if err < best_err:
            best, best_err = float(alpha), err
    return best


def estimate_eq(source: VoiceStats, target: VoiceStats, warp: float) -> tuple[float, ...]:
    """Equaliser (dB per band) that moves the warped source envelope onto the target's."""
    centres = _band_centres()
    warped = np.interp(centres / warp, centres, source.envelope)
    d = target.envelope - warped
    d = np.convolve(np.pad(d, 1, mode="edge"), np.ones(3) / 3, mode="valid")  # smooth
    d -= d.mean()
    return tuple(float(v) for v in np.clip(d, -EQ_LIMIT, EQ_LIMIT))


@ADAPTERS.register("world")
class WorldAdapter:
    """Voice adapter by WORLD analysis/resynthesis; see the module docstring.

    encoder: optional speaker encoder; with it, `fit` refines the measured
        parameters by a coordinate search on speaker similarity (a few seconds,
        once per speaker).
    search: whether to run that search when an encoder is given.
    knn_strength: starting weight of frame-level envelope replacement (0..1).
    """

    name = "world"  # its ADAPTERS name (a --voice post-step: MODE+world)

    def __init__(
        self,
        encoder: SpeakerEncoder | None = None,
        search: bool = True,
        knn_strength: float = KNN_STRENGTH,
    ) -> None:
        self.encoder = encoder
        self.search = search
        self.knn_strength = knn_strength
        self.n_fits = 0  # how many times `fit` ran (the expensive, once-per-speaker step)

    @classmethod
    def from_spec(cls, arg: str | None) -> WorldAdapter:
        """``world`` (no similarity search) or ``world:search`` (search with Resemblyzer)."""
        if arg == "search":
            from voxlate.engines.voice import ENCODERS

            return cls(ENCODERS.create("resemblyzer"), search=True)
        return cls(search=False)  # no encoder: no search (the voice stages' adapter)

    # -- fitting ---------------------------------------------------------------
    def fit(
        self,
        speech: Audio,
        target: Audio,
        target_embedding: np.ndarray | None = None,
    ) -> VoiceParams:
        """Parameters that move `speech` (a sample of the synthesizer's voice) to a target.

        target: a sample of the target voice (any rate >= 16 kHz, any length; a few
            seconds of speech is plenty).
        target_embedding: the target's speaker embedding; when given together with
            an encoder, the measured parameters are refined to maximise similarity.
        """
        self.n_fits += 1
        src_an = analyze(speech)
        src = measure(src_an)
        tgt_an = analyze(target)
        tgt = measure(tgt_an)
        warp = estimate_warp(src, tgt)
        p = VoiceParams(
            f0_mean=tgt.f0_mean,
            f0_std=tgt.f0_std,
            warp=warp,
            eq=estimate_eq(src, tgt, warp),
            eq_strength=1.0,
            codebook=target_codebook(tgt_an),
            knn_strength=self.knn_strength,
        )
        if self.encoder is not None and self.search and target_embedding is not None:
            p = self._search(crop(src_an, SEARCH_SECONDS), src, p, target_embedding)
        return p

    def _similarity(self, an: Analysis, src: VoiceStats, p: VoiceParams, emb: np.ndarray) -> float:
        assert self.encoder is not None
        y = convert(an, p, src)
        return float(np.dot(self.encoder.embed(y), emb))

    def _search(
        self, an: Analysis, src: VoiceStats, p: VoiceParams, emb: np.ndarray
    ) -> VoiceParams:
        """One coordinate sweep (7 resyntheses) over warp, codebook weight, F0 and equaliser.

        Each candidate is kept when it raises the encoder's cosine to `emb`; the
        bounds keep warp, F0 offset and codebook weight where speech stays clear.
        """
        best = self._similarity(an, src, p, emb)
        steps: list[tuple[str, list[float], tuple[float, float]]] = [
            ("warp", [-0.04, 0.04], WARP_RANGE),
            ("knn_strength", [-0.3, 0.2], (0.0, KNN_MAX)),
            ("f0_shift", [-1.5, 1.5], F0_SHIFT_RANGE),
            ("eq_strength", [-0.5], (0.0, 1.5)),
        ]
        for name, deltas, (lo, hi) in steps:
            base = getattr(p, name)
            for d in deltas:
                v = float(np.clip(base + d, lo, hi))
                if v == base:
                    continue
                cand = dataclasses.replace(p, **{name: v})  # type: ignore[arg-type]
                s = self._similarity(an, src, cand, emb)
                if s > best + 1e-4:
                    best, p = s, cand
                    break  # this direction helped; the opposite one need not be tried
        return p

    # -- converting ------------------------------------------------------------
    def convert(self, speech: Audio, params: VoiceParams) -> Audio:
        """Move `speech` to the voice `params` describe; keeps duration when rate is 1.

        Returns audio at the rate of `speech`, with the input's RMS level.
        """
        if len(speech.samples) < speech.sample_rate * 0.05:
            return speech
        out = convert(analyze(speech, ap_step=AP_STEP), params)
        rms_in = float(np.sqrt(np.mean(np.square(speech.samples))) + 1e-9)
        rms_out = float(np.sqrt(np.mean(np.square(out.samples))) + 1e-9)
        y = out.samples * (rms_in / rms_out)
        peak = float(np.max(np.abs(y))) if len(y) else 0.0
        if peak > 0.99:
            y = y * (0.99 / peak)
        return Audio(y.astype(np.float32), out.sample_rate)


def crop(an: Analysis, seconds: float) -> Analysis:
    """The first `seconds` of an analysed clip."""
    n = int(seconds * 1000 / FRAME_PERIOD)
    if len(an.f0) <= n:
        return an
    samples = min(an.n_samples, int(n * FRAME_PERIOD / 1000 * an.sample_rate))
    return Analysis(an.f0[:n], an.sp[:n], an.ap[:n], an.sample_rate, samples)
