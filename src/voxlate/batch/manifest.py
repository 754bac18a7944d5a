"""`OUT_DIR/manifest.jsonl`: one JSON line per input per run, appended as inputs finish."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

STATUSES = ("ok", "failed", "skipped")


@dataclass(frozen=True)
class WorkerInfo:
    """Where an input was translated: the Ray node and the worker process."""

    node_ip: str  # IP address of the Ray node
    node_id: str  # Ray's hex id of the node
    pid: int  # worker process id on that node
    load_s: float  # seconds the worker took to load its engines
    rss_mb: float  # resident memory after loading (MiB)
    peak_rss_mb: float = 0.0  # peak resident memory so far (MiB)


@dataclass(frozen=True)
class ManifestEntry:
    """One input's fate in one run (the manifest's line format, see docs/batch.md)."""

    input: str  # the recording's path
    status: str  # ok | failed | skipped
    output: str | None  # the translated wav (None when failed)
    report: str | None  # the JSON report (None when failed)
    error: str | None  # one sentence when failed
    seconds: float  # wall time spent on it in this run (s); 0 when skipped
    worker: str | None  # "<node ip>:<pid>" of the Ray worker; None when skipped
    node_id: str | None = None  # the Ray node's id; None when skipped
    attempts: int = 0  # tries (more than 1 when a worker was lost under it)
    audio_s: float = 0.0  # length of the input (s), when it was translated
    run: str = ""  # start time of the run (UTC, ISO 8601): tells runs apart
    parts: int = 1  # parts the input was split into (--split-over)
    reason: str | None = None  # why it was skipped: done before, or not a regular file

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)


class ManifestWriter:
    """Appends entries to the manifest, one `write` per line, flushed at once.

    A line is written with a single system call in append mode, so a run killed at any
    point leaves whole lines (readers skip a torn last line all the same).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        from voxlate.batch.discover import BatchUsageError

        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as e:
            raise BatchUsageError(f"Cannot write {self.path}: {e.strerror}.") from e

    def write(self, entry: ManifestEntry) -> None:
        os.write(self._fd, (entry.to_json() + "\n").encode("utf-8"))

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> ManifestWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_manifest(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The manifest's entries, oldest first; a torn last line is skipped."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out
