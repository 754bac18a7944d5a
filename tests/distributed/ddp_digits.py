"""Train a tiny digit diffusion model; run under torchrun or as a plain script.

    torchrun --standalone --nproc_per_node 2 tests/distributed/ddp_digits.py OUT_DIR STEPS

Writes OUT_DIR/model.pt (rank 0, the toolkit's checkpoint) and OUT_DIR/rank<r>.json per
process: world size, the first batch's digits (are the ranks' data different?), a
checksum of the final weights (are the replicas in sync?) and `any_rank` of a flag set on
the last rank only.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from voxlate.diffusion.ddpm import DDPMConfig
from voxlate.diffusion.nets import UNet2DConfig
from voxlate.diffusion.training import TrainConfig, train
from voxlate.distributed import any_rank, rank, rank_seed, world_size
from voxlate.tasks.digits.dataset import DigitImages, endless_batches
from voxlate.tasks.digits.features import MelConfig
from voxlate.tasks.digits.model import DigitDiffusionConfig, build_denoiser, make_loss

MEL = MelConfig(n_mels=16, frames=16)
CONFIG = DigitDiffusionConfig(
    mel=MEL,
    unet=UNet2DConfig(
        in_channels=1, out_channels=1, base_channels=8, channel_mults=(1, 2), num_classes=10
    ),
    ddpm=DDPMConfig(T=50, schedule="cosine"),
    batch_size=8,
)


def data(n: int = 64) -> DigitImages:
    """Smooth random 'images' (a class-dependent ramp plus noise), the same on every rank."""
    g = torch.Generator().manual_seed(0)
    digits = torch.arange(n) % 10
    ramp = torch.linspace(-1, 1, MEL.frames).expand(MEL.n_mels, MEL.frames)
    x = torch.stack([ramp * (d / 9) for d in digits]).unsqueeze(1)
    x = (x + 0.1 * torch.randn(x.shape, generator=g)).clamp(-1, 1)
    return DigitImages(x, digits, [f"s{i % 3}" for i in range(n)])


def main(out_dir: Path, steps: int) -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)  # the same initial weights on every rank (DDP also broadcasts them)
    model = build_denoiser(CONFIG)
    tc = TrainConfig(
        steps=steps, lr=2e-3, warmup_steps=5, log_every=5, ckpt_every=10_000, device="cpu"
    )
    probe = endless_batches(data(), CONFIG.batch_size, rank_seed(tc.seed), CONFIG.shift)
    first_digits = next(probe)[1].tolist()
    batches = endless_batches(data(), CONFIG.batch_size, rank_seed(tc.seed), CONFIG.shift)
    train(model, make_loss(CONFIG), batches, CONFIG, tc, out_dir / "model.pt", progress=False)
    weights = sum(float(p.detach().double().sum()) for p in model.parameters())
    info = {"rank": rank(), "world_size": world_size(), "first_digits": first_digits}
    info["weights_sum"] = weights
    # a stop decision taken on one rank only reaches every rank
    info["any_rank"] = [any_rank(rank() == world_size() - 1), any_rank(False)]
    (out_dir / f"rank{rank()}.json").write_text(json.dumps(info))


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
