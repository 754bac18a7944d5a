"""`voxlate batch`: many recordings, many workers (Ray), resumable, failures isolated.

| module | role |
|---|---|
| `discover.py` | inputs (files and folders, searched recursively) -> `BatchItem`s with their output paths; none from inside the output folder |
| `plan.py` | `BatchOptions` (the translate options of a run), the input checksum (regular files only), and the skip rule |
| `manifest.py` | `ManifestEntry`, one JSON line per input per run in `OUT_DIR/manifest.jsonl` |
| `worker.py` | `BatchWorker`: engines loaded once, translates one job at a time (a Ray actor) |
| `split.py` | long inputs in parts cut at VAD pauses (`--split-over`), part files, the join |
| `ray_pool.py` | starting or joining Ray (token authentication), the actor pool, retries when a worker is lost |
| `reaper.py` | a watchdog that kills a local Ray's leftovers when the driver dies (stdlib only) |
| `runner.py` | `run_batch`: plan, skip, run the rest, write the manifest, interrupt safely |
"""
