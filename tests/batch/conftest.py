"""A local Ray cluster for the batch tests, started and stopped here; short real clips."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf


@pytest.fixture(scope="module")
def ray_cluster():
    """A 2-CPU local Ray with a small object store, shut down after the module."""
    ray = pytest.importorskip("ray")
    if shutil.which("apertium") is None:
        pytest.skip("apertium is not installed")
    ray.init(
        num_cpus=2,
        object_store_memory=100 * 2**20,
        include_dashboard=False,
        configure_logging=False,
    )
    yield ray
    ray.shutdown()
    assert not ray.is_initialized()


@pytest.fixture
def inputs(librivox, tmp_path: Path) -> Path:
    """A folder: two short LibriVox clips (3.0 s, 3.3 s), a broken file and a silent one."""
    folder = tmp_path / "in"
    folder.mkdir()
    short = sorted(librivox, key=lambda c: sf.info(c[0]).duration)[:2]
    for i, (path, _) in enumerate(short):
        shutil.copy(path, folder / f"talk{i}.wav")
    (folder / "broken.wav").write_bytes(b"RIFF\x00\x00not audio at all" * 50)
    sf.write(folder / "silent.wav", np.zeros(16000 * 2, dtype=np.float32), 16000)
    return folder
