from __future__ import annotations

import itertools
import json

import pytest
import torch

from voxlate.checkpoint import load_checkpoint
from voxlate.diffusion.ddpm import DDPM, DDPMConfig
from voxlate.diffusion.nets import MLP, MLPConfig, UNet1D, UNet1DConfig, UNet2D, UNet2DConfig
from voxlate.diffusion.training import TrainConfig, train
from voxlate.errors import InputError


@pytest.mark.parametrize("shape", [(2, 2, 16, 16), (1, 2, 13, 21)])
def test_unet2d_any_size_and_conditioning(shape) -> None:
    net = UNet2D(UNet2DConfig(base_channels=8, channel_mults=(1, 2), attention=True, num_classes=4))
    out = net(torch.randn(shape), torch.rand(shape[0]), torch.zeros(shape[0], dtype=torch.long))
    assert out.shape == shape
    vec = UNet2D(UNet2DConfig(base_channels=8, channel_mults=(1, 2), cond_dim=3))
    assert vec(torch.randn(shape), torch.rand(shape[0]), torch.randn(shape[0], 3)).shape == shape


def test_unet1d_and_mlp_shapes() -> None:
    net = UNet1D(UNet1DConfig(base_channels=8, channel_mults=(1, 2)))
    assert net(torch.randn(3, 37), torch.rand(3)).shape == (3, 37)
    mlp = MLP(MLPConfig(dim=5, cond_dim=2))
    assert mlp(torch.randn(3, 5), torch.rand(3), torch.randn(3, 2)).shape == (3, 5)


def test_tiny_model_overfits_one_batch() -> None:
    """Fixed x0, t and eps: a small MLP drives the eps-loss far below its start."""
    torch.manual_seed(0)
    ddpm = DDPM.from_config(DDPMConfig(T=100))
    net = MLP(MLPConfig(dim=16, hidden=128, layers=2))
    x0 = torch.randn(8, 16)
    t = torch.randint(0, 100, (8,))
    eps = torch.randn(8, 16)
    xt = ddpm.q_sample(x0, t, eps)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    losses = []
    for _ in range(300):
        loss = torch.mean((net(xt, t.float()) - eps) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0], (losses[0], losses[-1])


def test_training_loop_checkpoint_and_resume(tmp_path) -> None:
    ddpm_cfg = DDPMConfig(T=50)
    cfg = MLPConfig(dim=2, hidden=16, layers=2)
    ddpm = DDPM.from_config(ddpm_cfg)
    data = torch.randn(256, 2) * 0.5 + 1.0

    def batches():
        for i in itertools.count():
            yield data[(i * 32) % 256 : (i * 32) % 256 + 32]

    def loss_fn(model, batch, gen):
        return ddpm.loss(model, batch, generator=gen)

    out = tmp_path / "m.pt"
    tc = TrainConfig(steps=20, lr=1e-3, log_every=5, ckpt_every=10, device="cpu")
    train(MLP(cfg), loss_fn, batches(), cfg, tc, out, progress=False)
    ck = load_checkpoint(out)
    assert ck.config == cfg and ck.train_config == tc and ck.step == 20
    model = MLP(ck.config)
    model.load_state_dict(ck.inference_weights)
    lines = [json.loads(x) for x in out.with_suffix(".log.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [5, 10, 15, 20]
    tc2 = TrainConfig(steps=30, lr=1e-3, log_every=5, device="cpu")
    train(MLP(ck.config), loss_fn, batches(), ck.config, tc2, out, resume=out, progress=False)
    assert load_checkpoint(out).step == 30


def test_load_checkpoint_errors(tmp_path) -> None:
    with pytest.raises(InputError):
        load_checkpoint(tmp_path / "missing.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError):
        load_checkpoint(bad)
