"""Issue 16, set-up: the README's two commands, the scripts they run, and their options.

CI runs the README's test command as written (.ci/run -> scripts/test.sh -> scripts/setup.sh).
These tests run setup.sh against fake interpreters in a temporary VENV, so they never
touch the real environment and need no network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
STOCK_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"  # a stock Debian shell, no other Python first

pytestmark = pytest.mark.skipif(shutil.which("dpkg") is None, reason="needs a Debian machine")


def _fake_python(path: Path, version: str, log: Path) -> Path:
    """An executable that logs its arguments and answers the version check."""
    major, minor = (int(x) for x in version.split(".")[:2])
    ok = 0 if (major, minor) >= (3, 10) else 1
    path.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> {log}\n'
        f'case "$*" in *--version*) echo "Python {version}";; *sys.version_info*) exit {ok};; esac\n'
    )
    path.chmod(0o755)
    return path


def _setup(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "scripts/setup.sh"],
        cwd=ROOT,
        env={"PATH": STOCK_PATH, "HOME": os.environ.get("HOME", "/root"), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _packages_installed() -> bool:
    text = (ROOT / "scripts/setup.sh").read_text()
    block = text.split("APT_PACKAGES=(")[1].split(")")[0]
    names = [w for line in block.splitlines() for w in line.split("#")[0].split()]
    return all(
        subprocess.run(["dpkg", "-s", n], capture_output=True).returncode == 0 for n in names
    )


def test_readme_commands_and_ci_run_the_scripts():
    readme = (ROOT / "README.md").read_text()
    assert "bash scripts/demo.sh" in readme and "bash scripts/test.sh" in readme
    assert ".venv/bin/voxlate" in readme and "source .venv/bin/activate" in readme
    assert "bash scripts/test.sh" in (ROOT / ".ci/run").read_text()
    for script in ("setup.sh", "test.sh", "demo.sh"):
        assert subprocess.run(["bash", "-n", f"scripts/{script}"], cwd=ROOT).returncode == 0


@pytest.mark.skipif(not _packages_installed(), reason="setup.sh would install Debian packages")
def test_old_python_is_refused_with_one_sentence(tmp_path):
    old = _fake_python(tmp_path / "python3.8", "3.8.10", tmp_path / "log")
    p = _setup({"PYTHON": str(old), "VENV": str(tmp_path / "venv")})
    assert p.returncode == 1
    assert "needs Python 3.10 or newer" in p.stderr and "PYTHON=" in p.stderr
    assert not (tmp_path / "venv").exists()


@pytest.mark.skipif(not _packages_installed(), reason="setup.sh would install Debian packages")
def test_a_second_run_skips_pip(tmp_path):
    """An environment already installed from this checkout is not reinstalled."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    log = tmp_path / "log"
    _fake_python(venv / "bin/python", "3.11.2", log)
    _fake_python(tmp_path / "python3", "3.11.2", log)
    env = {"PYTHON": str(tmp_path / "python3"), "VENV": str(venv)}
    first = _setup(env)
    assert first.returncode == 0, first.stderr
    assert "-m pip install" in log.read_text()  # the fake venv was "installed"
    log.write_text("")
    second = _setup(env)
    assert second.returncode == 0, second.stderr
    assert "pip" not in log.read_text()
    assert f"{venv}/bin/voxlate" in second.stdout
