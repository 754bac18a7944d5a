"""A recording's enhancer is built on its first use, once, whichever thread asks first."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from voxlate.audio import Audio
from voxlate.errors import EngineError
from voxlate.pipeline.engines import Engines, EngineSpecs, lazy_enhancer
from voxlate.pipeline.lazy_enhancer import LazyEnhancer


class Doubler:
    name = "doubler"

    def enhance(self, audio: Audio) -> Audio:
        return Audio(audio.samples * 2, audio.sample_rate)


def test_built_once_on_first_use_across_threads():
    built: list[str] = []

    def create(kind: str, spec: str) -> Doubler:
        built.append(f"{kind} {spec}")
        time.sleep(0.05)  # a slow load: every thread arrives while it runs
        return Doubler()

    lazy = LazyEnhancer(create, "doubler:1", "doubler-class")
    assert not lazy.loaded and built == [] and lazy.name == "doubler-class"
    clip = Audio(np.ones(160, dtype=np.float32), 16_000)
    outs: list[Audio] = []
    threads = [threading.Thread(target=lambda: outs.append(lazy.enhance(clip))) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert built == ["enhance doubler:1"]
    assert lazy.loaded and lazy.name == "doubler"
    assert all(np.allclose(o.samples, 2.0) for o in outs)


def test_file_specs_are_lazy_live_and_none_are_not():
    made: list[str] = []

    def create(kind: str, spec: str) -> object:
        made.append(spec)
        from voxlate.pipeline.engines import create_engine

        return create_engine(kind, spec)

    assert isinstance(lazy_enhancer(EngineSpecs(enhance="deepfilter"), create), LazyEnhancer)
    assert made == []
    assert not isinstance(lazy_enhancer(EngineSpecs(enhance="none"), create), LazyEnhancer)
    assert made == ["none"]
    with pytest.raises(EngineError, match="Unknown enhance engine"):  # refused before the work
        lazy_enhancer(EngineSpecs(enhance="nosuch"), create)
    live = Engines.load(EngineSpecs(enhance="spectral", voice="tts", mt="apertium", live=True),
                        "en", "es")  # fmt: skip
    assert not isinstance(live.enhancer, LazyEnhancer)


def test_the_enhancer_registry_does_not_import_scipy_signal():
    """Looking a name up imports every enhancer module; the spectral gate's scipy.signal
    (0.7 s) is imported only when it runs."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from voxlate.engines.enhance import REGISTRY\n"
        "REGISTRY.names()\n"
        "print('scipy.signal' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
