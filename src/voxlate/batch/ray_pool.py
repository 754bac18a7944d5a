"""Running batch jobs on Ray: an actor pool with engines loaded once per actor.

Without an address a local Ray is started for the run (small object store, no
dashboard) and shut down after it; with one, the run joins that cluster and leaves it
running. Each worker is an actor holding one `BatchWorker`; a job goes to whichever
actor is free. A worker that dies (killed, out of memory, node lost) is replaced and its
job retried, up to `max_attempts` tries, then recorded as failed.
"""

from __future__ import annotations

import importlib
import os
import signal
import socket
import sys
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from voxlate.batch.discover import BatchUsageError
from voxlate.batch.manifest import WorkerInfo
from voxlate.batch.plan import BatchOptions
from voxlate.batch.worker import BatchWorker, Job, JobOutcome
from voxlate.errors import MissingDependencyError

OBJECT_STORE_MB = 128  # object store of a local Ray (MiB): jobs pass paths, not audio
AUTH_MODE = "RAY_AUTH_MODE"  # Ray's switch for token authentication: token | disabled
RAY_ADDRESS_FILE = "ray_current_cluster"  # where `ray start` leaves the head's address


@dataclass(frozen=True)
class PoolConfig:
    """How the jobs are spread over Ray."""

    workers: int = 0  # actors; 0: one per CPU of the cluster (local: this machine's cores)
    address: str | None = None  # HOST:PORT of a running cluster; None starts a local one
    cpus_per_worker: float = 1.0  # Ray CPUs each actor reserves
    max_attempts: int = 2  # tries of a job whose worker is lost


def require_ray(address: str | None) -> ModuleType:
    """The ray module, or a MissingDependencyError naming the extra to install."""
    try:
        import ray
    except ImportError as e:
        what = f"Ray (needed for --address {address})" if address else "Ray"
        raise MissingDependencyError(what, pip="'voxlate[scale]'") from e
    return ray


