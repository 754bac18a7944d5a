"""`run_batch`: plan a batch, skip what is done, run the rest on Ray, write the manifest."""

from __future__ import annotations

import datetime as _dt
import time
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from voxlate.batch.discover import BatchItem, plan_items
from voxlate.batch.manifest import ManifestEntry, ManifestWriter, WorkerInfo
from voxlate.batch.plan import (
    BatchOptions,
    NotRegularInput,
    input_sha256,
    is_done,
    remove_stale_temps,
)
from voxlate.batch.ray_pool import PoolConfig, run_pool
from voxlate.batch.split import (
    Part,
    SplitProgress,
    duration_s,
    join_parts,
    load_part,
    part_count,
    part_is_done,
    part_path,
    remove_part_temps,
)
from voxlate.batch.worker import BatchWorker, Job, JobOutcome
from voxlate.errors import EngineError, VoxlateError

MANIFEST = "manifest.jsonl"


@dataclass
class BatchSummary:
    """What a run did, counted."""

    ok: int = 0  # inputs translated in this run
    failed: int = 0  # inputs that failed (recorded with their error)
    skipped: int = 0  # inputs already done with the same bytes and options
    audio_s: float = 0.0  # length of the inputs translated in this run (s)
    plan_s: float = 0.0  # wall time to find, hash and check the inputs (s)
    startup_s: float = 0.0  # wall time until every worker had loaded its engines (s)
    wall_s: float = 0.0  # wall time of the whole run (s)
    workers: list[WorkerInfo] = field(default_factory=list)  # every worker that ran
    manifest: Path | None = None  # the manifest appended to

    @property
    def exit_code(self) -> int:
        """0 when every input is ok or skipped, 1 when any failed."""
        return 1 if self.failed else 0


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def run_batch(
    inputs: list[Path],
    out_dir: Path,
    options: BatchOptions,
    pool: PoolConfig | None = None,
    progress: bool = True,
    worker_cls: type = BatchWorker,
) -> BatchSummary:
    """Translate every recording under `inputs` into `out_dir`; returns the counts.

    Inputs already done (same checksum and options in their report) are skipped
    without starting Ray. A failing input is recorded in the manifest and the rest go
    on. SIGINT or SIGTERM stops the workers and raises KeyboardInterrupt; what was
    finished stays finished, and nothing is half-written.
    """
    pool = pool or PoolConfig()
    out_dir = Path(out_dir).absolute()  # workers on other nodes have another working folder
    t_start = time.perf_counter()
    run = _now()
    items = plan_items(inputs, out_dir, options.target, options.srt)
    record = options.record()
    summary = BatchSummary(manifest=out_dir / MANIFEST)
    bar = tqdm(total=len(items), unit="file", desc="batch", disable=not progress)
    jobs: list[Job] = []
    sizes: dict[Job, int] = {}
    splits: dict[BatchItem, SplitProgress] = {}
    with ManifestWriter(out_dir / MANIFEST) as manifest:

        def write(item: BatchItem, outcome: JobOutcome, attempts: int, parts: int) -> None:
            """The input's manifest line, its counts and the progress bar."""
            w = outcome.worker
            manifest.write(
                ManifestEntry(
                    str(item.input),
                    "ok" if outcome.ok else "failed",
                    str(item.output) if outcome.ok else None,
                    str(item.report) if outcome.ok else None,
                    outcome.error,
                    round(outcome.seconds, 3),
                    f"{w.node_ip}:{w.pid}" if w else None,
                    w.node_id if w else None,
                    attempts,
                    round(outcome.audio_s, 3),
                    run,
                    parts,
                )
            )
            if outcome.ok:
                summary.ok += 1
                summary.audio_s += outcome.audio_s
            else:
                summary.failed += 1
                if progress:
                    tqdm.write(f"failed: {item.input}: {outcome.error}")
            bar.update()

        def finish_split(item: BatchItem, sp: SplitProgress) -> JobOutcome:
            """Join a split input's parts (all in) into its outputs."""
            if sp.errors:
                return JobOutcome(False, sp.errors[0], sp.seconds, 0.0, sp.worker)
            parts = [
                load_part(part_path(item, Part(k, sp.count)), sp.sha256, record)
                for k in range(sp.count)
            ]
            try:
                if any(p is None for p in parts):
                    raise EngineError("A translated part went missing before the join.")
                rep = join_parts(
                    item, [p for p in parts if p], options.source, options.target, sp.sha256, record
                )
            except VoxlateError as e:
                return JobOutcome(False, str(e), sp.seconds, 0.0, sp.worker)
            return JobOutcome(True, None, sp.seconds, rep["duration_s"], sp.worker)

        for item in items:
            try:
                sha, size = input_sha256(item.input)
            except NotRegularInput as e:  # a FIFO or /dev/zero would hang the run: never read
                why = f"Not a regular file ({e.kind}); skipped."
                manifest.write(
                    ManifestEntry(
                        str(item.input), "skipped", None, None, None, 0.0, None, run=run, reason=why
                    )
                )
                summary.skipped += 1
                if progress:
                    tqdm.write(f"skipped: {item.input}: {why}")
                bar.update()
                continue
            except OSError as e:
                _record_failed(manifest, item, f"Cannot read {item.input}: {e.strerror}.", run)
                summary.failed += 1
                bar.update()
                continue
            if is_done(item, sha, record):
                manifest.write(
                    ManifestEntry(
                        str(item.input),
                        "skipped",
                        str(item.output),
                        str(item.report),
                        None,
                        0.0,
                        None,
                        run=run,
                        reason="Done before with the same input and options.",
                    )
                )
                summary.skipped += 1
                bar.update()
            else:
                remove_stale_temps(item)
                split = options.split_over_s > 0
                n = part_count(duration_s(item.input), options.split_over_s) if split else 1
                if n == 1:
                    jobs.append(Job(item, sha))
                    sizes[jobs[-1]] = size
                    continue
                todo = [
                    part
                    for part in (Part(k, n) for k in range(n))
                    if not part_is_done(part_path(item, part), sha, record)
                ]
                remove_part_temps(item)
                splits[item] = SplitProgress(sha, n, len(todo))
                for part in todo:
                    jobs.append(Job(item, sha, part))
                    sizes[jobs[-1]] = size // n
                if not todo:  # every part was done before a kill: only the join is left
                    write(item, finish_split(item, splits[item]), 0, n)
        summary.plan_s = time.perf_counter() - t_start
        # Longest first (bytes stand in for duration): the last job to finish, which sets
        # the wall time, is then a short one (LPT scheduling, Graham 1969).
        jobs.sort(key=sizes.__getitem__, reverse=True)

        def done(job: Job, outcome: JobOutcome, attempts: int) -> None:
            if job.part is None:
                write(job.item, outcome, attempts, 1)
                return
            sp = splits[job.item]
            sp.remaining -= 1
            sp.seconds += outcome.seconds
            sp.attempts = max(sp.attempts, attempts)
            sp.worker = outcome.worker or sp.worker
            if not outcome.ok:
                sp.errors.append(f"part {job.part.index + 1} of {sp.count}: {outcome.error}")
            if sp.remaining == 0:
                write(job.item, finish_split(job.item, sp), sp.attempts, sp.count)

        def started(workers: list[WorkerInfo]) -> None:
            summary.startup_s = time.perf_counter() - t_start
            bar.set_postfix_str(f"{len(workers)} worker(s)")

        try:
            summary.workers = run_pool(jobs, options, pool, done, started, worker_cls)
        except KeyboardInterrupt:
            for job in jobs:  # a worker killed mid-write leaves only temp files: drop them
                remove_stale_temps(job.item)
                remove_part_temps(job.item)
            raise
        finally:
            bar.close()
    summary.wall_s = time.perf_counter() - t_start
    return summary


def _record_failed(manifest: ManifestWriter, item: BatchItem, error: str, run: str) -> None:
    manifest.write(ManifestEntry(str(item.input), "failed", None, None, error, 0.0, None, run=run))
