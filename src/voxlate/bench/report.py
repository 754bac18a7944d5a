"""Markdown tables and the shared benchmark log, docs/benchmarks.md."""

from __future__ import annotations

import datetime as _dt
import os
import platform
from pathlib import Path

from voxlate.audio import write_text_atomic
from voxlate.tables import markdown_table

__all__ = ["append_benchmark", "machine_description", "markdown_table"]

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


def append_benchmark(title: str, body: str, path: str | os.PathLike | None = None) -> Path:
    """Append a section (title, machine, date, then `body` markdown) to the benchmark log.

    The file is rewritten atomically, so an interrupted run never truncates it.
    """
    p = Path(path) if path is not None else DEFAULT_BENCHMARKS
    old = (
        p.read_text(encoding="utf-8")
        if p.exists()
        else "# voxlate benchmarks\n\nNewest last. Each section says the machine and date it ran on.\n"
    )
    stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    section = f"\n## {title}\n\n*{stamp} · {machine_description()}*\n\n{body.rstrip()}\n"
    write_text_atomic(p, old.rstrip("\n") + "\n" + section)
    return p
