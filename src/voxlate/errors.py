"""Errors a user can cause. Each carries one clear sentence and an exit code.

Errors that are bugs are ordinary exceptions and raise with a traceback; the CLI
turns only `VoxlateError` into a one-line message and a non-zero exit.
"""

from __future__ import annotations


class VoxlateError(Exception):
    """A problem with the user's input or machine, explained in one sentence."""

    exit_code: int = 1


class InputError(VoxlateError):
    """A missing, unreadable or unsupported input file or argument."""


class NoSpeechError(VoxlateError):
    """The input holds no speech (empty or silent audio)."""

    exit_code = 3


class UnsupportedLanguageError(VoxlateError):
    """No engine here handles the requested language or language pair."""


class MissingDependencyError(VoxlateError):
    """A Debian or Python package that a chosen engine needs is not installed."""

    def __init__(self, what: str, apt: str | None = None, pip: str | None = None) -> None:
        hint = []
        if apt:
            hint.append(f"sudo apt-get install {apt}")
        if pip:
            hint.append(f"pip install {pip}")
        how = " or ".join(hint)
        super().__init__(f"{what} is not installed; install it with: {how}" if how else what)


class EngineError(VoxlateError):
    """An engine spec is unknown or its model path cannot be loaded."""


class EngineCrashedError(EngineError):
    """An engine's worker process or native library died (a signal, out of memory).

    Callers with a fallback (the guarded translator's Apertium) catch it and go on; the
    message says which engine stopped and how, in one sentence; `cause` is the same without
    the state (for counting: "the LLM worker (llama.cpp) died (signal SIGSEGV)").
    """

    def __init__(self, message: str, cause: str = "") -> None:
        super().__init__(message)
        self.cause = cause or message.rstrip(".")


class DeviceError(VoxlateError):
    """No usable microphone or speakers (no sound card, or PortAudio cannot open it)."""
