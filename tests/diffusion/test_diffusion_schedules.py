import math

import pytest
import torch

from voxlate.diffusion import schedules as S


def test_linear_endpoints() -> None:
    b = S.linear_betas(1000, 1e-4, 0.02)
    assert b.shape == (1000,)
    assert b[0].item() == pytest.approx(1e-4) and b[-1].item() == pytest.approx(0.02)
    assert S.alpha_bars(b)[-1].item() < 1e-4  # nearly pure noise at T (Ho et al.: ~4e-5)


@pytest.mark.parametrize("fn", [S.cosine_alpha_bar, S.sigmoid_alpha_bar])
def test_continuous_alpha_bar_endpoints(fn) -> None:
    u = torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64)
    a = fn(u)
    assert a[0].item() == pytest.approx(1.0, abs=1e-12)
    assert a[2].item() == pytest.approx(0.0, abs=1e-6)
    assert 0 < a[1].item() < 1


def test_cosine_midpoint_matches_definition() -> None:
    s = 0.008
    f = lambda u: math.cos((u + s) / (1 + s) * math.pi / 2) ** 2  # noqa: E731
    got = S.cosine_alpha_bar(torch.tensor([0.5], dtype=torch.float64)).item()
    assert got == pytest.approx(f(0.5) / f(0.0), rel=1e-12)


@pytest.mark.parametrize("name", ["linear", "cosine", "sigmoid"])
def test_betas_valid_and_alpha_bar_decreasing(name: str) -> None:
    b = S.make_betas(name, 1000)
    assert torch.all(b > 0) and torch.all(b <= S.MAX_BETA)
    ab = S.alpha_bars(b)
    assert torch.all(ab[1:] < ab[:-1])
    assert ab[-1].item() < 1e-3


def test_unknown_schedule() -> None:
    with pytest.raises(ValueError):
        S.make_betas("quadratic", 10)
