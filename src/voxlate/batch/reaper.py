"""Kill what a local Ray cluster leaves behind when its driver dies (Linux; run as a script).

A local Ray started by `ray.init()` comes with Ray's own reaper, which kills the
driver's process group when the driver dies. The raylet's agents (the dashboard agent
and the runtime-env agent, ~200 MB together) are not in that group: after a
`kill -9` of the driver they notice the raylet is gone within ~2 s, then try to report
it to the GCS, which is dead too, and linger ~60 s until that call times out.

This watchdog is started by the driver right after `ray.init()` (`start`), in its own
session so that Ray's reaper does not take it down. It is given the processes that
`ray.init()` started (pid and start time) and follows their descendants every
`INTERVAL_S`. When its stdin reaches end of file (the driver died, or closed the pipe
after `ray.shutdown()`), it SIGKILLs every process it followed that is still the same
process (same start time, so a reused pid is never hit), and exits. It imports only the
standard library, so it starts in ~20 ms and holds ~10 MB.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys

INTERVAL_S = 1.0  # how often the watchdog looks for new descendants (agents, workers)


def process_table() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, start time in clock ticks since boot) of every live process.

    Zombies (exited, not yet reaped by their parent) are left out: nothing to kill there.
    """
    table: dict[int, tuple[int, int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                data = f.read()
        except OSError:  # gone meanwhile
            continue
        fields = data[data.rindex(b")") + 2 :].split()  # after "pid (comm) "
        if fields[0] not in (b"Z", b"X"):
            table[int(name)] = (int(fields[1]), int(fields[19]))
    return table


def children(pid: int, table: dict[int, tuple[int, int]] | None = None) -> dict[int, int]:
    """The direct children of `pid`: pid -> start time."""
    table = process_table() if table is None else table
    return {p: start for p, (ppid, start) in table.items() if ppid == pid}


def follow(tracked: dict[int, int], table: dict[int, tuple[int, int]]) -> dict[int, int]:
    """`tracked` (pid -> start time) less the dead, plus every descendant of the living."""
    kids: dict[int, list[int]] = {}
    for p, (ppid, _) in table.items():
        kids.setdefault(ppid, []).append(p)
    alive = {p: s for p, s in tracked.items() if p in table and table[p][1] == s}
    todo = list(alive)
    while todo:
        for p in kids.get(todo.pop(), []):
            if p not in alive:
                alive[p] = table[p][1]
                todo.append(p)
    return alive


def watch(tracked: dict[int, int]) -> None:
    """Follow `tracked` until stdin ends, then SIGKILL whatever of it is still running."""
    me = os.getpid()
    tracked = follow(tracked, process_table())
    while True:
        ready, _, _ = select.select([0], [], [], INTERVAL_S)
        if ready and not os.read(0, 4096):
            break  # end of file: the driver is gone, or done with Ray
        tracked = follow(tracked, process_table())
    for pid in follow(tracked, process_table()):
        if pid != me:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def start(roots: dict[int, int]) -> subprocess.Popen | None:
    """Start the watchdog over `roots` (pid -> start time); None where /proc is missing.

    The driver keeps the returned process's stdin open while Ray runs, and closes it
    after `ray.shutdown()`; its own death closes it too.
    """
    if not roots or not os.path.isdir("/proc/self"):
        return None
    args = [f"{pid}:{start}" for pid, start in roots.items()]
    return subprocess.Popen(
        [sys.executable, "-I", os.path.abspath(__file__), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # outside the driver's process group, which Ray's reaper kills
    )


def stop(proc: subprocess.Popen | None, timeout_s: float = 5.0) -> None:
    """Close the watchdog's stdin (it then kills what is left) and wait for it."""
    if proc is None:
        return
    if proc.stdin is not None:
        proc.stdin.close()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C for the driver is not for us
    watch({int(p): int(s) for p, s in (a.split(":") for a in sys.argv[1:])})
