"""Score-based diffusion enhancement (SGMSE+, Richter et al., 2023) from a voxlate checkpoint.

Spec ``diffusion:PATH`` loads a checkpoint written by ``voxlate enhance train``; it holds
its own config, so nothing else is needed. Runs on CUDA when present, else on CPU.
Input at any rate is resampled to the model's rate (16 kHz) and back.
"""

from __future__ import annotations

import os

from voxlate.audio import Audio
from voxlate.engines.enhance import REGISTRY
from voxlate.errors import EngineError


@REGISTRY.register("diffusion")
class DiffusionEnhancer:
    """steps: reverse-diffusion steps (SGMSE+: 30); corrector settings as SGMSE+."""

    def __init__(
        self, checkpoint: str | os.PathLike, steps: int = 30, device: str = "auto", seed: int = 0
    ) -> None:
        from voxlate.diffusion.checkpoint import load_checkpoint
        from voxlate.diffusion.training import pick_device
        from voxlate.tasks.enhance.model import EnhanceConfig, SamplerOptions, ScoreModel

        ck = load_checkpoint(checkpoint)
        if not isinstance(ck.config, EnhanceConfig):
            raise EngineError(f"{checkpoint} is not a speech-enhancement checkpoint.")
        self.device = pick_device(device)
        self.model = ScoreModel(ck.config).to(self.device).eval()
        self.model.load_state_dict(ck.inference_weights)
        self.options = SamplerOptions(steps=steps, seed=seed)
        self.sample_rate = ck.config.sample_rate
        self.progress = False  # show a progress bar over the sampler's steps

    @classmethod
    def from_spec(cls, arg: str | None) -> DiffusionEnhancer:
        if not arg:
            raise EngineError(
                "The diffusion enhancer needs a checkpoint: --enhance diffusion:PATH.pt"
            )
        return cls(arg)

    def enhance(self, audio: Audio) -> Audio:
        from voxlate.tasks.enhance.model import enhance_waveform

        if len(audio.samples) == 0:
            return audio
        x = audio.resample(self.sample_rate)
        if self.progress:
            from tqdm import tqdm

            with tqdm(total=self.options.steps, desc="diffusion", unit="step", leave=False) as bar:
                y = enhance_waveform(
                    self.model, x.samples, self.options, lambda i, _: bar.update(1)
                ).samples
        else:
            y = enhance_waveform(self.model, x.samples, self.options).samples
        return Audio(y, self.sample_rate).resample(audio.sample_rate)
