"""Command-line conventions shared by every `voxlate` command.

- Help in plain text, so that "[default: ...]" in a help string is printed, not
  taken for Rich markup; every option shows its default.
- Usage lines in the usual form, `voxlate translate [OPTIONS] INPUT`, and option
  values named in capitals (`-o PATH`), where typer writes `{input}` and `<path>`.
- Exit codes: 0 ok, 1 runtime failure, 2 usage error, 3 no speech found, 130
  interrupted (Ctrl-C, after printing "interrupted").
- Every command that decodes audio takes `--max-audio-minutes` (`MaxAudioMinutes`),
  with the same default, passed to `load_audio(..., max_seconds=max_seconds(minutes))`.
- One meaning per flag: `--steps` is training (optimizer) steps, `--sampling-steps` a
  sampler's steps; `--model` a checkpoint to read, `-o/--output` what is written; `-d`
  `--output-dir`. Older spellings with another meaning still work, hidden from the help
  (`HIDDEN_ALIASES`).
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from typer.core import TyperArgument, TyperOption

APPEND_HELP = (
    "Record the run (figures, machine, date, command) in benchmarks/*.jsonl beside this page's "
    "docs/ folder and regenerate the page, e.g. docs/benchmarks.md [default: print the table only]."
)
FIGURE_HELP = "Write the figure (PNG) here [default: no figure]."

# Longest input (minutes of audio) a command decodes by default: 4 hours covers a long
# lecture or meeting, while a small file that would expand without limit (a FLAC of
# hours of silence) is refused while decoding. `voxlate serve` has its own, 30.
MAX_AUDIO_MINUTES = 240.0
MAX_AUDIO_HELP = (
    "Refuse an input longer than this many minutes of audio, checked while decoding (0: no limit)."
)

# The `--max-audio-minutes` option, the same on every command that decodes audio:
# `max_audio_minutes: MaxAudioMinutes = MAX_AUDIO_MINUTES`.
MaxAudioMinutes = Annotated[
    float, typer.Option("--max-audio-minutes", min=0.0, metavar="MINUTES", help=MAX_AUDIO_HELP)
]


def max_seconds(minutes: float) -> float | None:
    """`--max-audio-minutes` as `load_audio`'s `max_seconds` (s); None for 0, no limit."""
    return minutes * 60.0 if minutes > 0 else None


EXIT_OK = 0  # success
EXIT_FAILURE = 1  # a runtime failure (bad input file, missing package, unwritable output)
EXIT_USAGE = 2  # a usage error: unknown option, missing argument, bad value
EXIT_NO_SPEECH = 3  # the input holds no speech
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)


class Interrupted(BaseException):
    """Ctrl-C. A BaseException, so that no `except Exception` in a command swallows it."""


class _UsageArgument(TyperArgument):
    """A positional argument shown as INPUT, [INPUT] or INPUT... on the usage line."""

    def _usage_display_name(self) -> str:
        name = self.display_name_raw.upper()
        if self.nargs != 1:
            name += "..."
        return name if self.required else f"[{name}]"

    def _rich_display_name(self) -> str:
        return self.display_name_raw.upper()

    def display_type_rich(self, ctx: Any) -> str | None:
        return None  # the help text says what the argument is


# Old spellings that still work but are not shown, each under the option it is an alias
# of: {alias: a spelling of that option}; elsewhere the alias is shown as usual. Shown, each would give a flag two meanings.
HIDDEN_ALIASES = {
    "--steps": "--sampling-steps",  # sampling steps; --steps is training steps
    "--model": "--output",  # a trainer's output; --model is a checkpoint to read
    "--out": "--output",
    "-d": "--digit",  # `generate digits`; -d is --output-dir
    "--output": "--output-dir",  # `batch`: -o/--output name its output folder too
}


class _AliasOption(TyperOption):
    """An option whose help line leaves out its hidden old spellings."""

    def get_help_record(self, ctx: Any) -> tuple[str, str] | None:
        opts = self.opts
        self.opts = [o for o in opts if HIDDEN_ALIASES.get(o) not in opts]
        try:
            return super().get_help_record(ctx)
        finally:
            self.opts = opts


def _metavar(param: Any) -> str | None:
    """`PATH`, `TEXT`, `FLOAT`... for an option's value; None for flags."""
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return None
    label = param.display_type(None).strip("<>")
    return {"str": "TEXT", "path": "PATH"}.get(label, label).upper().replace(" ", "_")


def _walk(command: Any) -> Iterator[Any]:
    yield command
    for sub in getattr(command, "commands", {}).values():
        yield from _walk(sub)


def build_command(app: typer.Typer) -> Any:
    """The click command of `app`, with plain-text help and conventional usage lines."""
    command = typer.main.get_command(app)
    for cmd in _walk(command):
        cmd.rich_markup_mode = None  # "[default: X]" in a help string stays visible
        cmd.context_settings.setdefault("show_default", True)
        for p in cmd.params:
            if isinstance(p, TyperArgument):
                p.__class__ = _UsageArgument
            elif p.param_type_name == "option":
                if p.metavar is None:
                    p.metavar = _metavar(p)
                if isinstance(p, TyperOption) and any(
                    HIDDEN_ALIASES.get(o) in p.opts for o in p.opts
                ):
                    p.__class__ = _AliasOption
    return command


@contextmanager
def ctrl_c_raises_interrupted() -> Iterator[None]:
    """Within the block, SIGINT raises Interrupted (typer would exit 130 silently)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise Interrupted()

    try:
        old = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


@contextmanager
def stdin_as_file(path: str | os.PathLike) -> Iterator[Path]:
    """`path` itself, or for `-` a temp file holding all of standard input (removed after)."""
    if str(path) != "-":
        yield Path(path)
        return
    fd, name = tempfile.mkstemp(prefix="voxlate-stdin.")
    try:
        with os.fdopen(fd, "wb") as f:
            shutil.copyfileobj(sys.stdin.buffer, f)
        yield Path(name)
    finally:
        os.unlink(name)
