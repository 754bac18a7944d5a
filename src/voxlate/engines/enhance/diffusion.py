"""Score-based diffusion enhancement from a voxlate checkpoint: SGMSE+ (Richter et al., 2023)
or StoRM (Lemercier et al., 2023), whichever the checkpoint holds.

Spec ``diffusion:PATH`` loads a checkpoint written by ``voxlate enhance train``; it holds
its own config, so nothing else is needed. Plain ``diffusion`` loads the StoRM model
shipped in the package (``voxlate.shipped``). Runs on CUDA when present, else on CPU.
Input at any rate is resampled to the model's rate (16 kHz) and back.
"""

from __future__ import annotations

import os

from voxlate.audio import Audio
from voxlate.engines.enhance import REGISTRY
from voxlate.errors import InputError


@REGISTRY.register("diffusion")
class DiffusionEnhancer:
    """steps: reverse-diffusion steps; None = the model's default (`default_sampler`:
    SGMSE+ 30 PC steps, StoRM 10 steps from D(y), unless set at export); 0 = StoRM's
    predictor D(y) alone."""

    def __init__(
        self,
        checkpoint: str | os.PathLike,
        steps: int | None = None,
        device: str = "auto",
        seed: int = 0,
    ) -> None:
        from dataclasses import replace

        from voxlate.checkpoint import load_checkpoint
        from voxlate.diffusion.training import pick_device
        from voxlate.engines.enhance.score_model import EnhanceConfig, ScoreModel, default_sampler

        ck = load_checkpoint(checkpoint, expect=EnhanceConfig)
        self.device = pick_device(device)
        self.model = ScoreModel(ck.config).to(self.device).eval()
        self.model.load_state_dict(ck.inference_weights)
        if steps is not None and (steps < 0 or (steps == 0 and ck.config.predictor is None)):
            raise InputError("steps must be >= 1 (0, the predictor alone, needs a StoRM model).")
        options = default_sampler(ck.config)
        self.options = replace(options, seed=seed, steps=options.steps if steps is None else steps)
        self.sample_rate = ck.config.sample_rate
        self.progress = False  # show a progress bar over the sampler's steps

    @classmethod
    def from_spec(cls, arg: str | None) -> DiffusionEnhancer:
        """``diffusion:PATH`` loads PATH; plain ``diffusion`` the shipped StoRM model."""
        if not arg:
            from voxlate.shipped import ENHANCE_STORM, shipped_path

            return cls(shipped_path(ENHANCE_STORM))
        return cls(arg)

    def enhance(self, audio: Audio) -> Audio:
        from voxlate.engines.enhance.score_model import enhance_waveform

        if len(audio.samples) == 0:
            return audio
        x = audio.resample(self.sample_rate)
        if self.progress:
            from tqdm import tqdm

            with tqdm(
                total=self.options.steps, desc=self.model.config.kind, unit="step", leave=False
            ) as bar:
                y = enhance_waveform(
                    self.model, x.samples, self.options, lambda i, _: bar.update(1)
                ).samples
        else:
            y = enhance_waveform(self.model, x.samples, self.options).samples
        return Audio(y, self.sample_rate).resample(audio.sample_rate)


@REGISTRY.register("predictive")
class PredictiveEnhancer(DiffusionEnhancer):
    """StoRM's predictive model D(y) alone, no diffusion (the predictive-only baseline).

    Spec ``predictive:PATH`` loads a StoRM checkpoint; plain ``predictive`` the shipped one.
    """

    name = "predictive"  # not the parent's "diffusion": reports name what ran

    def __init__(self, checkpoint: str | os.PathLike, device: str = "auto") -> None:
        super().__init__(checkpoint, steps=0, device=device)

    @classmethod
    def from_spec(cls, arg: str | None) -> PredictiveEnhancer:
        if not arg:
            from voxlate.shipped import ENHANCE_STORM, shipped_path

            return cls(shipped_path(ENHANCE_STORM))
        return cls(arg)
