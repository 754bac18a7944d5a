"""Shared fixtures: real speech from Debian packages (pocketsphinx-testdata, fillets-ng-data-cs),
found where voxlate.data.pocketsphinx and voxlate.data.fillets say."""

from __future__ import annotations

from pathlib import Path

import pytest

from voxlate.data.fillets import FILLETS_ROOT
from voxlate.data.pocketsphinx import CARDS, LIBRIVOX, clips


@pytest.fixture(scope="session")
def librivox() -> list[tuple[Path, str]]:
    """The five LibriVox clips (16 kHz English, one speaker) with their transcripts."""
    if not LIBRIVOX.exists():
        pytest.skip(
            "pocketsphinx-testdata is not installed (apt-get install pocketsphinx-testdata)"
        )
    return clips("librivox")


@pytest.fixture(scope="session")
def librivox_clip(librivox) -> Path:
    """One 7 s LibriVox clip."""
    return librivox[0][0]


@pytest.fixture(scope="session")
def cards() -> list[tuple[Path, str]]:
    """Five short card-name phrases ("ten of clubs"), another English speaker."""
    if not CARDS.exists():
        pytest.skip(
            "pocketsphinx-testdata is not installed (apt-get install pocketsphinx-testdata)"
        )
    return clips("cards")


@pytest.fixture(scope="session")
def czech_clips() -> list[Path]:
    """Real Czech dialog lines (fillets-ng-data-cs), sorted, a few hundred."""
    clips = sorted(FILLETS_ROOT.glob("sound/*/cs/*.ogg"))
    if not clips:
        pytest.skip("fillets-ng-data-cs is not installed (apt-get install fillets-ng-data-cs)")
    return clips


@pytest.fixture
def run_cli(capsys):
    """Run `voxlate ARGS...` in this process; return (exit code, stdout, stderr)."""
    from voxlate.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        code = 0
        try:
            main([str(a) for a in args])
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


@pytest.fixture(scope="session")
def encoder():
    """One Resemblyzer speaker encoder for the session."""
    pytest.importorskip("resemblyzer")
    from voxlate.engines.voice import ENCODERS

    return ENCODERS.create("resemblyzer")


@pytest.fixture(scope="session")
def synth():
    """English text -> Piper joe speech (22.05 kHz), without sampling noise.

    No noise: the same text gives the same audio, so similarity margins are stable.
    """
    import numpy as np

    from voxlate.audio import Audio

    piper = pytest.importorskip("piper")
    from voxlate.engines.tts.piper import embedded_voice_path

    joe = piper.PiperVoice.load(str(embedded_voice_path()))
    still = piper.SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)

    def speak(text: str) -> Audio:
        chunks = [c.audio_float_array for c in joe.synthesize(text, syn_config=still)]
        return Audio(np.concatenate(chunks), joe.config.sample_rate)

    return speak


@pytest.fixture(scope="session")
def llm_model() -> Path:
    """The embedded LLM's GGUF (the [llm] extra), assembled into the cache; skips without it."""
    from voxlate.engines.mt.llm import EMBEDDED, embedded_available
    from voxlate.parts import assemble

    if not embedded_available():
        pytest.skip("the embedded LLM ([llm] extra) is not installed")
    return assemble(EMBEDDED) / EMBEDDED.filename
