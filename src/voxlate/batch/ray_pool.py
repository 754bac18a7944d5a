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
    BatchUsageError when the engines cannot load (nothing was translated), and
    KeyboardInterrupt on SIGINT/SIGTERM after killing the workers: a job in flight
    then leaves no output (each is written atomically) and the next run redoes it.
    """
    if not jobs:
        return []
    with ray_session(config) as ray, sigterm_as_interrupt():
        from ray.exceptions import ActorUnavailableError, RayActorError

        lost = (RayActorError, ActorUnavailableError)
        n = config.workers or int(ray.cluster_resources().get("CPU", 1) / config.cpus_per_worker)
        n = max(1, min(n, len(jobs)))
        actor_cls = ray.remote(num_cpus=config.cpus_per_worker, max_restarts=0)(worker_cls)
        infos: dict[Any, WorkerInfo] = {}
        actors: list[Any] = []

        def start(count: int) -> list[Any]:
            new = [actor_cls.remote(options) for _ in range(count)]
            loaded = ray.get([a.load.remote() for a in new])
            for a, info in zip(new, loaded):
                if isinstance(info, str):
                    raise BatchUsageError(info)
                infos[a] = info
            actors.extend(new)
            return new

        pending = deque(jobs)
        attempts: dict[Job, int] = {}
        inflight: dict[Any, tuple[Any, Job]] = {}

        def submit(actor: Any) -> None:
            if pending:
                job = pending.popleft()
                attempts[job] = attempts.get(job, 0) + 1
                inflight[actor.run.remote(job)] = (actor, job)

        try:
            pool = start(n)
            if on_start is not None:
                on_start([infos[a] for a in pool])
            for a in pool:
                submit(a)
            while inflight:
                ready, _ = ray.wait(list(inflight), num_returns=1)
                actor, job = inflight.pop(ready[0])
                try:
                    outcome = ray.get(ready[0])
                    if outcome.worker is not None:
                        infos[actor] = outcome.worker
                except lost as e:
                    dead = infos.get(actor)
                    ray.kill(actor)
                    actor = start(1)[0]  # a fresh worker takes the dead one's place
                    if attempts[job] < config.max_attempts:
                        pending.appendleft(job)
                        submit(actor)
                        continue
                    reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                    outcome = JobOutcome(
                        False,
                        f"The worker was lost {attempts[job]} times while translating this "
                        f"input ({type(e).__name__}: {reason[:200]}).",
                        0.0,
                        0.0,
                        dead,
                    )
                on_done(job, outcome, attempts[job])
                submit(actor)
        finally:
            for a in actors:
                ray.kill(a)  # stops work in flight at once (interrupt) or frees the worker
        return list(infos.values())
