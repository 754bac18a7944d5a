"""The machine line and `append_benchmark`: a run recorded in benchmarks/*.jsonl, and
docs/benchmarks.md regenerated from the records (voxlate.bench.records)."""

from __future__ import annotations

import datetime as _dt
import os
import platform
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from voxlate.bench.records import (
    append_record,
    current_command,
    make_record,
    regenerate,
    results_dir,
)
from voxlate.tables import markdown_table

__all__ = ["append_benchmark", "load_line", "machine_description", "markdown_table"]

DEFAULT_BENCHMARKS = Path("docs/benchmarks.md")


def machine_description() -> str:
    """One line naming the CPU, core count, memory and OS of this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        mem = f", {mem_gb:.0f} GiB RAM"
    except (ValueError, OSError):
        mem = ""
    return f"{cpu}, {os.cpu_count()} cores{mem}, {platform.system()} {platform.release()}"


def voice_counts(voices: Sequence[str]) -> str:
    """'pack 28, style 2': how many utterances each voice spoke, most first ('none')."""
    return ", ".join(f"{v} {n}" for v, n in Counter(voices).most_common()) or "none"


def load_line() -> str:
    """The 1-minute load average against the core count, e.g. '3.1 on 2 cores'."""
    try:
        return f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    except OSError:
        return "unknown"


def append_benchmark(
    title: str, body: str, path: str | os.PathLike | None = None, command: str | None = None
) -> Path:
    """Record a run (title, machine, date, command, `body` markdown and its tables) in
    ``benchmarks/<command>.jsonl`` beside `path`'s docs/ folder, then regenerate `path`
    (docs/benchmarks.md by default) from all records. Both files are written atomically.
    `command` defaults to this process's command line (voxlate.bench.records.current_command).
    """
    p = Path(path) if path is not None else DEFAULT_BENCHMARKS
    stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    record = make_record(title, body, stamp, machine_description(), command or current_command())
    append_record(record, results_dir(p))
    return regenerate(p)