def check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail fast when HOST:PORT does not accept connections (Ray itself retries for minutes).

    Other forms (``ray://...``) are left to Ray.
    """
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or "/" in address:
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as e:
        given = " (from RAY_ADDRESS)" if os.environ.get("RAY_ADDRESS") == address else ""
        raise BatchUsageError(
            f"Cannot reach the Ray cluster at {address}{given} ({e.strerror or e}); "
            "is `ray start --head` running there?"
        ) from e


def _address_from_file(given: str) -> str:
    """The HOST:PORT that ``--address auto`` means: the last `ray start` on this machine.

    Ray keeps it in ``<temp>/ray/ray_current_cluster`` until `ray stop`; a cluster that
    died without `ray stop` leaves it behind, naming a dead address.
    """
    import tempfile

    file = Path(os.environ.get("RAY_TMPDIR") or tempfile.gettempdir()) / "ray" / RAY_ADDRESS_FILE
    try:
        found = file.read_text(encoding="utf-8").strip()
    except OSError:
        found = ""
    if not found:
        raise BatchUsageError(
            f"--address {given} found no running Ray cluster on this machine ({file} is "
            "missing): start one with `ray start --head`, give its HOST:PORT, or leave "
            "--address out to run on a local Ray."
        )
    try:
        check_reachable(found)
    except BatchUsageError as e:
        raise BatchUsageError(
            f"--address {given} names {found}, read from {file}, which does not answer "
            "(a cluster that stopped without `ray stop`): start one with `ray start --head`, "
            "give its HOST:PORT, or leave --address out to run on a local Ray."
        ) from e
    return found


def _raylet() -> ModuleType | None:
    """Ray's compiled core (``ray._raylet``), for the two calls that have no public form."""
    try:
        return importlib.import_module("ray._raylet")
    except ImportError:
        return None


def ray_exceptions() -> ModuleType:
    return importlib.import_module("ray.exceptions")


def _token_source() -> str | None:
    """Where Ray reads this driver's token from, in Ray's documented order; None if nowhere.

    A ``RAY_AUTH_TOKEN_PATH`` that cannot be read or is empty is a usage error here: Ray
    treats it as a fatal misconfiguration and aborts the process.
    """
    if os.environ.get("RAY_AUTH_TOKEN"):
        return "RAY_AUTH_TOKEN"
    path = os.environ.get("RAY_AUTH_TOKEN_PATH")
    if path:
        try:
            empty = not Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as e:
            raise BatchUsageError(
                f"RAY_AUTH_TOKEN_PATH names {path}, which cannot be read ({e})."
            ) from e
        if empty:
            raise BatchUsageError(f"RAY_AUTH_TOKEN_PATH names {path}, which is empty.")
        return path
    default = Path.home() / ".ray" / "auth_token"
    return str(default) if default.is_file() else None


@contextmanager
def driver_token_auth() -> Iterator[str | None]:
    """Ray's token authentication for a driver that joins a cluster by address.

    `ray start --head` turns token authentication on when a token exists (Ray 2.59+), and
    so does a local `ray.init()`; but a driver given an explicit address keeps
    ``RAY_AUTH_MODE`` unset, i.e. disabled, sends no token and is refused
    (``Unauthenticated: InvalidAuthToken``). As Ray does for the head: when the user set
    no ``RAY_AUTH_MODE`` and a token is at hand (``RAY_AUTH_TOKEN``, the file in
    ``RAY_AUTH_TOKEN_PATH`` or ``~/.ray/auth_token``), this driver runs with
    ``RAY_AUTH_MODE=token``; a cluster without authentication accepts it too. Yields the
    token's source (None: no token, or the user's own ``RAY_AUTH_MODE`` stands); the
    environment is restored afterwards.
    """
    if os.environ.get(AUTH_MODE):
        yield None
        return
    source = _token_source()
    if source is None:
        yield None
        return
    os.environ[AUTH_MODE] = "token"
    _refresh_ray_config()
    try:
        yield source
    finally:
        os.environ.pop(AUTH_MODE, None)
        _refresh_ray_config()


def _refresh_ray_config() -> None:
    """Make Ray re-read ``RAY_*`` settings: its C++ config caches them on first read."""
    config = getattr(_raylet(), "Config", None)
    if config is not None:  # else another Ray, which reads them at ray.init()
        config.initialize("")


def _refusal(address: str, source: str | None) -> str:
    """The one sentence for a cluster that refused this driver's token (or lack of one)."""
    how = (
        "the cluster's token (`ray get-auth-token` on the head prints it) in "
        "~/.ray/auth_token here, or in a file named by RAY_AUTH_TOKEN_PATH"
    )
    mode = os.environ.get(AUTH_MODE, "")
    if mode and mode.lower() != "token":
        return (
            f"The Ray cluster at {address} requires token authentication, but "
            f"{AUTH_MODE}={mode} here: unset it, and put {how}."
        )
    if source is None:
        return (
            f"The Ray cluster at {address} requires token authentication and this machine "
            f"has no Ray token: put {how}."
        )
    return f"The Ray cluster at {address} refused the token from {source}: put {how}."


@contextmanager
def _stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null: Ray's C++ client logs each failed try there."""
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def check_auth(address: str, source: str | None) -> None:
    """One quick handshake with the cluster's GCS, to refuse a bad token in one sentence.

    `ray.init` retries a refused driver for ~20 s with a log line per try and then says
    only "Failed to connect"; one GCS client call answers in under a second. Only an
    authentication error is acted on; anything else is left for `ray.init` to report.
    """
    from ray.exceptions import RayError

    gcs_client = getattr(_raylet(), "GcsClient", None)
    auth_error = getattr(ray_exceptions(), "AuthenticationError", None)
    if gcs_client is None or auth_error is None:
        return
    try:
        with _stderr_silenced():
            gcs_client(address=address)
    except auth_error as e:
        raise BatchUsageError(_refusal(address, source)) from e
    except (RayError, OSError, RuntimeError, ValueError):
        return


def _first_sentence(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0].rstrip(".") if text else type(e).__name__


@contextmanager
def _join(ray: ModuleType, address: str, kwargs: dict[str, Any]) -> Iterator[None]:
    """Ray, joined to the cluster at `address` (token authentication as Ray documents it)."""
    auth_errors = tuple(
        c for c in (getattr(ray_exceptions(), "AuthenticationError", None),) if c is not None
    )
    if address == "auto":  # what Ray would read from its address file, checked here
        address = _address_from_file(address)
    check_reachable(address)
    with driver_token_auth() as source:
        if "//" not in address:
            check_auth(address, source)
        try:
            ray.init(address=address, **kwargs)
        except auth_errors as e:
            raise BatchUsageError(_refusal(address, source)) from e
        except (ConnectionError, RuntimeError, ValueError) as e:
            if "InvalidAuthToken" in _chain_text(e):
                raise BatchUsageError(_refusal(address, source)) from e
            raise BatchUsageError(
                f"Cannot connect to the Ray cluster at {address} ({_first_sentence(e)})."
            ) from e
        try:
            yield
        finally:
            ray.shutdown()


def _chain_text(e: BaseException) -> str:
    """The messages of an exception and of its causes, joined."""
    parts: list[str] = []
    seen: BaseException | None = e
    while seen is not None and len(parts) < 10:
        parts.append(str(seen))
        seen = seen.__cause__ or seen.__context__
    return "\n".join(parts)


@contextmanager
def _local(ray: ModuleType, config: PoolConfig, kwargs: dict[str, Any]) -> Iterator[None]:
    """A local Ray for this run, shut down after it, and killed with it if the driver dies.

    ``address="local"`` starts a new cluster whatever ``RAY_ADDRESS`` or Ray's address
    file say (a stale file used to make `ray.init` try to join a dead cluster and fail
    with "num_cpus ... must not be provided"). The `reaper` watchdog kills the agents that
    Ray's own reaper misses when the driver is killed with SIGKILL.
    """
    from voxlate.batch import reaper

    cpus = max(1, config.workers or os.cpu_count() or 1)
    linux = os.path.isdir("/proc/self")
    before = reaper.children(os.getpid()) if linux else {}
    ray.init(
        address="local",
        num_cpus=int(cpus * config.cpus_per_worker + 0.999),
        object_store_memory=OBJECT_STORE_MB * 2**20,
        **kwargs,
    )
    started = {p: s for p, s in reaper.children(os.getpid()).items() if p not in before}
    watchdog = reaper.start(started) if linux else None
    try:
        yield
    finally:
        try:
            ray.shutdown()
        finally:
            reaper.stop(watchdog)


@contextmanager
def ray_session(config: PoolConfig) -> Iterator[ModuleType]:
    """Ray, initialised for this run; a local cluster started here is shut down after.

    A Ray already initialised in this process (tests, notebooks) is used as it is.
    """
    ray = require_ray(config.address)
    if ray.is_initialized():
        yield ray
        return
    kwargs: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": True,
        "configure_logging": False,
    }
    address = config.address
    session = (
        _join(ray, address, kwargs)
        if address is not None and address != "local"
        else _local(ray, config, kwargs)
    )
    with session:
        yield ray


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt (in the main thread), so both stop a run alike."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        old = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _first_line(e: BaseException) -> str:
    """'Type: first line' of an error; for an error raised inside a Ray worker, of its cause."""
    cause = getattr(e, "cause", None)
    if isinstance(cause, BaseException):
        e = cause
    text = str(e).strip()
    return f"{type(e).__name__}: {text.splitlines()[0][:200]}" if text else type(e).__name__


