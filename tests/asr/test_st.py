import torch

from voxlate.data.manifest import read_manifest
from voxlate.tasks.ctc import EncoderConfig
from voxlate.tasks.ctc.epochs import EpochTrainConfig
from voxlate.tasks.st import DecoderConfig, STConfig, STModel, evaluate_st, train_st, train_text_mt
from voxlate.tasks.st.decoding import DecodingOptions, beam_search

ENC = EncoderConfig(n_mels=40, conv_channels=4, d_model=16, n_layers=1, dropout=0.0)


def _dec(kind: str) -> DecoderConfig:
    return DecoderConfig(kind=kind, d_model=16, n_layers=1, n_heads=2, dropout=0.0, max_len=12)


def test_multi_decoder_losses_and_decoding():
    for kind in ("mha", "gru"):
        model = STModel(STConfig(ENC, _dec(kind), source_vocab=10, target_vocab=12))
        feats, lengths = torch.randn(2, 80, 40), torch.tensor([80, 60])
        src = (torch.tensor([[3, 4, 5], [6, 7, 0]]), torch.tensor([3, 2]))
        tgt = (torch.tensor([[8, 9], [10, 11]]), torch.tensor([2, 2]))
        losses = model.losses(feats, lengths, src, tgt)
        assert set(losses) == {"ctc", "source", "target", "total"}
        losses["total"].backward()
        assert model.encoder.proj.weight.grad is not None  # the encoder is shared by all heads
        model.eval()
        mem, _, pad = model.encode(feats, lengths)
        for beam in (1, 3):
            out = beam_search(model.target, mem, pad, DecodingOptions(beam_size=beam))
            assert len(out) == 2 and all(len(o) <= 12 for o in out)


def test_train_and_eval_with_cascade(librivox_manifest, tmp_path):
    entries = read_manifest(librivox_manifest)
    cfg = EpochTrainConfig(epochs=1, max_minutes=0, batch_seconds=20, warmup_steps=1, augment=None)
    hist = train_st(
        entries[:3],
        entries[3:],
        tmp_path / "st.pt",
        STConfig(ENC, _dec("mha")),
        cfg,
        log=lambda s: None,
    )
    assert "dev_target" in hist[0]
    train_text_mt(
        entries,
        entries[3:],
        tmp_path / "mt.pt",
        _dec("gru"),
        EpochTrainConfig(epochs=1, max_minutes=0),
        log=lambda s: None,
    )
    r = evaluate_st(tmp_path / "st.pt", entries[3:], tmp_path / "mt.pt")
    assert {"wer_ctc", "wer_source", "bleu", "bleu_cascade", "bleu_text_mt_gold"} <= set(r)
    assert 0 <= r["bleu"] <= 100 and len(r["examples"]) == 2


def test_encoder_initialised_from_ctc(librivox_manifest, tmp_path):
    from voxlate.tasks.ctc import CTCConfig, CTCModel, save_ctc
    from voxlate.text import Tokenizer

    ctc = CTCModel(CTCConfig(ENC, 10))
    save_ctc(tmp_path / "ctc.pt", ctc, Tokenizer.build(["ab"]))
    entries = read_manifest(librivox_manifest)[:2]
    cfg = EpochTrainConfig(
        epochs=1, max_minutes=0, batch_seconds=20, lr=0.0, warmup_steps=1, augment=None
    )
    train_st(
        entries,
        [],
        tmp_path / "st.pt",
        STConfig(EncoderConfig(), _dec("gru")),
        cfg,
        log=lambda s: None,
        init_encoder=tmp_path / "ctc.pt",
    )
    from voxlate.tasks.st.train import load_st

    st, _, _, _ = load_st(tmp_path / "st.pt")
    assert st.cfg.encoder == ENC
    assert torch.allclose(st.encoder.proj.weight, ctc.encoder.proj.weight)


def test_st_cli(librivox_manifest, librivox, tmp_path, cli):
    ckpt = tmp_path / "st.pt"
    args = ["st", "train", librivox_manifest, librivox_manifest, "-o", ckpt, "--epochs", "1", "--d-model", "16",
            "--layers", "1", "--conv-channels", "4", "--dec-d-model", "16", "--dec-layers", "1", "--decoder", "gru",
            "--curve", tmp_path / "c.png"]  # fmt: skip
    code, _, err = cli(args)
    assert code == 0, err
    assert (tmp_path / "c.png").stat().st_size > 1000  # the learning curve
    code, out, err = cli(["st", "eval", librivox_manifest, "-m", ckpt])
    assert code == 0 and "BLEU" in out and "beam 4" in out, err
    code, out, err = cli(["st", "eval", librivox_manifest, "-m", ckpt, "--beam", "1"])
    assert code == 0 and "beam 1" in out, err
    code, _, err = cli(["st", "eval", librivox_manifest, "-m", ckpt, "--beam", "0"])
    assert code != 0 and "--beam" in err and "Traceback" not in err
    code, out, _ = cli(["st", "translate", librivox[0][0], "-m", ckpt])
    assert code == 0 and out.count("\t") == 2
    code, _, err = cli(["st", "eval", librivox_manifest, "-m", tmp_path / "nope.pt"])
    assert code != 0 and "Traceback" not in err
