"""Hardening round 2 (issue 22 item 7, issue 21 item 6): `voxlate batch` inputs and Ray.

- non-regular inputs (FIFO, a link to /dev/zero, a socket) are skipped with a manifest line,
  never read, and the good file beside them is done;
- nothing is taken from inside the output folder, `-o` equal to the input folder included;
- a stale Ray address file, an unreachable or refusing cluster: one sentence, no traceback;
- a real `ray start --head` on loopback joined with `--address` (token authentication).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import soundfile as sf

import voxlate
from voxlate.batch import reaper
from voxlate.batch.discover import BatchUsageError, find_audio, plan_items
from voxlate.batch.manifest import read_manifest
from voxlate.batch.plan import NotRegularInput, input_sha256

FAST = ["--voice", "tts", "--vad", "energy", "--enhance", "none", "--mt", "apertium"]
FAST += ["-s", "en", "-t", "es", "-q"]


def _hostile_folder(tmp_path: Path, good: Path | None = None) -> Path:
    """A folder with a FIFO, a link to /dev/zero and a socket named as audio (+ a good clip)."""
    folder = tmp_path / "in"
    folder.mkdir()
    os.mkfifo(folder / "pipe.wav")
    (folder / "zero.wav").symlink_to("/dev/zero")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(folder / "sock.wav"))
    sock.close()
    if good is not None:
        shutil.copy(good, folder / "talk.wav")
    return folder


def test_non_regular_inputs_are_listed_and_never_read(tmp_path: Path) -> None:
    folder = _hostile_folder(tmp_path)
    found = find_audio([folder])
    # The link keeps its own name (not /dev/zero), so the manifest names the folder's entry.
    assert {p.name for p in found} == {"pipe.wav", "zero.wav", "sock.wav"}
    t0 = time.monotonic()
    kinds = {}
    for p in found:
        with pytest.raises(NotRegularInput) as e:
            input_sha256(p)  # a plain open() of the FIFO blocks forever; /dev/zero never ends
        kinds[p.name] = e.value.kind
    assert time.monotonic() - t0 < 1.0
    assert kinds == {"pipe.wav": "a FIFO", "zero.wav": "a character device", "sock.wav": "a socket"}
    # A FIFO named on the command line is an input to skip too, not "no such file".
    assert find_audio([folder / "pipe.wav"]) == [folder / "pipe.wav"]


def test_input_sha256_of_a_regular_file(tmp_path: Path) -> None:
    import hashlib

    f = tmp_path / "a.wav"
    f.write_bytes(b"RIFF" * 1000)
    assert input_sha256(f, chunk=7) == (hashlib.sha256(b"RIFF" * 1000).hexdigest(), 4000)


def test_output_folder_equal_to_or_above_an_input_is_a_usage_error(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "talk.wav").write_bytes(b"RIFF")
    (folder / "talk.es.wav").write_bytes(b"RIFF")  # a previous run's output
    for out in (folder, tmp_path, tmp_path / "in" / ".." / "in"):
        with pytest.raises(BatchUsageError, match="inside the output folder"):
            plan_items([folder], out, "es")
    with pytest.raises(BatchUsageError, match="inside the output folder"):
        plan_items([folder / "talk.es.wav"], folder, "es")  # a file named in it, too
    link = tmp_path / "link"
    link.symlink_to(folder)
    with pytest.raises(BatchUsageError, match="inside the output folder"):
        plan_items([folder], link, "es")  # the same folder through a symlink


def test_links_into_the_output_folder_are_not_inputs(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    out = folder / "out"
    out.mkdir(parents=True)
    (folder / "talk.wav").write_bytes(b"RIFF")
    (out / "talk.es.wav").write_bytes(b"RIFF")
    (folder / "alias.wav").symlink_to(out / "talk.es.wav")  # an output reached by a link
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "x.wav").symlink_to(out / "talk.es.wav")
    items = plan_items([folder, tmp_path / "elsewhere"], out, "es")
    assert [i.input.name for i in items] == ["talk.wav"]


def test_cli_output_folder_equal_to_the_input_folder_twice_writes_nothing(
    run_cli, tmp_path: Path, librivox_clip: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(librivox_clip, folder / "talk.wav")
    for _ in range(2):
        code, _, err = run_cli("batch", folder, "-o", folder, *FAST)
        assert code == 2 and "Traceback" not in err
        assert err.startswith("error: ") and err.count("\n") == 1, err
        assert "inside the output folder" in err
    assert sorted(p.name for p in folder.iterdir()) == ["talk.wav"]  # no talk.es(.es).wav


def test_fifo_and_dev_zero_beside_a_good_file_are_skipped_and_the_run_ends(
    ray_cluster, run_cli, tmp_path: Path, librivox
) -> None:
    clip = min(librivox, key=lambda c: sf.info(c[0]).duration)[0]
    folder = _hostile_folder(tmp_path, clip)
    out = tmp_path / "out"
    t0 = time.monotonic()
    code, _, err = run_cli("batch", folder, "-o", out, "--workers", "1", *FAST)
    took = time.monotonic() - t0
    assert code == 0, err
    rows = {Path(r["input"]).name: r for r in read_manifest(out / "manifest.jsonl")}
    assert set(rows) == {"talk.wav", "pipe.wav", "zero.wav", "sock.wav"}
    assert rows["talk.wav"]["status"] == "ok" and (out / "talk.es.wav").is_file()
    assert rows["pipe.wav"]["reason"] == "Not a regular file (a FIFO); skipped."
    assert rows["zero.wav"]["reason"] == "Not a regular file (a character device); skipped."
    assert rows["zero.wav"]["input"] == str(folder / "zero.wav")  # the link, not /dev/zero
    assert rows["sock.wav"]["reason"] == "Not a regular file (a socket); skipped."
    for name in ("pipe.wav", "zero.wav", "sock.wav"):
        assert rows[name]["status"] == "skipped" and rows[name]["output"] is None
    assert took < 120  # before: stuck at 0/2 for ever, the good file never done


# --- Ray: a stale address file, a driver killed with SIGKILL, a real head with a token ---


def _short_tmp() -> Path:
    """A short folder under /tmp: Ray's socket paths inside it must fit in 107 bytes."""
    return Path(tempfile.mkdtemp(prefix="vxr", dir="/tmp"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(**extra: str) -> dict[str, str]:
    """This test's environment for a subprocess: this checkout's voxlate, no Ray settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env["PYTHONPATH"] = str(Path(voxlate.__file__).parents[1])
    return {**env, **extra}


def _voxlate(*args: object, env: dict[str, str]) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "voxlate", *map(str, args)]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _running(procs: dict[int, int]) -> dict[int, int]:
    """Those of `procs` (pid -> start time) still running (zombies are not)."""
    table = reaper.process_table()
    return {p: s for p, s in procs.items() if p in table and table[p][1] == s}


def test_stale_address_file_with_address_auto_is_one_sentence(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    temp = tmp_path / "t"
    (temp / "ray").mkdir(parents=True)
    (temp / "ray" / "ray_current_cluster").write_text(f"127.0.0.1:{_free_port()}")
    wav = tmp_path / "x.wav"
    wav.write_bytes(b"RIFF")
    args = ("batch", wav, "-o", tmp_path / "out", "--address", "auto", *FAST)
    for expected in (
        "ray_current_cluster, which does not answer (a cluster that stopped without `ray stop`)",
        "found no running Ray cluster on this machine",
    ):
        proc = _voxlate(*args, env=_env(TMPDIR=str(temp)))  # a subprocess: no Ray started yet
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 2 and "Traceback" not in err and err.count("\n") == 1, err
        assert expected in err and "leave --address out to run on a local Ray" in err, err
        (temp / "ray" / "ray_current_cluster").unlink(missing_ok=True)


@pytest.mark.slow
def test_stale_address_file_then_driver_killed_leaves_no_ray_process(librivox, tmp_path):
    """No --address with a stale address file: a local Ray (was: ValueError "num_cpus ...
    must not be provided"). Then `kill -9` of the driver: every process of its Ray is gone
    within seconds (was: the two agents, ~200 MB, for ~63 s)."""
    pytest.importorskip("ray")
    temp = _short_tmp()
    tree: dict[int, int] = {}
    try:
        (temp / "ray").mkdir()
        (temp / "ray" / "ray_current_cluster").write_text(f"127.0.0.1:{_free_port()}")
        folder = tmp_path / "in"
        folder.mkdir()
        short = sorted(librivox, key=lambda c: sf.info(c[0]).duration)[:3]
        for i, (clip, _) in enumerate(short):  # one worker: the driver is killed after one
            shutil.copy(clip, folder / f"c{i}.wav")
        out = tmp_path / "out"
        env = _env(TMPDIR=str(temp))
        proc = _voxlate("batch", folder, "-o", out, "-w", "1", *FAST, env=env)
        manifest = out / "manifest.jsonl"
        deadline = time.monotonic() + 240
        while not (manifest.exists() and read_manifest(manifest)):  # one input done
            assert proc.poll() is None, proc.communicate()[1][-2000:]
            assert time.monotonic() < deadline, "no input done in 240 s"
            tree = reaper.follow(reaper.children(proc.pid), reaper.process_table())
            time.sleep(0.3)
        tree = reaper.follow({**tree, **reaper.children(proc.pid)}, reaper.process_table())
        names = {Path(f"/proc/{p}/comm").read_text().strip() for p in _running(tree)}
        assert {"raylet", "gcs_server", "ray::DashboardA", "ray::RuntimeEnv"} <= names, names
        proc.kill()
        proc.wait()
        t0 = time.monotonic()
        while _running(tree) and time.monotonic() - t0 < 30:
            time.sleep(0.2)
        print(f"{len(tree)} Ray processes, gone {time.monotonic() - t0:.1f} s after kill -9")
        left = {Path(f"/proc/{p}/comm").read_text().strip() for p in _running(tree)}
        assert not left, f"still running {time.monotonic() - t0:.0f} s after kill -9: {left}"
        assert time.monotonic() - t0 < 15
    finally:
        for pid in _running(tree):
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(temp, ignore_errors=True)


def _head_processes(temp: Path, marker: str) -> dict[int, int]:
    """Every process of the head started in `temp`: by command line or environment, and
    their descendants (agents and workers, whose titles Ray rewrites)."""
    table = reaper.process_table()
    roots = {}
    for pid, (_, start) in table.items():
        if pid == os.getpid():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            env = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if str(temp).encode() in cmd or marker.encode() in env:
            roots[pid] = start
    return reaper.follow(roots, table)


@pytest.fixture(scope="module")
def ray_head():
    """A real `ray start --head` on loopback with token authentication, its own temp folder,
    token and ports; stopped by PID (never `ray stop`, which stops every Ray of the user)."""
    pytest.importorskip("ray")
    ray_cli = Path(sys.executable).with_name("ray")
    if not ray_cli.exists() or shutil.which("apertium") is None:
        pytest.skip("the ray command or apertium is not installed")
    temp = _short_tmp()
    token = temp / "token"
    token.write_text(secrets.token_hex(32))
    marker = f"voxlate-test-{secrets.token_hex(6)}"
    port = _free_port()
    env = _env(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token), VOXLATE_TEST_HEAD=marker)
    cmd = [ray_cli, "start", "--head", "--port", port, "--node-ip-address", "127.0.0.1"]
    cmd += ["--num-cpus", "1", "--include-dashboard", "false", "--disable-usage-stats"]
    cmd += ["--temp-dir", temp, "--object-store-memory", 100 * 2**20]
    for flag in ("--dashboard-port", "--ray-client-server-port", "--dashboard-agent-listen-port"):
        cmd += [flag, _free_port()]  # not the fixed defaults, which another Ray may hold
    procs: dict[int, int] = {}
    try:
        r = subprocess.run(
            list(map(str, cmd)), env=env, capture_output=True, text=True, timeout=120
        )
        procs = _head_processes(temp, marker)
        assert r.returncode == 0, r.stderr[-2000:]
        yield f"127.0.0.1:{port}", token, temp
    finally:
        procs = {**procs, **_head_processes(temp, marker)}
        for pid in procs:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        t0 = time.monotonic()
        while _running(procs) and time.monotonic() - t0 < 10:
            time.sleep(0.2)
        shutil.rmtree(temp, ignore_errors=True)
        assert not _running(procs)


@pytest.mark.slow
def test_address_joins_a_real_head_with_its_token(ray_head, librivox, tmp_path: Path) -> None:
    """The token in RAY_AUTH_TOKEN_PATH (no RAY_AUTH_MODE): joined (was: InvalidAuthToken)."""
    address, token, temp = ray_head
    clip = min(librivox, key=lambda c: sf.info(c[0]).duration)[0]
    out = tmp_path / "out"
    proc = _voxlate(
        "batch",
        clip,
        "-o",
        out,
        "--address",
        address,
        *FAST,
        env=_env(RAY_AUTH_TOKEN_PATH=str(token)),
    )
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]
    (row,) = read_manifest(out / "manifest.jsonl")
    assert row["status"] == "ok" and sf.info(row["output"]).duration >= row["audio_s"] - 0.05
    # The head's node ran it: Ray names a few files of its session after the node's id.
    (port_file,) = temp.glob("session_latest/gcs_server_port_*")
    assert row["node_id"] == port_file.name.rsplit("_", 1)[1]


@pytest.mark.slow
def test_a_refused_driver_gets_one_sentence_with_the_fix(ray_head, tmp_path: Path) -> None:
    address, _, _ = ray_head
    wav = tmp_path / "x.wav"
    wav.write_bytes(b"RIFF")
    home = tmp_path / "home"  # no ~/.ray/auth_token
    home.mkdir()
    cases = {
        "has no Ray token": {},
        "refused the token from RAY_AUTH_TOKEN": {"RAY_AUTH_TOKEN": "not-the-token"},
        "RAY_AUTH_MODE=disabled here: unset it": {"RAY_AUTH_MODE": "disabled"},
    }
    for expected, extra in cases.items():
        cache = os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))
        env = _env(HOME=str(home), XDG_CACHE_HOME=cache, **extra)
        t0 = time.monotonic()
        proc = _voxlate("batch", wav, "-o", tmp_path / "out", "--address", address, *FAST, env=env)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 2 and "Traceback" not in err, err[-2000:]
        assert err.count("\n") == 1 and err.startswith("error: The Ray cluster at"), err
        assert expected in err and "ray get-auth-token" in err, err
        assert time.monotonic() - t0 < 15  # was ~21 s of retries, one log line a second
