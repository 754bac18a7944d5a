"""The checkpoints shipped in the package (voxlate.shipped): manifest, loading, and the
commands that use them with no --model, on real speech."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from voxlate import shipped
from voxlate.audio import Audio, load_audio, save_audio
from voxlate.errors import EngineError
from voxlate.parts import file_sha256

ENTRIES = shipped.manifest()


def test_manifest_matches_the_files() -> None:
    folder = shipped.checkpoints_dir()
    on_disk = {p.name for p in folder.glob("*.pt")}
    assert on_disk == set(ENTRIES), "every shipped .pt is listed, and only those"
    for name, e in ENTRIES.items():
        path = folder / name
        assert path.stat().st_size == e.bytes, name
        assert file_sha256(path) == e.sha256, name
        assert e.command and e.data and e.licence and e.figures and e.date, name
        assert shipped.shipped_path(name) == path
    # they live in git; 22 MB since the converter trained on the talkies (1.24 MB, session 8)
    assert sum(e.bytes for e in ENTRIES.values()) <= 22_000_000


def test_each_shipped_checkpoint_loads() -> None:
    from voxlate.engines.enhance.diffusion import DiffusionEnhancer
    from voxlate.engines.voice.speakerdiff import SpeakerDiff, default_model_path
    from voxlate.tasks.ctc.model import load_ctc
    from voxlate.tasks.digits.classifier import load_classifier
    from voxlate.tasks.digits.model import DigitDiffusion
    from voxlate.tasks.st.train import load_st, load_text_mt

    p = shipped.shipped_path
    assert DigitDiffusion.load(p(shipped.DIGITS_DIFFUSION)).config.mel.n_mels > 0
    assert load_classifier(p(shipped.DIGITS_CLASSIFIER)) is not None
    enh = DiffusionEnhancer(p(shipped.ENHANCE_STORM))
    assert enh.model.config.kind == "storm" and enh.options.steps == 0  # D(y) alone
    assert load_st(p(shipped.ST_FILLETS_CS))[3].extra["history"]
    assert load_ctc(p(shipped.CTC_FILLETS_CS))[1] is not None
    assert load_text_mt(p(shipped.TEXT_MT_FILLETS_CS))[1] is not None
    assert default_model_path() == p(shipped.SPEAKERDIFF)
    assert SpeakerDiff.load(p(shipped.SPEAKERDIFF)).config.dim == 256


def test_generate_digits_with_the_shipped_model(run_cli, tmp_path) -> None:
    out = tmp_path / "digits"
    code, stdout, err = run_cli(
        "generate", "digits", "--digit", "7", "-n", "2", "--sampling-steps", "4",
        "--griffin-lim-iters", "4", "-o", out,
    )  # fmt: skip
    assert code == 0, err
    wavs = sorted(out.glob("7_*.wav"))
    assert len(wavs) == 2 and (out / "grid.png").is_file()
    audio = load_audio(wavs[0])
    assert 0.5 < audio.duration < 2.0 and np.abs(audio.samples).max() > 0.01


def _si_sdr(est: np.ndarray, ref: np.ndarray) -> float:
    a = np.dot(est, ref) / np.dot(ref, ref)
    return float(10 * np.log10(np.sum((a * ref) ** 2) / np.sum((est - a * ref) ** 2)))


def test_enhance_with_the_shipped_model(run_cli, tmp_path, librivox_clip) -> None:
    clean = load_audio(librivox_clip, 16_000).slice(0, 3.0)
    noise = np.random.default_rng(0).standard_normal(len(clean.samples)).astype(np.float32)
    noise *= np.sqrt(np.mean(clean.samples**2) / np.mean(noise**2)) / 10 ** (5 / 20)  # 5 dB
    noisy = tmp_path / "noisy.wav"
    save_audio(noisy, Audio(clean.samples + noise, 16_000))
    out = tmp_path / "clean.wav"
    code, _, err = run_cli("enhance", noisy, "-o", out, "--engine", "diffusion")
    assert code == 0, err
    enhanced = load_audio(out, 16_000)
    n = min(len(enhanced.samples), len(clean.samples))
    before = _si_sdr(load_audio(noisy, 16_000).samples[:n], clean.samples[:n])
    after = _si_sdr(enhanced.samples[:n], clean.samples[:n])
    assert after > before + 1.0, f"SI-SDR {before:.1f} -> {after:.1f} dB"


def test_st_translate_with_the_shipped_model(run_cli, czech_clips) -> None:
    code, out, err = run_cli("st", "translate", czech_clips[0], czech_clips[1])
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 2
    for line in lines:
        path, transcript, translation = line.split("\t")
        assert transcript.strip() and translation.strip()
        assert any(c.isalpha() for c in translation)


@pytest.fixture
def altered(tmp_path, monkeypatch):
    """A copy of the shipped folder whose ST checkpoint has one byte changed."""
    copy = tmp_path / "checkpoints"
    shutil.copytree(shipped.checkpoints_dir(), copy)
    blob = bytearray((copy / shipped.ST_FILLETS_CS).read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    (copy / shipped.ST_FILLETS_CS).write_bytes(bytes(blob))
    (copy / shipped.ENHANCE_STORM).unlink()
    monkeypatch.setattr(shipped, "checkpoints_dir", lambda: copy)
    return copy


def test_altered_or_missing_checkpoint_is_one_sentence(run_cli, altered, czech_clips) -> None:
    code, out, err = run_cli("st", "translate", czech_clips[0])
    assert code != 0 and not out
    msg = err.strip()
    assert "sha256" in msg and "Traceback" not in msg and len(msg.splitlines()) == 1
    with pytest.raises(EngineError, match="missing"):
        shipped.shipped_path(shipped.ENHANCE_STORM)
    with pytest.raises(EngineError, match="No shipped checkpoint"):
        shipped.shipped_path("nope.pt")
    code, _, err = run_cli("models", "--verify")
    assert code != 0 and len(err.strip().splitlines()) == 1


def test_models_lists_the_manifest(run_cli) -> None:
    code, out, err = run_cli("models", "--verify", "--commands")
    assert code == 0, err
    for name, e in ENTRIES.items():
        assert name in out and e.command in out
    assert "all sha256 match" in out
