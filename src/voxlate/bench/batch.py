"""The batch benchmark behind `voxlate bench batch`: throughput, memory, skip cost, splitting.

Each worker count runs the same inputs into a fresh output folder through `run_batch`
(a local Ray started and stopped per run, as a user's run would). Then:

- skip: the last run again over the same folder, every input done, so nothing starts;
- split: one long recording (the inputs joined) on N workers, whole (one worker busy)
  and with ``--split-over`` set to give N parts (batch/split.py: cut at pauses, one part
  per worker, joined on the driver).
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from voxlate.audio import SAMPLE_RATE, Audio, concatenate, load_audio, save_audio
from voxlate.batch.plan import BatchOptions
from voxlate.batch.ray_pool import PoolConfig
from voxlate.batch.runner import BatchSummary, run_batch
from voxlate.bench.report import append_benchmark, markdown_table

GAP_S = 0.6  # silence put between inputs when they are joined into one long recording (s)


def _copies(files: list[Path], copies: int, folder: Path) -> list[Path]:
    """`copies` copies of each file under distinct names (distinct inputs for the batch)."""
    out = []
    for k in range(copies):
        for f in files:
            dest = folder / f"{f.stem}-{k}{f.suffix}"
            dest.write_bytes(f.read_bytes())
            out.append(dest)
    return out


def joined_recording(files: list[Path], copies: int) -> Audio:
    """The inputs end to end, `copies` times, with GAP_S of silence between them."""
    gap = Audio(np.zeros(int(GAP_S * SAMPLE_RATE), dtype=np.float32), SAMPLE_RATE)
    parts = []
    for _ in range(copies):
        for f in files:
            parts += [load_audio(f, SAMPLE_RATE), gap]
    return concatenate(parts, SAMPLE_RATE)


def _row(label: str, n: int, s: BatchSummary) -> list[object]:
    steady = max(s.wall_s - s.startup_s, 1e-9)
    w = s.workers or []
    mean = (lambda xs: sum(xs) / len(xs)) if w else (lambda xs: 0.0)
    return [
        label,
        n,
        s.ok,
        s.audio_s,
        s.wall_s,
        s.startup_s,
        s.audio_s / max(s.wall_s, 1e-9),
        s.audio_s / steady,
        mean([x.load_s for x in w]),
        mean([x.rss_mb for x in w]),
        mean([x.peak_rss_mb for x in w]),
    ]


def run_batch_bench(
    files: list[Path],
    options: BatchOptions,
    workers: list[int],
    copies: int = 2,
    log: Path | None = None,
) -> str:
    """Run the benchmark; return the markdown (and append it to `log` when given)."""
    header = [
        "run",
        "workers",
        "files",
        "audio (s)",
        "wall (s)",
        "start-up (s)",
        "audio h / wall h",
        "after start-up",
        "engine load per worker (s)",
        "RSS per worker after load (MiB)",
        "peak RSS per worker (MiB)",
    ]
    rows = []
    with tempfile.TemporaryDirectory(prefix="voxlate-bench-batch-") as tmp:
        root = Path(tmp)
        (root / "in").mkdir()
        inputs = _copies(files, copies, root / "in")
        size_mb = sum(f.stat().st_size for f in inputs) / 1e6
        last: Path | None = None
        for n in workers:
            last = root / f"out-{n}"
            s = run_batch(inputs, last, options, PoolConfig(workers=n), progress=False)
            rows.append(_row("files", n, s))
        assert last is not None
        skip = run_batch(inputs, last, options, PoolConfig(workers=max(workers)), progress=False)
        long = joined_recording(files, copies)
        (root / "long").mkdir()
        save_audio(root / "long" / "long.wav", long)
        n = max(workers)
        whole = run_batch([root / "long"], root / "out-long", options, PoolConfig(n), False)
        rows.append(_row("one long file", n, whole))
        split = replace(options, split_over_s=long.duration / n + 0.01)
        cut = run_batch([root / "long"], root / "out-split", split, PoolConfig(n), False)
        rows.append(_row(f"the same, --split-over {split.split_over_s:.0f} ({n} parts)", n, cut))
    table = markdown_table(header, rows)
    o = options.specs
    gain = (whole.wall_s - whole.startup_s) / max(cut.wall_s - cut.startup_s, 1e-9)
    body = (
        f"{len(files)} recording(s) x {copies} copies; {options.source}->{options.target}, "
        f"voice `{o.voice}`, vad `{o.vad}`, enhance `{o.enhance}`; a local Ray per run "
        f"(start-up = Ray start + engine loading, until every worker is ready).\n\n{table}\n\n"
        f"Skipping done work: {skip.skipped} inputs checked (SHA-256 + report) and skipped in "
        f"{skip.wall_s:.3f} s, {1000 * skip.plan_s / max(skip.skipped, 1):.1f} ms per input "
        f"({size_mb / max(skip.plan_s, 1e-9):.0f} MB/s of input hashed), no Ray started. Splitting the long file at pauses across {n} workers: "
        f"{gain:.2f}x as fast after start-up."
    )
    if log is not None:
        append_benchmark("bench batch", body, log)
    return body
