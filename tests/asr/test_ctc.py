import numpy as np
import pytest
import torch

from voxlate.tasks.ctc import (
    CTCConfig,
    CTCModel,
    EncoderConfig,
    evaluate_ctc,
    load_ctc,
    save_ctc,
    train_ctc,
)
from voxlate.tasks.ctc.augment import AugmentConfig, add_noise, change_speed, spec_augment
from voxlate.tasks.ctc.dataset import make_batches
from voxlate.tasks.ctc.decode import beam_decode, greedy_decode
from voxlate.tasks.ctc.encoder import out_lengths
from voxlate.tasks.ctc.epochs import EpochTrainConfig
from voxlate.tasks.ctc.features import log_mel, n_frames
from voxlate.text import Tokenizer

TINY = EncoderConfig(n_mels=40, conv_channels=4, d_model=16, n_layers=1, dropout=0.0)


def _logp(path: list[int], vocab: int = 5) -> torch.Tensor:
    x = torch.full((1, len(path), vocab), -8.0)
    for t, s in enumerate(path):
        x[0, t, s] = 0.0
    return x.log_softmax(-1)


def test_greedy_and_beam_decoding():
    path = [0, 3, 3, 0, 3, 4, 4, 0]
    lengths = torch.tensor([len(path)])
    assert greedy_decode(_logp(path), lengths) == [[3, 3, 4]]
    assert beam_decode(_logp(path), lengths, beam=4) == [[3, 3, 4]]
    # beam search sums paths: two frames split between "3" and blank beat a single "4" frame
    x = torch.log(torch.tensor([[[0.45, 0.0, 0.0, 0.0, 0.55], [0.45, 0.0, 0.0, 0.55, 0.0]]]) + 1e-9)
    assert greedy_decode(x, torch.tensor([2])) == [[4, 3]]
    assert beam_decode(x, torch.tensor([2]), beam=8)[0] in ([4, 3], [4], [3])


def test_features_and_augmentation():
    x = torch.randn(16000) * 0.1
    f = log_mel(x, 40)
    assert f.shape == (n_frames(16000), 40)
    assert f.mean(0).abs().max() < 1e-3
    assert len(change_speed(np.zeros(1000, np.float32), 1.1)) == 909
    rng = np.random.default_rng(0)
    y = add_noise(np.ones(100, np.float32), rng.standard_normal(30).astype(np.float32), 10.0, rng)
    assert y.shape == (100,)
    masked = spec_augment(
        torch.ones(2, 100, 40), torch.tensor([100, 50]), AugmentConfig(time_width=10)
    )
    assert masked.shape == (2, 100, 40) and (masked == 0).any()
    assert out_lengths(torch.tensor([100, 4])).tolist() == [25, 1]


def test_make_batches_respects_budget():
    lengths = [100, 50, 300, 20, 90, 10]
    batches = make_batches(lengths, 300, np.random.default_rng(0))
    assert sorted(i for b in batches for i in b) == list(range(6))
    assert all(max(lengths[i] for i in b) * len(b) <= 300 or len(b) == 1 for b in batches)


@pytest.mark.parametrize("kind", ["gru", "conformer"])
def test_tiny_model_learns_one_batch(kind):
    torch.manual_seed(0)
    tok = Tokenizer.build(["ab ba", "aab"])
    model = CTCModel(
        CTCConfig(
            EncoderConfig(
                n_mels=40, conv_channels=4, d_model=16, n_layers=1, kind=kind, dropout=0.0
            ),
            tok.vocab_size,
        )
    )
    feats = torch.randn(2, 60, 40)
    lengths = torch.tensor([60, 48])
    targets = torch.tensor([tok.encode("ab ba"), tok.encode("aab") + [0, 0]])
    tl = torch.tensor([5, 3])
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    first = None
    for _ in range(60):
        loss = model.loss(feats, lengths, targets, tl)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.5 * first
    model.eval()
    logp, out_len = model(feats, lengths)
    assert tok.decode(greedy_decode(logp, out_len)[0]) == "ab ba"


