from __future__ import annotations

import torch

from voxlate.diffusion.ddpm import DDPM, DDPMConfig
from voxlate.diffusion.guidance import ClassifierFreeGuidance, ClassifierGuidance, drop_condition
from voxlate.diffusion.nets import MLP, MLPConfig


def _model() -> MLP:
    torch.manual_seed(0)
    return MLP(MLPConfig(dim=2, hidden=32, layers=2, num_classes=3)).eval()


def test_cfg_scale_one_equals_conditional_and_zero_unconditional() -> None:
    model = _model()
    x, t, c = torch.randn(5, 2), torch.randint(0, 1000, (5,)), torch.tensor([0, 1, 2, 1, 0])
    with torch.no_grad():
        cond = model(x, t, cond=c)
        uncond = model(x, t, cond=torch.full_like(c, 3))
        assert torch.allclose(ClassifierFreeGuidance(model, c, 3, 1.0)(x, t), cond)
        assert torch.allclose(ClassifierFreeGuidance(model, c, 3, 0.0)(x, t), uncond)
        # The batched path (2B in one call) agrees with eps_u + s (eps_c - eps_u).
        got = ClassifierFreeGuidance(model, c, 3, 1.0 + 1e-9)(x, t)
        assert torch.allclose(got, cond, atol=1e-6)
        got = ClassifierFreeGuidance(model, c, 3, 3.0)(x, t)
        assert torch.allclose(got, uncond + 3.0 * (cond - uncond), atol=1e-6)


def test_drop_condition() -> None:
    c = torch.arange(1000) % 3
    d = drop_condition(c, 0.2, 3, torch.Generator().manual_seed(0))
    frac = (d == 3).float().mean().item()
    assert 0.15 < frac < 0.25
    assert torch.equal(d[d != 3], c[d != 3])
    v = drop_condition(torch.randn(10, 4), 1.0, torch.zeros(4))
    assert torch.equal(v, torch.zeros(10, 4))


def test_classifier_guidance_scale_one_gives_exact_conditional() -> None:
    """Two classes N(-m, 1) and N(+m, 1): eps_u - sqrt(1-ab) grad log p(y|x_t) = eps_c exactly."""
    ddpm = DDPM.from_config(DDPMConfig(T=1000))
    m = 2.0

    def stats(t: torch.Tensor):
        ab = ddpm.alpha_bars[t].float().reshape(-1, 1)
        return (
            ab.sqrt(),
            (1 - ab).sqrt(),
            ab + (1 - ab),
        )  # a, s, var_t (= 1 for unit-variance classes)

    def eps_cond(x, t, y):
        a, s, v = stats(t)
        mu = a * m * (2 * y.float().reshape(-1, 1) - 1)
        return s * (x - mu) / v

    def log_components(x, t):
        a, _, v = stats(t)
        return torch.cat(
            [-((x - a * m * k) ** 2).sum(1, keepdim=True) / (2 * v) for k in (-1, 1)], 1
        )

    def eps_uncond(x, t):
        w = torch.softmax(log_components(x, t), dim=1)
        return w[:, :1] * eps_cond(x, t, torch.zeros(len(x))) + w[:, 1:] * eps_cond(
            x, t, torch.ones(len(x))
        )

    x = torch.randn(64, 2) * 2
    t = torch.randint(0, 1000, (64,))
    y = torch.randint(0, 2, (64,))
    guided = ClassifierGuidance(eps_uncond, log_components, y, ddpm, scale=1.0)(x, t)
    assert torch.allclose(guided, eps_cond(x, t, y), atol=1e-5)
