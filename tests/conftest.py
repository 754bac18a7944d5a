"""Shared fixtures: real speech from Debian packages (see ../shared/DATA.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from voxlate.data.pocketsphinx import CARDS, LIBRIVOX, clips

FILLETS = Path("/usr/share/games/fillets-ng")


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
    clips = sorted(FILLETS.glob("sound/*/cs/*.ogg"))
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