def test_save_load_round_trip(tmp_path):
    tok = Tokenizer.build(["한국어"], "ko-jamo")
    model = CTCModel(CTCConfig(TINY, tok.vocab_size, "ko")).eval()
    save_ctc(tmp_path / "m.pt", model, tok, [{"epoch": 1}])
    back, tok2, ckpt = load_ctc(tmp_path / "m.pt")
    assert back.cfg == model.cfg and tok2 == tok and ckpt.extra["history"] == [{"epoch": 1}]
    x = torch.randn(1, 50, 40)
    assert torch.allclose(back(x, torch.tensor([50]))[0], model(x, torch.tensor([50]))[0])


def test_train_eval_on_real_speech(librivox_manifest, tmp_path):
    from voxlate.data.manifest import read_manifest

    entries = read_manifest(librivox_manifest)
    cfg = EpochTrainConfig(
        epochs=2, max_minutes=0, batch_seconds=20, warmup_steps=2, augment=AugmentConfig()
    )
    history = train_ctc(
        entries[:3], entries[3:], tmp_path / "ctc.pt", CTCConfig(TINY), cfg, log=lambda s: None
    )
    assert [h["epoch"] for h in history] == [1, 2] and all(0 <= h["dev_cer"] for h in history)
    r = evaluate_ctc(tmp_path / "ctc.pt", entries[3:], beam=3)
    assert r["n"] == 2 and 0 <= r["cer"] and len(r["hyps"]) == 2


def test_asr_cli(librivox_manifest, librivox, tmp_path, cli):
    ckpt = tmp_path / "m.pt"
    code, out, err = cli(
        ["asr", "train", librivox_manifest, librivox_manifest, "--model", ckpt, "--epochs", "1", "--d-model", "16",
         "--layers", "1", "--conv-channels", "4", "--batch-seconds", "30", "--curve", tmp_path / "c.png"],
    )  # fmt: skip
    assert code == 0, err
    assert ckpt.exists() and (tmp_path / "c.png").stat().st_size > 1000
    code, out, err = cli(
        ["asr", "eval", librivox_manifest, "--model", ckpt, "--report", tmp_path / "r.json"]
    )
    assert code == 0 and "CER" in out
    code, out, _ = cli(["asr", "transcribe", librivox[0][0], "--model", ckpt])
    assert code == 0 and out.startswith(str(librivox[0][0]))
    code, _, err = cli(["asr", "eval", librivox_manifest, "--model", tmp_path / "none.pt"])
    assert code != 0 and "Checkpoint not found" in err and "Traceback" not in err
    code, _, err = cli(
        ["asr", "train", librivox_manifest, librivox_manifest, "-o", ckpt, "--tokenizer", "bpe"]
    )
    assert code != 0 and "Unknown tokenizer" in err


def test_prefix_beam_search_finds_the_most_probable_labelling():
    import itertools

    from voxlate.tasks.ctc.decode import beam_decode_one

    def collapse(path):
        out, prev = [], None
        for s in path:
            if s != prev and s != 0:
                out.append(s)
            prev = s
        return tuple(out)

    torch.manual_seed(0)
    for _ in range(10):
        lp = (2 * torch.randn(5, 3)).log_softmax(-1).numpy()
        total: dict[tuple[int, ...], float] = {}
        for path in itertools.product(range(3), repeat=5):  # brute force over all alignments
            k = collapse(path)
            total[k] = np.logaddexp(
                total.get(k, -np.inf), sum(lp[t, s] for t, s in enumerate(path))
            )
        assert tuple(beam_decode_one(lp, beam=50, prune=-1e9)) == max(total, key=total.get)


def test_planned_steps_follow_the_time_budget():
    from voxlate.tasks.ctc.epochs import planned_steps

    cfg = EpochTrainConfig(epochs=10, max_minutes=1.0)
    assert planned_steps(1, 50, cfg, 0.0) == 500  # nothing measured yet: all epochs
    assert planned_steps(3, 50, cfg, 40.0) == 150  # 20 s per epoch -> 3 epochs fit in 60 s
    assert planned_steps(5, 50, cfg, 200.0) == 250  # never fewer than the epochs begun
    assert (
        planned_steps(2, 50, EpochTrainConfig(epochs=4, max_minutes=0.0), 999.0) == 200
    )  # no budget
