"""Diffusion toolkit: schedules, noise processes, samplers, guidance, networks, training.

No task knowledge lives here. Samplers and schedules hold no weights: they take a
denoiser or score callable (k-diffusion / diffusers style). See docs/diffusion.md for
the math next to the code that implements it.
"""
