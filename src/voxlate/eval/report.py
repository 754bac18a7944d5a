"""Markdown tables and the shared benchmark log, docs/benchmarks.md."""

from __future__ import annotations

import datetime as _dt
import os
import platform
from collections.abc import Sequence
from pathlib import Path

from voxlate.audio import write_text_atomic

DEFAULT_BENCHMARKS = Path("docs/benchmarks.md")


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured markdown table; floats are printed with 3 significant digits."""

    def fmt(v: object) -> str:
        if isinstance(v, float):
            return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
        return str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


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
