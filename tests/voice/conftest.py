"""Voice-test fixtures; the encoder and Piper joe (`encoder`, `synth`) are in tests/conftest.py."""

from __future__ import annotations

import pytest

from voxlate.audio import Audio


@pytest.fixture(scope="session")
def joe_speech(synth) -> Audio:
    return synth("he was not an ill disposed young man")
