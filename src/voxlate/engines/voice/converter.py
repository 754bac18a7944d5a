"""The trained voice converter: Kokoro's speech re-spoken with a target speaker's envelope.

`fit` adapts the network (`converter_model.py`, trained across many speakers by
`voxlate voice train-converter`) to the target's own speech: a new speaker vector and output
bias, the network frozen, a few CPU seconds. `convert` analyses the speech with WORLD
(Morise et al., 2016) at 16 kHz and 10 ms frames, predicts the target's mel-cepstral envelope
c1..c39 frame by frame from the speech's instance-normalised log-mel through the content
bottleneck, keeps the speech's level (c0) and aperiodicity, maps F0 onto the target's log-F0
mean and std, and resynthesizes (back at the speech's own rate). A checkpoint of the diffusion
decoder (`converter_diffusion.py`) is adapted with its denoising loss and samples c1..c39 with
DDIM from its average-voice prior instead (docs/voice.md, "Diffusion decoder").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voxlate.audio import SAMPLE_RATE, Audio
from voxlate.engines.voice import ADAPTERS
from voxlate.engines.voice.world import F0_CEIL, F0_FLOOR, import_pyworld
from voxlate.errors import EngineError, InputError, MissingDependencyError

SHIPPED = "converter.pt"  # the shipped checkpoint's name in voxlate/checkpoints
FIT_MAX_SPEECH_S = 60.0  # seconds of the target's speech the adaptation reads at most
FIT_SECONDS = 12.0  # wall-time budget of the adaptation's optimisation (CPU)
# The adaptation's optimizer steps at most. Regression decoder: 25, chosen on the validation
# speakers (docs/voice.md, "Adaptation steps": similarity 0.573 against 0.575 with 150, chrF
# 80.5-82.8 against 77.6, 1.3 CPU-s against 5.1; 15 steps lost chrF). The diffusion decoder
# keeps the 150 it was validated with.
FIT_STEPS = 25
DIFFUSION_FIT_STEPS = 150
FIT_CROP = 1000  # frames (10 ms) of the target's speech per adaptation step
KNN_K = 4  # target frames averaged per converted frame (`knn_strength`)
CODEBOOK_MAX = 4000  # target frames kept for the frame matching at most
AP_STEP = 3  # aperiodicity estimated on every 3rd frame and interpolated (see world.analyze)


@dataclass(frozen=True)
class ConverterParams:
    """One target speaker, as the converter needs it."""

    embedding: np.ndarray  # (speaker_dim,) speaker vector fitted on their speech
    bias: np.ndarray  # (n_out,) output bias (normalised mcep units)
    f0_mean: float  # mean ln F0 of their voiced frames
    f0_std: float  # std of ln F0
    fit_seconds: float = 0.0  # wall time `fit` took
    fit_loss: float = 0.0  # the adaptation's final L1 (normalised units)
    codebook: np.ndarray | None = None  # (N, n_out) the target's own c1..c39 (louder frames)
    out_delta: np.ndarray | None = None  # (n_out, channels) adapted change of the last layer
    # (for a diffusion checkpoint: of the score network's, (n_out, score_channels))


@dataclass
class WorldFrames:
    """WORLD analysis of a 16 kHz clip at the converter's 10 ms frames."""

    f0: np.ndarray  # (T,) Hz, 0 unvoiced
    sp: np.ndarray  # (T, bins) power envelope
    ap: np.ndarray | None  # (T, bins) aperiodicity, None when not asked for
    mcep: np.ndarray  # (T, N_MCEP) mel-cepstrum of sp
    n_samples: int


def world_frames(audio: Audio, aperiodicity: bool = True) -> WorldFrames:
    """WORLD analysis (DIO + StoneMask, CheapTrick, D4C on every `AP_STEP`-th frame) of
    `audio` resampled to 16 kHz, and the envelope's mel-cepstrum."""
    from voxlate.engines.voice.converter_model import FRAME_MS, N_MCEP
    from voxlate.engines.voice.world import _coarse_aperiodicity

    pw = import_pyworld()
    x = audio.resample(SAMPLE_RATE).samples.astype(np.float64)
    f0, t = pw.dio(x, SAMPLE_RATE, f0_floor=F0_FLOOR, f0_ceil=F0_CEIL, frame_period=FRAME_MS)
    f0 = pw.stonemask(x, f0, t, SAMPLE_RATE)
    sp = pw.cheaptrick(x, f0, t, SAMPLE_RATE)
    ap = _coarse_aperiodicity(pw, x, f0, t, SAMPLE_RATE, AP_STEP) if aperiodicity else None
    mcep = pw.code_spectral_envelope(sp, SAMPLE_RATE, N_MCEP).astype(np.float32)
    return WorldFrames(f0, sp, ap, mcep, len(x))


