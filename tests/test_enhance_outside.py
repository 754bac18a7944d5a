"""The outside enhancement set (voxlate.data.outside), `voxlate bench enhance` on it, and
the default engine of `voxlate enhance` that it chose."""

from __future__ import annotations

import numpy as np
import pytest

from voxlate.audio import Audio, load_audio, save_audio
from voxlate.data import outside
from voxlate.data.outside import NOISE_TYPES, SNRS_DB, TRAINING_DOMAIN, build_outside

try:
    outside.utterances("test"), outside.utterances("dev"), outside.noise_files("test")
except Exception as e:  # noqa: BLE001 - a missing package is a skip reason
    pytest.skip(f"outside set not installable here: {e}", allow_module_level=True)


@pytest.fixture(scope="module")
def full() -> list[outside.OutsidePair]:
    return build_outside("all")


def _snr(p: outside.OutsidePair) -> float:
    c, n = p.clean.astype(np.float64), (p.noisy - p.clean).astype(np.float64)
    return float(10 * np.log10(np.sum(c**2) / np.sum(n**2)))


def test_every_pair_is_at_its_snr_within_a_tenth_of_a_db(full) -> None:
    assert len(full) == 4 * (len(outside.utterances("dev")) + len(outside.utterances("test")))
    for p in full:
        assert abs(_snr(p) - p.snr_db) < 0.1, p.name
        assert len(p.noisy) == len(p.clean) and np.abs(p.noisy).max() <= 0.9 + 1e-6


def test_every_noise_type_meets_every_snr_in_each_part(full) -> None:
    for part in ("dev", "test"):
        cells = {(p.noise, p.snr_db) for p in full if p.part == part}
        assert cells == {(n, s) for n in NOISE_TYPES for s in SNRS_DB}, part


def test_no_training_domain_file_and_dev_test_disjoint(full) -> None:
    used = {
        part: {s for p in full if p.part == part for s in p.sources} for part in ("dev", "test")
    }
    for f in used["dev"] | used["test"]:
        assert not f.resolve().is_relative_to(TRAINING_DOMAIN), f
        assert "fillets" not in str(f.resolve()), f
        assert f.exists(), f
    assert not used["dev"] & used["test"]
    assert not {p.speaker for p in full if p.part == "dev"} & {
        p.speaker for p in full if p.part == "test"
    }
    assert all(p.sources for p in full)
    with pytest.raises(Exception, match="training data"):
        outside._load(TRAINING_DOMAIN / "music" / "menu.ogg")


def test_deterministic_and_a_limit_is_a_prefix(full) -> None:
    again = build_outside("test", limit=5)
    first = [p for p in full if p.part == "test"][:5]
    assert [p.name for p in again] == [p.name for p in first]
    for a, b in zip(again, first, strict=True):
        assert np.array_equal(a.noisy, b.noisy) and np.array_equal(a.clean, b.clean)
    other = build_outside("test", seed=1, limit=5)
    assert not all(np.array_equal(a.noisy, b.noisy) for a, b in zip(again, other, strict=True))


def test_bench_enhance_outside_through_the_cli(run_cli, tmp_path) -> None:
    log = tmp_path / "bench.md"
    code, out, err = run_cli(
        "bench", "enhance", "--set", "outside", "--part", "dev", "--limit", "4",
        "--engines", "spectral,predictive,diffusion", "--sampling-steps", "1",
        "--append", log,
    )  # fmt: skip
    assert code == 0, err
    for row in ("| noisy |", "| spectral |", "| predictive |", "| diffusion (1 steps) |"):
        assert row in out, row
    for col in ("music", "babble", "stationary", "effects", "-5 dB", "10 dB"):
        assert col in out, col
    assert "bench enhance --set outside --part dev" in log.read_text()
    assert "RTF" in log.read_text()


def test_bench_enhance_rejects_bad_steps_in_one_sentence(run_cli) -> None:
    code, _, err = run_cli("bench", "enhance", "--limit", "1", "--sampling-steps", "x")
    assert code != 0 and "error:" in err and "Traceback" not in err


def test_voxlate_enhance_defaults_to_the_outside_winner(run_cli, tmp_path, monkeypatch) -> None:
    from voxlate.engines import enhance as enhance_pkg

    assert enhance_pkg.DEFAULT == "deepfilter"
    made: list[str] = []
    create = enhance_pkg.REGISTRY.create
    monkeypatch.setattr(
        enhance_pkg.REGISTRY, "create", lambda spec: made.append(spec) or create(spec)
    )
    pair = build_outside("test", limit=2)[1]  # LibriVox + babble at 0 dB
    noisy = tmp_path / "noisy.wav"
    save_audio(noisy, Audio(pair.noisy[: 3 * 16_000], 16_000))
    out = tmp_path / "out.wav"
    code, _, err = run_cli("enhance", noisy, "-o", out)
    assert code == 0, err
    assert made == ["deepfilter"]
    direct = enhance_pkg.REGISTRY.create("deepfilter").enhance(load_audio(noisy, 16_000))
    assert np.allclose(load_audio(out, 16_000).samples, direct.samples, atol=2e-4)
    code, _, err = run_cli("enhance", noisy, "-o", out, "--engine", "spectral", "--steps", "2")
    assert code != 0 and "diffusion engine only" in err
