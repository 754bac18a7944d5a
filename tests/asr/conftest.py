"""Helpers for the speech-recognition tests: a CLI runner and tiny manifests of real speech."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from voxlate.data.manifest import ManifestEntry, audio_duration, write_manifest


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """Tiny models run fastest on one thread, above all on a shared, busy machine."""
    try:
        import torch
    except ImportError:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    """`cli(argv)` runs `voxlate argv` in-process and returns (exit code, stdout, stderr)."""
    from voxlate.cli import main

    def run(argv: list) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            main([str(a) for a in argv])
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture(scope="session")
def librivox_manifest(librivox, tmp_path_factory) -> Path:
    """The five LibriVox clips as a manifest, each with a made-up 'translation' (reversed words)."""
    entries = [
        ManifestEntry(
            audio=str(p),
            text=t,
            duration=audio_duration(p),
            id=p.stem,
            language="en",
            translation=" ".join(reversed(t.split())),
            translation_language="xx",
            group=str(i % 2),
        )  # fmt: skip
        for i, (p, t) in enumerate(librivox)
    ]
    path = tmp_path_factory.mktemp("manifest") / "librivox.jsonl"
    write_manifest(path, entries)
    return path


@pytest.fixture(scope="session")
def korean_clip(tmp_path_factory) -> tuple[Path, str]:
    """A Korean sentence synthesised by espeak-ng (no real Korean speech is available offline)."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    text = "화장실이 어디에 있어요"
    path = tmp_path_factory.mktemp("ko") / "ko.wav"
    subprocess.run([espeak, "-v", "ko", "-s", "140", "-w", str(path), text], check=True)
    return path, text