def f0_stats(f0: np.ndarray) -> tuple[float, float]:
    """Mean and std of ln F0 over voiced frames (a neutral voice when too few)."""
    voiced = f0[f0 > 0]
    if len(voiced) < 10:
        return float(np.log(150.0)), 0.15
    lf0 = np.log(voiced)
    return float(lf0.mean()), float(max(lf0.std(), 0.03))


def loud_frames(mcep: np.ndarray, quantile: float = 30.0) -> np.ndarray:
    """Mask of the frames whose level (c0) is above the clip's `quantile` percentile."""
    return mcep[:, 0] > np.percentile(mcep[:, 0], quantile)


def knn_average(y: np.ndarray, book: np.ndarray, k: int = KNN_K) -> np.ndarray:
    """Each row of `y` (T, D) replaced by the mean of its `k` nearest rows of `book` (N, D)."""
    d = (y**2).sum(1)[:, None] - 2 * y @ book.T + (book**2).sum(1)[None, :]
    k = min(k, len(book))
    idx = np.argpartition(d, k - 1, axis=1)[:, :k]
    return book[idx].mean(axis=1)


@ADAPTERS.register("converter")
class ConverterAdapter:
    """Voice adapter by the trained converter; see the module docstring.

    path: a converter checkpoint (`voxlate voice train-converter`); None = the shipped one.
    fit_seconds: wall-time budget of each speaker's adaptation.
    knn_strength: 0..1, how far each predicted frame moves towards the mean of its `KNN_K`
        nearest frames of the target's own speech (kNN-VC-style matching on the converter's
        output, which is already phonetically aligned; 0 = the network's envelope alone).
    tune_last: adapt the output layer's weights too (not only the speaker vector and bias):
        on the validation speakers, similarity 0.579 against 0.564 and chrF 87.2 against 80.9.
    fit_steps, fit_crop: the adaptation's optimizer steps at most (None: `FIT_STEPS`, or
        `DIFFUSION_FIT_STEPS` for a diffusion checkpoint) and frames (10 ms) per step.
    steps, temperature: a diffusion checkpoint's DDIM steps and start-noise scale (None: the
        checkpoint's own); a regression checkpoint ignores them.

    The checkpoint's config says which decoder it holds: `ConverterConfig` (the regression
    network, `converter_model.py`) or `DiffusionConverterConfig` (`converter_diffusion.py`);
    `kind` is 'regression' or 'diffusion'.
    """

    name = "converter"  # its ADAPTERS name (a --voice post-step: MODE+converter)
    fits_without_speech = True  # `fit` reads only the target's speech (see `fit`)

    def __init__(
        self,
        path: str | Path | None = None,
        fit_seconds: float = FIT_SECONDS,
        knn_strength: float = 0.0,
        tune_last: bool = True,
        steps: int | None = None,
        temperature: float | None = None,
        fit_steps: int | None = None,
        fit_crop: int = FIT_CROP,
    ) -> None:
        try:
            import torch

            from voxlate.checkpoint import load_checkpoint
            from voxlate.engines.voice.converter_diffusion import (
                DiffusionConverterConfig,
                DiffusionConverterNet,
            )
            from voxlate.engines.voice.converter_model import ConverterConfig, ConverterNet
        except ImportError as e:  # pragma: no cover - torch is a core dependency
            raise MissingDependencyError("torch (the converter's network)", pip="torch") from e
        import_pyworld()
        if path is None:
            from voxlate.shipped import shipped_path

            try:
                path = shipped_path(SHIPPED)
            except EngineError as e:
                raise MissingDependencyError(
                    "The voice converter's checkpoint (train one with voxlate voice "
                    "train-converter and pass converter:PATH)"
                ) from e
        ck = load_checkpoint(path)
        self.net: ConverterNet | DiffusionConverterNet
        if isinstance(ck.config, DiffusionConverterConfig):
            self.kind = "diffusion"
            self.net = DiffusionConverterNet(ck.config)
        elif isinstance(ck.config, ConverterConfig):
            self.kind = "regression"
            self.net = ConverterNet(ck.config)
        else:
            raise InputError(f"{path} holds a {type(ck.config).__name__}, not a converter.")
        self.net.load_state_dict({k: v.float() for k, v in ck.inference_weights.items()})
        self.net.eval()
        self.steps = steps
        self.temperature = temperature
        self.torch = torch
        self.path = Path(path)
        self.fit_seconds = fit_seconds
        self.knn_strength = knn_strength
        self.tune_last = tune_last
        default_steps = FIT_STEPS if self.kind == "regression" else DIFFUSION_FIT_STEPS
        self.fit_steps = default_steps if fit_steps is None else fit_steps
        self.fit_crop = fit_crop
        self.n_fits = 0

    @classmethod
    def from_spec(cls, arg: str | None) -> ConverterAdapter:
        """``converter`` (the shipped checkpoint) or ``converter:PATH``."""
        return cls(arg or None)

    def fit(
        self, speech: Audio, target: Audio, target_embedding: np.ndarray | None = None
    ) -> ConverterParams:
        """Adapt to the speaker of `target` (their own speech, 5-60 s): a few CPU seconds.

        `speech` (the synthesizer's voice) and `target_embedding` are not needed: the
        network was trained on synthetic speech too, and the judge's embedding is not used.
        """
        from voxlate.engines.voice.converter_diffusion import DiffusionConverterNet, adapt_diffusion
        from voxlate.engines.voice.converter_model import adapt, log_mel

        if target.duration < 0.5:
            raise InputError("The target speech is too short to adapt the converter to.")
        self.n_fits += 1
        target = target.slice(0.0, FIT_MAX_SPEECH_S)
        wf = world_frames(target, aperiodicity=False)
        mel = log_mel(target)
        n = min(len(mel), len(wf.mcep))
        keep = loud_frames(wf.mcep[:n])
        with self.torch.inference_mode(False):
            fit = adapt_diffusion if isinstance(self.net, DiffusionConverterNet) else adapt
            res = fit(
                self.net,  # type: ignore[arg-type]
                [mel[:n]],
                [wf.mcep[:n, 1:]],
                max_seconds=self.fit_seconds,
                max_steps=self.fit_steps,
                crop=self.fit_crop,
                mask=keep,
                tune_last=self.tune_last,
            )
        mu, sd = f0_stats(wf.f0)
        book = wf.mcep[:n][keep, 1:]
        if len(book) > CODEBOOK_MAX:
            book = book[np.linspace(0, len(book) - 1, CODEBOOK_MAX).astype(np.int64)]
        return ConverterParams(
            res.embedding, res.bias, mu, sd, res.seconds, res.loss, book, res.out_delta
        )

    def convert(self, speech: Audio, params: ConverterParams) -> Audio:
        """`speech` in the fitted voice, at `speech`'s own rate and length."""
        from voxlate.engines.voice.converter_diffusion import DiffusionConverterNet
        from voxlate.engines.voice.converter_model import log_mel

        pw = import_pyworld()
        if speech.duration < 0.05:
            return speech
        wf = world_frames(speech)
        assert wf.ap is not None
        mel = log_mel(speech)
        n = min(len(mel), len(wf.mcep))
        torch = self.torch
        with torch.no_grad():
            spk = torch.from_numpy(params.embedding)[None]
            z = self.net.content(torch.from_numpy(mel[:n])[None])
            delta = None if params.out_delta is None else torch.from_numpy(params.out_delta)
            if isinstance(self.net, DiffusionConverterNet):
                bias = torch.from_numpy(params.bias)[None, :, None]
                yn = self.net.sample(z, spk, bias, delta, self.steps, self.temperature)
            else:
                bias = torch.from_numpy(params.bias)[None, None]
                yn = self.net.decode(z, spk, bias, delta)
            y = self.net.denormalise(yn)[0].numpy()
        if self.knn_strength > 0 and params.codebook is not None and len(params.codebook):
            y = (1 - self.knn_strength) * y + self.knn_strength * knn_average(y, params.codebook)
        mcep = wf.mcep.astype(np.float64).copy()
        mcep[:n, 1:] = y
        fft_size = (wf.sp.shape[1] - 1) * 2
        sp = pw.decode_spectral_envelope(np.ascontiguousarray(mcep), SAMPLE_RATE, fft_size)
        f0 = wf.f0.copy()
        voiced = f0 > 0
        if voiced.any():
            mu_s, sd_s = f0_stats(f0)
            lf0 = params.f0_mean + params.f0_std / sd_s * (np.log(f0[voiced]) - mu_s)
            f0[voiced] = np.clip(np.exp(lf0), F0_FLOOR, 1000.0)
        from voxlate.engines.voice.converter_model import FRAME_MS

        y16 = pw.synthesize(f0, np.ascontiguousarray(sp), wf.ap, SAMPLE_RATE, FRAME_MS)
        y16 = y16[: wf.n_samples]
        if len(y16) < wf.n_samples:
            y16 = np.pad(y16, (0, wf.n_samples - len(y16)))
        out = Audio(y16.astype(np.float32), SAMPLE_RATE).resample(speech.sample_rate)
        samples = out.samples[: len(speech.samples)]
        if len(samples) < len(speech.samples):
            samples = np.pad(samples, (0, len(speech.samples) - len(samples)))
        return Audio(np.clip(samples, -1.0, 1.0), speech.sample_rate)
