"""What `voxlate doctor` found on this machine, and the CPU features native engines need.

`voxlate doctor` (`pipeline/doctor.py`) runs each embedded default once in a subprocess and
records the outcome here, in ``$VOXLATE_CACHE/doctor.json``. The defaults consult it
(`known_broken`): an engine that failed on this machine is replaced by its fallback, with a
note, instead of failing in the middle of a user's run. The record is keyed by a
fingerprint of the machine (CPU model and flags, kernel) and of voxlate's and llama.cpp's
versions, so a record made elsewhere, or before an upgrade, is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from voxlate.audio import write_text_atomic
from voxlate.parts import cache_dir

# The CPU features scripts/setup.sh compiles llama.cpp for (x86-64 with AVX2, FMA, F16C:
# Intel Haswell (2013) and AMD Excavator (2015) onwards); without them llama.cpp's kernels
# stop with SIGILL, so the LLM is not even started.
LLAMA_CPU_FLAGS = ("avx", "avx2", "fma", "f16c")


@dataclass(frozen=True)
class Finding:
    """One engine's check: whether its one-line real call worked, and the fix if not."""

    engine: str  # e.g. "mt llm", "tts kokoro"
    status: str  # "ok", "broken" (a default that fails), "missing" (optional, absent)
    seconds: float  # wall time of the check, subprocess start included
    detail: str = ""  # what the call returned, or the error's one sentence
    fix: str = ""  # the apt-get / pip line or the flag that helps


@lru_cache(maxsize=1)
def _cpuinfo() -> tuple[str, frozenset[str]]:
    """(model name line, feature flags) of /proc/cpuinfo, read once per process."""
    model, flags = "", frozenset[str]()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and not model:
                    model = line
                elif line.startswith("flags"):
                    flags = frozenset(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    return model, flags


def cpu_flags() -> set[str]:
    """This CPU's feature flags as the kernel reports them (/proc/cpuinfo); empty if unknown."""
    return set(_cpuinfo()[1])


def llama_cpu_missing(flags: set[str] | None = None) -> list[str]:
    """The features of `LLAMA_CPU_FLAGS` this CPU lacks ([] on non-Linux: unknown, try)."""
    have = cpu_flags() if flags is None else flags
    if not have or platform.machine() not in ("x86_64", "AMD64"):
        return []
    return [f for f in LLAMA_CPU_FLAGS if f not in have]


def _version(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:
        return "-"


@lru_cache(maxsize=1)
def fingerprint() -> str:
    """A short hash of what a finding depends on: CPU, kernel, voxlate and llama.cpp
    (computed once per process: the defaults of every command consult it)."""
    model = _cpuinfo()[0]
    parts = [
        model,
        " ".join(sorted(cpu_flags())),
        platform.release(),
        _version("voxlate"),
        _version("llama_cpp_python"),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def record_path() -> Path:
    return cache_dir() / "doctor.json"


def save_findings(findings: list[Finding]) -> Path:
    """Record `findings` for this machine (temp file, then rename)."""
    path = record_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"fingerprint": fingerprint(), "findings": [asdict(f) for f in findings]}
    write_text_atomic(path, json.dumps(data, indent=1) + "\n")
    return path


def load_findings() -> dict[str, Finding]:
    """This machine's recorded findings by engine ({} when none, or made elsewhere)."""
    try:
        data = json.loads(record_path().read_text(encoding="utf-8"))
        if data.get("fingerprint") != fingerprint():
            return {}
        return {d["engine"]: Finding(**d) for d in data["findings"]}
    except (OSError, ValueError, TypeError, KeyError):
        return {}


def known_broken(engine: str) -> str:
    """Why `engine` (e.g. "mt llm") cannot run here, or '' when nothing says so.

    Consults the CPU (the LLM) and the last `voxlate doctor` on this machine. The
    environment variable VOXLATE_IGNORE_DOCTOR=1 skips the record (not the CPU check).
    """
    if engine == "mt llm":
        missing = llama_cpu_missing()
        if missing:
            return f"this CPU lacks {', '.join(missing).upper()}, which llama.cpp is built for"
    if os.environ.get("VOXLATE_IGNORE_DOCTOR") == "1":
        return ""
    found = load_findings().get(engine)
    if found is not None and found.status == "broken":
        return f"`voxlate doctor` found it broken on this machine: {found.detail}"
    return ""
