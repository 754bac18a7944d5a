"""A persistent Apertium pipeline in null-flush mode: milliseconds per sentence, not 0.15 s.

``apertium -u eng-spa`` starts a dozen programs (the mode's pipeline) for every call;
on this 2-core machine that costs about 0.15 s, most of a live utterance's
translation time. Every Apertium program accepts ``-z`` (null-flush mode): it
processes its input up to a NUL byte, writes the result followed by NUL, and flushes.
`NullFlushPipe` starts a mode's pipeline once with ``-z`` on every program and then
exchanges one NUL-terminated Apertium-stream message per request.

The text is put into the Apertium stream format by hand (special characters escaped,
the trailing newline as a superblank), as ``apertium-destxt`` would, because the
text deformatters have no null-flush mode.
"""

from __future__ import annotations

import os
import re
import select
import shlex
import subprocess
import threading
from pathlib import Path
from typing import IO

from voxlate.errors import EngineError

TIMEOUT_S = 10.0  # longest wait for one reply before the pipe is declared broken
_SPECIAL = re.compile(r"([\\\[\]\^\$/@<>{}])")


def escape(text: str) -> str:
    """Plain text as Apertium stream text (its special characters escaped)."""
    return _SPECIAL.sub(r"\\\1", text)


def unescape(stream: str) -> str:
    """Apertium stream text back to plain text: superblanks ``[...]`` become spaces."""
    out: list[str] = []
    i, n = 0, len(stream)
    while i < n:
        c = stream[i]
        if c == "\\" and i + 1 < n:
            out.append(stream[i + 1])
            i += 2
        elif c == "[":
            i += 1
            while i < n and stream[i] != "]":
                i += 2 if stream[i] == "\\" else 1
            out.append(" ")
            i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def mode_commands(mode_file: Path, generation: str = "-n") -> list[list[str]]:
    """The programs of an Apertium mode file, each with ``-z`` added.

    generation: the value of the mode's ``$1`` (``-n``: no unknown-word marks, as
    ``apertium -u``; ``-g``: with them). ``$2`` (tagger options) is left empty.
    """
    text = mode_file.read_text().strip()
    text = text.replace("$1", generation).replace("$2", "")
    commands = []
    for part in text.split("|"):
        argv = shlex.split(part)
        if not argv:
            raise EngineError(f"Cannot read the Apertium mode {mode_file}.")
        commands.append([argv[0], "-z", *argv[1:]])
    return commands


class NullFlushPipe:
    """One running pipeline of programs in null-flush mode; `query` is thread-safe.

    commands: the pipeline's programs (each already given ``-z``). The processes start
    on the first query and are restarted once if they die; a reply that does not come
    within `timeout_s` raises EngineError (callers then fall back to one-shot calls).
    """

    def __init__(self, commands: list[list[str]], timeout_s: float = TIMEOUT_S) -> None:
        self.commands = commands
        self.timeout_s = timeout_s
        self._procs: list[subprocess.Popen] = []
        self._lock = threading.Lock()

    def query(self, message: str) -> str:
        """Send `message` (Apertium stream text) and return the pipeline's reply."""
        with self._lock:
            for attempt in (0, 1):
                try:
                    if not self._alive():
                        self._start()
                    return self._exchange(message)
                except (OSError, EngineError) as e:
                    self.close()
                    if attempt:
                        raise EngineError(f"the Apertium pipeline failed: {e}") from e
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Stop the pipeline's processes (a later query starts them again)."""
        for p in self._procs:
            if p.poll() is None:
                p.kill()
            p.wait()
            for f in (p.stdin, p.stdout):
                if f is not None:
                    f.close()
        self._procs = []

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: nothing useful to do
            pass

    # ---- internals ----------------------------------------------------------------------

    def _alive(self) -> bool:
        return bool(self._procs) and all(p.poll() is None for p in self._procs)

    def _start(self) -> None:
        procs: list[subprocess.Popen] = []
        prev: int | IO[bytes] | None = subprocess.PIPE
        try:
            for argv in self.commands:
                p = subprocess.Popen(
                    argv,
                    stdin=prev,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    bufsize=0,
                )
                if procs and procs[-1].stdout is not None:
                    procs[-1].stdout.close()  # the next program owns that end now
                prev = p.stdout
                procs.append(p)
        except OSError as e:
            for p in procs:
                p.kill()
            raise EngineError(f"Cannot start the Apertium pipeline: {e}") from e
        self._procs = procs

    def _exchange(self, message: str) -> str:
        first, last = self._procs[0], self._procs[-1]
        assert first.stdin is not None and last.stdout is not None
        first.stdin.write(message.encode("utf-8") + b"\0")
        first.stdin.flush()
        fd = last.stdout.fileno()
        buf = bytearray()
        while not buf.endswith(b"\0"):
            ready, _, _ = select.select([fd], [], [], self.timeout_s)
            if not ready:
                raise EngineError("the Apertium pipeline did not answer in time")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise EngineError("the Apertium pipeline stopped")
            buf += chunk
        return buf[:-1].decode("utf-8", errors="replace")
