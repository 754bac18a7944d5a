"""Running batch jobs on Ray: an actor pool with engines loaded once per actor.

Without an address a local Ray is started for the run (small object store, no
dashboard) and shut down after it; with one, the run joins that cluster and leaves it
running. Each worker is an actor holding one `BatchWorker`; a job goes to whichever
actor is free. A worker that dies (killed, out of memory, node lost) is replaced and its
job retried, up to `max_attempts` tries, then recorded as failed.
"""

from __future__ import annotations

import os
import signal
import socket
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from voxlate.batch.discover import BatchUsageError
from voxlate.batch.manifest import WorkerInfo
from voxlate.batch.plan import BatchOptions
from voxlate.batch.worker import BatchWorker, Job, JobOutcome
from voxlate.errors import MissingDependencyError

OBJECT_STORE_MB = 128  # object store of a local Ray (MiB): jobs pass paths, not audio


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

    Other forms (``auto``, ``ray://...``) are left to Ray.
    """
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or "/" in address:
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as e:
        raise BatchUsageError(
            f"Cannot reach the Ray cluster at {address} ({e.strerror or e}); "
            "is `ray start --head` running there?"
        ) from e


@contextmanager
def ray_session(config: PoolConfig) -> Iterator[ModuleType]:
    """Ray, initialised for this run; a local cluster started here is shut down after.

    A Ray already initialised in this process (tests, notebooks) is used as it is.
    """
    ray = require_ray(config.address)
    started = False
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": True,
            "configure_logging": False,
        }
        if config.address:
            check_reachable(config.address)
            try:
                ray.init(address=config.address, **kwargs)
            except (ConnectionError, RuntimeError, ValueError) as e:
                raise BatchUsageError(
                    f"Cannot connect to the Ray cluster at {config.address}: {e}"
                ) from e
        else:
            cpus = max(1, config.workers or os.cpu_count() or 1)
            ray.init(
                num_cpus=int(cpus * config.cpus_per_worker + 0.999),
                object_store_memory=OBJECT_STORE_MB * 2**20,
                **kwargs,
            )
        started = True
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()


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
