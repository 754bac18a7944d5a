"""A batch worker: engines loaded once, then one input after another.

`BatchWorker` is a plain class; `ray_pool.py` runs it as a Ray actor (one per worker),
and it works the same in-process.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from dataclasses import dataclass, replace
from typing import Any

from voxlate.audio import write_text_atomic
from voxlate.batch.discover import BatchItem, file_kind
from voxlate.batch.manifest import WorkerInfo
from voxlate.batch.plan import BatchOptions, batch_record, remove_stale_temps
from voxlate.batch.split import Part, PartResult, part_bounds, part_path, save_part
from voxlate.errors import InputError, VoxlateError


@dataclass(frozen=True)
class Job:
    """One input to translate, with the checksum the driver read."""

    item: BatchItem  # the input and its output paths
    sha256: str  # SHA-256 of the input when the run planned it
    part: Part | None = None  # which part, when a long input is split (batch/split.py)


@dataclass(frozen=True)
class JobOutcome:
    """What became of a job on a worker."""

    ok: bool  # the outputs were written
    error: str | None  # one sentence when not ok
    seconds: float  # wall time on the worker (s)
    audio_s: float  # input length (s); 0 when unknown
    worker: WorkerInfo | None  # who ran it


def _rss_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MiB."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20, peak
    except (OSError, ValueError, IndexError):
        return peak, peak


def _node() -> tuple[str, str]:
    """(IP, id) of the Ray node this process runs on; ('local', '') outside Ray."""
    try:
        import ray

        if ray.is_initialized():
            return ray.util.get_node_ip_address(), ray.get_runtime_context().get_node_id()
    except ImportError:
        pass
    return "local", ""


class BatchWorker:
    """Translates jobs with engines loaded once (`load`), one at a time (`run`)."""

    def __init__(self, options: BatchOptions) -> None:
        self.options = options
        self.record = options.record()
        self.translator: Any = None
        self.info: WorkerInfo | None = None

    def load(self) -> WorkerInfo | str:
        """Load the engines; the worker's info, or the user error's sentence if they cannot load."""
        from voxlate.pipeline.engines import Engines
        from voxlate.pipeline.file import FileTranslator
        from voxlate.pipeline.segmenter import SegmenterConfig
        from voxlate.pipeline.stream_stages import check_enhance_mode

        o = self.options
        t0 = time.perf_counter()
        try:
            engines = Engines.load(o.specs, o.source, o.target)
        except VoxlateError as e:
            return str(e)
        seg = SegmenterConfig(end_silence_s=o.end_silence_s, max_utterance_s=o.max_utterance_s)
        self.translator = FileTranslator(
            engines, segmenter=seg, progress=False, enhance_mode=check_enhance_mode(o.enhance_mode)
        )
        ip, node_id = _node()
        rss, peak = _rss_mb()
        self.info = WorkerInfo(ip, node_id, os.getpid(), time.perf_counter() - t0, rss, peak)
        return self.info

    def run(self, job: Job) -> JobOutcome:
        """Translate one input; its outputs are written atomically, the report last.

        Any failure is returned as an outcome with one sentence, never raised: one bad
        input must not stop the batch. Errors that are not `VoxlateError`s are bugs or
        engine crashes; their traceback goes to the worker's stderr.
        """
        from voxlate.pipeline.file import translate_file

        if self.translator is None:
            raise RuntimeError("BatchWorker.run before load")
        item = job.item
        t0 = time.perf_counter()
        remove_stale_temps(item)
        audio_s = 0.0
        try:
            try:
                kind = file_kind(os.stat(item.input).st_mode)
            except OSError as e:
                raise InputError(f"Cannot read {item.input}: {e.strerror}.") from e
            if kind is not None:  # swapped for a FIFO or a device since the driver hashed it
                raise InputError(f"{item.input} is no longer a regular file ({kind}).")
            if job.part is not None:
                audio_s = self._run_part(job, job.part)
            else:
                rep = translate_file(
                    self.translator,
                    item.input,
                    item.output,
                    None,
                    item.srt,
                    max_seconds=self.options.max_audio_s,
                )
                audio_s = float(rep.get("duration_s", 0.0))
                rep["batch"] = batch_record(job.sha256, self.record)
                text = json.dumps(rep, ensure_ascii=False, indent=2) + "\n"
                write_text_atomic(item.report, text)  # last: its presence marks the item done
            error = None
        except VoxlateError as e:
            error = str(e)
        except Exception as e:  # an engine crashed on this input: record it, go on
            traceback.print_exc(file=sys.stderr)
            error = f"{type(e).__name__}: {e}".rstrip(": ")
        return JobOutcome(
            error is None, error, time.perf_counter() - t0, audio_s, self.current_info()
        )

    def _run_part(self, job: Job, part: Part) -> float:
        """Translate one part of a long input and save it; returns its length (s)."""
        from voxlate.audio import load_audio
        from voxlate.errors import NoSpeechError

        t = self.translator
        audio = load_audio(job.item.input, max_seconds=self.options.max_audio_s)
        start, end = part_bounds(audio, part, t.engines.vad, t.segmenter)
        try:
            r = t.translate(audio.slice(start, end), name=f"{job.item.input} [{start}-{end} s]")
            result = PartResult(start, end, r.audio, r.segments, r.timings, t.engines.names)
        except NoSpeechError:  # a long pause or music: the part adds silence only
            result = PartResult(start, end, None, [], {}, t.engines.names)
        save_part(part_path(job.item, part), result, job.sha256, self.record)
        return end - start

    def current_info(self) -> WorkerInfo | None:
        """The worker's info with its peak memory now."""
        if self.info is None:
            return None
        return replace(self.info, peak_rss_mb=_rss_mb()[1])