class _ActorPool:
    """The actors of one run: started with their engines loaded, one job in flight each."""

    def __init__(self, ray: ModuleType, options: BatchOptions, config: PoolConfig, cls: type):
        self.ray = ray
        self.options = options
        self.actor_cls = ray.remote(num_cpus=config.cpus_per_worker, max_restarts=0)(cls)
        self.infos: dict[Any, WorkerInfo] = {}  # every actor that loaded, dead or alive
        self.alive: list[Any] = []
        self.inflight: dict[Any, tuple[Any, Job]] = {}  # result ref -> (actor, job)

    def start(self, count: int) -> list[Any]:
        """`count` new actors with engines loaded; raises BatchUsageError if they cannot load."""
        new = [self.actor_cls.remote(self.options) for _ in range(count)]
        try:
            loaded = self.ray.get([a.load.remote() for a in new])
        except Exception as e:  # the worker process could not start or import voxlate
            for a in new:
                self.ray.kill(a)
            raise BatchUsageError(f"The Ray workers could not start ({_first_line(e)}).") from e
        for a, info in zip(new, loaded):
            if isinstance(info, str):
                for b in new:
                    self.ray.kill(b)
                raise BatchUsageError(info)
            self.infos[a] = info
        self.alive += new
        return new

    def replace(self, dead: Any) -> Any | None:
        """A fresh actor in place of a dead one; None when none can start (the slot is dropped)."""
        self.ray.kill(dead)
        self.alive.remove(dead)
        try:
            return self.start(1)[0]
        except BatchUsageError:
            return None

    def submit(self, actor: Any, job: Job) -> None:
        self.inflight[actor.run.remote(job)] = (actor, job)

    def idle(self) -> list[Any]:
        """The live actors with no job in flight."""
        busy = {id(a) for a, _ in self.inflight.values()}
        return [a for a in self.alive if id(a) not in busy]

    def kill_all(self) -> None:
        for a in self.alive:
            self.ray.kill(a)  # stops work in flight at once (interrupt) or frees the worker
        self.alive = []


