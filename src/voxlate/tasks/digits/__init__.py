"""Spoken-digit generation: class-conditional diffusion over log-mels, with guidance.

Modules: `features` (log-mel images and Griffin-Lim), `dataset` (corpora as tensors),
`model` (the conditional U-Net DDPM), `classifier` (the separately trained scorer),
`metrics` (accuracy, IS, mIS, Frechet distance) and `evaluate` (the guidance x steps table).
"""
