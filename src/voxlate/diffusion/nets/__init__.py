"""Denoiser / score networks: a 2-D U-Net, a 1-D U-Net and an MLP, all time-conditioned."""

from voxlate.diffusion.nets.mlp import MLP, MLPConfig
from voxlate.diffusion.nets.unet1d import UNet1D, UNet1DConfig
from voxlate.diffusion.nets.unet2d import UNet2D, UNet2DConfig

__all__ = ["MLP", "MLPConfig", "UNet1D", "UNet1DConfig", "UNet2D", "UNet2DConfig"]