def run_pool(
    jobs: list[Job],
    options: BatchOptions,
    config: PoolConfig,
    on_done: Callable[[Job, JobOutcome, int], None],
    on_start: Callable[[list[WorkerInfo]], None] | None = None,
    worker_cls: type = BatchWorker,
) -> list[WorkerInfo]:
    """Run `jobs` on Ray actors; call `on_done(job, outcome, attempts)` as each finishes.

    Returns the infos of every worker that ran (with its peak memory). Raises
    BatchUsageError when the workers cannot start or load their engines (nothing was
    translated), and KeyboardInterrupt on SIGINT/SIGTERM after killing the workers: a
    job in flight then leaves no output (each is written atomically) and the next run
    redoes it.
    """
    if not jobs:
        return []
    with ray_session(config) as ray, sigterm_as_interrupt():
        from ray.exceptions import ActorUnavailableError, RayActorError

        lost = (RayActorError, ActorUnavailableError)
        slots = int(ray.cluster_resources().get("CPU", 1) / config.cpus_per_worker)
        n = max(1, min(config.workers or slots, slots, len(jobs)))
        pool = _ActorPool(ray, options, config, worker_cls)
        pending = deque(jobs)
        attempts: dict[Job, int] = {}

        def fill() -> None:
            """Give a pending job to every idle worker."""
            for actor in pool.idle():
                if not pending:
                    return
                job = pending.popleft()
                attempts[job] = attempts.get(job, 0) + 1
                pool.submit(actor, job)

        try:
            started = pool.start(n)
            if on_start is not None:
                on_start([pool.infos[a] for a in started])
            fill()
            while pool.inflight:
                ready, _ = ray.wait(list(pool.inflight), num_returns=1)
                actor, job = pool.inflight.pop(ready[0])
                try:
                    outcome = ray.get(ready[0])
                    if outcome.worker is not None:
                        pool.infos[actor] = outcome.worker
                except lost as e:
                    dead = pool.infos.get(actor)
                    pool.replace(actor)  # a fresh worker takes the dead one's place
                    if attempts[job] < config.max_attempts and pool.alive:
                        pending.appendleft(job)
                        fill()
                        continue
                    outcome = JobOutcome(
                        False,
                        f"The worker was lost {attempts[job]} times while translating this "
                        f"input ({_first_line(e)}).",
                        0.0,
                        0.0,
                        dead,
                    )
                on_done(job, outcome, attempts[job])
                fill()
            for job in pending:  # only when every worker was lost and none could restart
                left = JobOutcome(False, "No Ray worker was left to run it.", 0.0, 0.0, None)
                on_done(job, left, attempts.get(job, 0))
        finally:
            pool.kill_all()
        return list(pool.infos.values())
