"""The settings of each trainer command, one field per option (its help and default are here
only; `voxlate.cli.config_options` makes the options), and the configs they build.

One module for all trainers so that the CLI reads them without importing torch (the task
packages import their models); the configs are built with lazy imports.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from voxlate.training import setting

if TYPE_CHECKING:
    from voxlate.data.mixing import MixConfig
    from voxlate.diffusion.training import TrainConfig
    from voxlate.engines.enhance.score_model import EnhanceConfig
    from voxlate.engines.voice.speakerdiff import SpeakerDiffConfig
    from voxlate.tasks.ctc import CTCConfig
    from voxlate.tasks.ctc.epochs import EpochTrainConfig
    from voxlate.tasks.digits.model import DigitDiffusionConfig
    from voxlate.tasks.st import STConfig


@dataclass(frozen=True)
class EnhanceTrainOptions:
    """What `voxlate enhance train` takes besides its data, output and --resume."""

    kind: str = setting("sgmse", "sgmse (score model on y) or storm (predictor D(y) + score model).")  # fmt: skip
    stage: str = setting("joint", "StoRM: joint, predictor (D only) or score (D frozen; see --predictor-from).")  # fmt: skip
    predictor_from: Path | None = setting(None, "StoRM: start from the predictor of this checkpoint.")  # fmt: skip
    predictor_hidden: int = setting(128, "StoRM: GRU width of the predictor.")
    mask_floor: float | None = setting(
        None,
        "StoRM: lower bound of the predictor's mask (limits the attenuation); default "
        "that of --predictor-from, else 0.",
    )
    estoi_weight: float = setting(0.0, "StoRM: weight of the ESTOI-like term in the predictor's loss.")  # fmt: skip
    init_from: Path | None = setting(None, "Start all weights from this checkpoint (same architecture; new optimizer).")  # fmt: skip
    sigma_max: float = setting(0.5, "OUVE sigma_max (SGMSE+ and StoRM: 0.5).")
    steps: int = setting(100_000, "Optimizer steps.")
    minutes: float = setting(10.0, "Stop (and save) after this many minutes; 0 = no limit.")
    batch_size: int = setting(8, "Excerpts per batch.")
    lr: float = setting(1e-4, "Learning rate.")
    base_channels: int = setting(32, "U-Net width at the first level.")
    chunk_frames: int = setting(128, "Training excerpt length in STFT frames (8 ms each).")
    ema_decay: float = setting(0.999, "EMA decay of the weights.")
    snr_low: float = setting(-2.0, "Lowest mixing SNR (dB).")
    snr_high: float = setting(17.0, "Highest mixing SNR (dB).")
    p_eq: float = setting(0.0, "Augmentation: probability of a random EQ on speech and noise.")
    p_reverb: float = setting(0.0, "Augmentation: probability of a synthetic room on the speech.")  # fmt: skip
    precision: str = setting("fp32", "fp32, bf16 or fp16 (CUDA only).")
    device: str = setting("auto", "auto, cpu or cuda[:N].")
    threads: int = setting(0, "CPU threads for torch; 0 = torch's default.")
    seed: int = setting(0, "Random seed.")

    def model_config(self) -> EnhanceConfig:
        """The SGMSE+ or StoRM model config (StoRM's predictor from --predictor-from if given)."""
        from voxlate.checkpoint import load_checkpoint
        from voxlate.engines.enhance.predictor import PredictorConfig
        from voxlate.engines.enhance.score_model import EnhanceConfig, storm_config

        base = EnhanceConfig()
        cfg = replace(
            base,
            chunk_frames=self.chunk_frames,
            net=replace(base.net, base_channels=self.base_channels),
            sde=replace(base.sde, sigma_max=self.sigma_max),
        )
        if self.kind != "storm":
            return cfg
        pred = PredictorConfig(bins=cfg.stft.bins, hidden=self.predictor_hidden)
        if self.predictor_from is not None:
            pred = getattr(load_checkpoint(self.predictor_from).config, "predictor", None) or pred
        if self.mask_floor is not None:
            pred = replace(pred, mask_floor=self.mask_floor)
        return replace(storm_config(cfg, pred), predictor_estoi_weight=self.estoi_weight)

    def train_config(self) -> TrainConfig:
        """The optimisation settings."""
        from voxlate.diffusion.training import TrainConfig

        return TrainConfig(steps=self.steps, lr=self.lr, ema_decay=self.ema_decay, seed=self.seed,
                           precision=self.precision, max_minutes=self.minutes, device=self.device)  # fmt: skip

    def mix_config(self) -> MixConfig:
        """How noisy examples are mixed."""
        from voxlate.data.mixing import MixConfig

        return MixConfig(snr_low_db=self.snr_low, snr_high_db=self.snr_high, p_eq=self.p_eq,
                         p_reverb=self.p_reverb)  # fmt: skip


@dataclass(frozen=True)
class CTCTrainOptions:
    """What `voxlate asr train` takes besides its manifests, output and folders."""

    tokenizer: str = setting("char", "char, ko-syllable or ko-jamo.")
    encoder: str = setting("gru", "gru (DeepSpeech 2) or conformer (conformer-lite).")
    d_model: int = setting(192, "GRU size per direction / conformer width.")
    layers: int = setting(3, "Recurrent layers or conformer blocks.")
    conv_channels: int = setting(32, "Channels of the convolutional front end.")
    epochs: int = setting(100, "Most epochs.")
    minutes: float = setting(15.0, "Wall-clock budget in minutes (0: none).")
    batch_seconds: float = setting(120.0, "Audio per batch, seconds.")
    lr: float = setting(1.5e-3, "Peak learning rate.")
    threads: int = setting(0, "CPU threads (0: torch default).")
    no_augment: bool = setting(False, "No speed/noise/SpecAugment.", "--no-augment")

    def model_config(self) -> CTCConfig:
        """The recognizer's config."""
        from voxlate.tasks.ctc import CTCConfig, EncoderConfig

        return CTCConfig(EncoderConfig(kind=self.encoder, d_model=self.d_model,
                                       n_layers=self.layers, conv_channels=self.conv_channels))  # fmt: skip

    def train_config(self) -> EpochTrainConfig:
        """The epoch loop's settings."""
        return _epoch_config(self.epochs, self.minutes, self.batch_seconds, self.lr, self.threads,
                             self.no_augment)  # fmt: skip


@dataclass(frozen=True)
class STTrainOptions:
    """What `voxlate st train` takes besides its manifests, output, folders and init."""

    decoder: str = setting("mha", "mha (Transformer decoder) or gru (GRU + attention).")
    no_source_decoder: bool = setting(False, "Only CTC for the transcript.", "--no-source-decoder")  # fmt: skip
    d_model: int = setting(128, "Encoder GRU size per direction.")
    layers: int = setting(2, "Encoder GRU layers.")
    conv_channels: int = setting(16, "Channels of the convolutional front end.")
    dec_d_model: int = setting(128, "Decoder width.")
    dec_layers: int = setting(2, "Decoder layers.")
    epochs: int = setting(100, "Most epochs.")
    minutes: float = setting(15.0, "Wall-clock budget in minutes (0: none).")
    batch_seconds: float = setting(60.0, "Audio per batch, seconds.")
    lr: float = setting(1.5e-3, "Peak learning rate.")
    threads: int = setting(0, "CPU threads (0: torch default).")
    no_augment: bool = setting(False, "No speed/noise/SpecAugment.", "--no-augment")

    def model_config(self) -> STConfig:
        """The speech translator's config."""
        from voxlate.tasks.ctc import EncoderConfig
        from voxlate.tasks.st import DecoderConfig, STConfig

        return STConfig(
            EncoderConfig(d_model=self.d_model, n_layers=self.layers, conv_channels=self.conv_channels),
            DecoderConfig(kind=self.decoder, d_model=self.dec_d_model, n_layers=self.dec_layers),
            source_decoder=not self.no_source_decoder,
        )  # fmt: skip

    def train_config(self) -> EpochTrainConfig:
        """The epoch loop's settings."""
        return _epoch_config(self.epochs, self.minutes, self.batch_seconds, self.lr, self.threads,
                             self.no_augment)  # fmt: skip


def _epoch_config(epochs: int, minutes: float, batch_seconds: float, lr: float, threads: int,
                  no_augment: bool) -> EpochTrainConfig:  # fmt: skip
    from voxlate.tasks.ctc.augment import AugmentConfig
    from voxlate.tasks.ctc.epochs import EpochTrainConfig

    return EpochTrainConfig(
        epochs=epochs, max_minutes=minutes, batch_seconds=batch_seconds, lr=lr, threads=threads,
        augment=None if no_augment else AugmentConfig(),
    )  # fmt: skip


@dataclass(frozen=True)
class DigitsTrainOptions:
    """What `voxlate digits train` takes besides its corpus, output and --resume."""

    layout: str = setting("auto", "auto, audiomnist, fsdd or sc09.")
    steps: int = setting(2400, "Optimizer steps.")
    minutes: float = setting(14.0, "Stop after this wall time (0: none).")
    lr: float = setting(1e-3, "Learning rate.")
    base_channels: int = setting(16, "U-Net width.")
    timesteps: int = setting(400, "Diffusion steps T.")
    p_uncond: float = setting(0.15, "Condition dropout for CFG.")
    threads: int = setting(1, "CPU threads (0: torch default).")
    device: str = setting("auto", "auto, cpu or cuda.")

    def model_config(self) -> DigitDiffusionConfig:
        """The class-conditional U-Net and its DDPM (cosine schedule)."""
        from voxlate.diffusion.ddpm import DDPMConfig
        from voxlate.tasks.digits.model import DigitDiffusionConfig

        ddpm = DDPMConfig(T=self.timesteps, schedule="cosine")
        cfg = DigitDiffusionConfig(p_uncond=self.p_uncond, ddpm=ddpm)
        return replace(cfg, unet=replace(cfg.unet, base_channels=self.base_channels))

    def train_config(self) -> TrainConfig:
        """The optimisation settings."""
        from voxlate.diffusion.training import TrainConfig

        return TrainConfig(steps=self.steps, lr=self.lr, warmup_steps=min(100, self.steps // 10 + 1),
                           ema_decay=0.995, ckpt_every=200, max_minutes=self.minutes,
                           device=self.device)  # fmt: skip


@dataclass(frozen=True)
class SpeakersTrainOptions:
    """What `voxlate speakers train` takes besides its embeddings and output."""

    denoiser: str = setting("mlp", "mlp or unet1d.")
    prediction: str = setting("v", "What the network predicts: eps, x0 or v.")
    steps: int = setting(1500, "Optimizer steps.")
    minutes: float = setting(14.0, "Stop after this wall time (0: none).")
    lr: float = setting(1e-3, "Learning rate.")
    holdout: float = setting(0.2, "Fraction of rows kept out for evaluation.")
    threads: int = setting(1, "CPU threads (0: torch default).")

    def model_config(self) -> SpeakerDiffConfig:
        """SpeakerDiff with a sigmoid-schedule DDPM of 1000 steps."""
        from voxlate.diffusion.ddpm import DDPMConfig
        from voxlate.engines.voice.speakerdiff import SpeakerDiffConfig

        return SpeakerDiffConfig(ddpm=DDPMConfig(T=1000, schedule="sigmoid", prediction=self.prediction))  # type: ignore[arg-type]  # fmt: skip

    def train_config(self) -> TrainConfig:
        """The optimisation settings."""
        from voxlate.diffusion.training import TrainConfig

        return TrainConfig(steps=self.steps, lr=self.lr, warmup_steps=100, ema_decay=0.999,
                           ckpt_every=500, max_minutes=self.minutes)  # fmt: skip


@dataclass(frozen=True)
class ConverterTrainOptions:
    """What `voxlate voice train-converter` takes besides its output."""

    minutes: float = setting(25.0, "Stop after this wall time (0: none).")
    steps: int = setting(20000, "Optimizer steps at most.")
    batch: int = setting(16, "Utterance crops per step.")
    crop: int = setting(128, "Frames (10 ms) per crop.")
    lr: float = setting(1e-3, "Peak learning rate (AdamW).")
    channels: int = setting(192, "Hidden channels of encoder and decoder.")
    bottleneck: int = setting(32, "Channels of the content bottleneck.")
    adversarial: float = setting(0.0, "Weight of the speaker-adversarial loss on the bottleneck (0: none).")  # fmt: skip
    cap_minutes: float = setting(10.0, "Minutes of speech at most per real training speaker.")
    kokoro_sentences: int = setting(40, "Sentences each Kokoro style pack speaks (synthetic speakers; 0: none).")  # fmt: skip
    max_speakers: int = setting(0, "Train on the first N real speakers of the split only (0: all; for quick checks).")  # fmt: skip
    features: Path = setting(Path("runs/converter/features"), "Feature cache folder (reused when present).")  # fmt: skip
    threads: int = setting(1, "CPU threads (0: torch default).")
    seed: int = setting(0, "Random seed.")
    decoder: str = setting("regression", "regression (FiLM decoder, L1) or diffusion (average-voice prior + score network, DiffVC-style).")  # fmt: skip
    device: str = setting("auto", "auto (cuda when available), cpu or cuda[:N].")
    score_channels: int = setting(96, "Hidden channels of the diffusion decoder's score network.")
    score_blocks: int = setting(4, "Residual blocks of the diffusion decoder's score network.")
    sample_steps: int = setting(8, "DDIM steps the diffusion decoder converts with.")
