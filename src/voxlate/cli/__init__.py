"""The `voxlate` command: a thin typer shell over the library.

Each command group lives in its own module and adds itself to `app` (or to the
shared `bench`/`eval` groups in `voxlate.cli.groups`) when imported below.
Modules import heavy libraries (torch, models) inside their commands so that
`voxlate --help` stays fast.
"""

from __future__ import annotations

import importlib
import os
import shlex
import sys

import typer

from voxlate.cli.conventions import (
    EXIT_INTERRUPTED,
    Interrupted,
    build_command,
    ctrl_c_raises_interrupted,
)
from voxlate.cli.groups import app
from voxlate.errors import VoxlateError

# One line per command module; a module adds its commands to `app` when imported.
COMMAND_MODULES = [
    "voxlate.cli.translate",
    "voxlate.cli.engines",
    "voxlate.cli.bench",
    "voxlate.cli.bench_dub",  # dubbing: background, video RTF (issue 25)
    "voxlate.cli.enhance",
    "voxlate.cli.live",
    "voxlate.cli.serve",
    "voxlate.cli.transcribe",
    "voxlate.cli.asr",
    "voxlate.cli.voice",
    "voxlate.cli.voice_style",  # Kokoro style fitting (issue 13)
    "voxlate.cli.digits",
    "voxlate.cli.speakers",  # spoken digits, SpeakerDiff (issue 6)
    "voxlate.cli.batch",  # many files on Ray workers (issue 14)
    "voxlate.cli.models",  # shipped checkpoints (issue 16)
    "voxlate.cli.doctor",  # every embedded default checked (issue 21)
    "voxlate.cli.render",  # re-create a dub from its edited report (issue 25)
]

for _name in COMMAND_MODULES:
    importlib.import_module(_name)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI; a user error prints one sentence and exits non-zero.

    Exit codes: 0 ok, 1 runtime failure, 2 usage error, 3 no speech, 130 interrupted.
    """
    from voxlate.bench.records import COMMAND_ENV
    from voxlate.parts import cache_dir

    # numba (librosa, via some engines) caches compiled kernels beside their source by
    # default, i.e. in site-packages, which may be read-only: keep them in our cache.
    os.environ.setdefault("NUMBA_CACHE_DIR", str(cache_dir() / "numba"))
    command = build_command(app)
    # the command line a benchmark record names (voxlate.bench.records.current_command),
    # also in the worker processes a benchmark runs in
    words = sys.argv[1:] if argv is None else argv
    previous = os.environ.get(COMMAND_ENV)
    os.environ[COMMAND_ENV] = shlex.join(["voxlate", *map(str, words)])
    try:
        with ctrl_c_raises_interrupted():
            command.main(args=argv, prog_name="voxlate")
    except VoxlateError as e:
        typer.echo(f"error: {e}", err=True)
        sys.exit(e.exit_code)
    except (Interrupted, KeyboardInterrupt):
        typer.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    finally:
        close_workers()
        if previous is None:
            os.environ.pop(COMMAND_ENV, None)
        else:
            os.environ[COMMAND_ENV] = previous


def close_workers() -> None:
    """Shut down the LLM's worker processes, if any started, on every way out: left to the
    interpreter's exit hooks, a worker pool can print a traceback after the run's own
    last word (an `OSError: Bad file descriptor` in concurrent.futures' `_python_exit`)."""
    llm = sys.modules.get("voxlate.engines.mt.llm")
    if llm is not None:
        llm.close_all()
