"""XTTS-v2 wiring: clear errors without the model directory or the coqui-tts package."""

from __future__ import annotations

import importlib.util

import pytest

from voxlate.engines.tts import REGISTRY
from voxlate.errors import EngineError, MissingDependencyError


def test_registered():
    assert "xtts" in REGISTRY.names()


def test_needs_a_model_dir():
    with pytest.raises(EngineError, match="model directory"):
        REGISTRY.create("xtts")


def test_missing_dir(tmp_path):
    with pytest.raises(EngineError, match="not found"):
        REGISTRY.create(f"xtts:{tmp_path / 'nope'}")


def test_incomplete_dir(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(EngineError, match="missing model.pth, vocab.json"):
        REGISTRY.create(f"xtts:{tmp_path}")


@pytest.mark.skipif(importlib.util.find_spec("TTS") is not None, reason="coqui-tts is installed")
def test_missing_package_is_a_clear_error(tmp_path):
    for f in ("config.json", "model.pth", "vocab.json"):
        (tmp_path / f).write_text("{}")
    with pytest.raises(MissingDependencyError, match="pip install coqui-tts"):
        REGISTRY.create(f"xtts:{tmp_path}")
