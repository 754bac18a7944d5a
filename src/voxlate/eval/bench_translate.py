"""The file-pipeline benchmark behind `voxlate bench translate`."""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

from tqdm import tqdm

from voxlate.audio import load_audio
from voxlate.data.pocketsphinx import LIBRIVOX
from voxlate.eval.memory import peak_rss_mb
from voxlate.eval.report import append_benchmark, markdown_table
from voxlate.pipeline.engines import Engines, EngineSpecs
from voxlate.pipeline.file import FileTranslator
from voxlate.pipeline.frames import STAGES


def default_inputs() -> list[Path]:
    from voxlate.errors import InputError

    files = sorted(LIBRIVOX.glob("*.wav"))
    if not files:
        raise InputError(
            "No inputs given and pocketsphinx-testdata is not installed "
            "(sudo apt-get install pocketsphinx-testdata)."
        )
    return files


def _worker_rss(engines: Engines) -> str:
    """The peak RSS of a translator's worker process (the LLM's), if it has one."""
    primary = getattr(engines.translator, "primary", engines.translator)
    rss = getattr(primary, "peak_rss_mb", None)
    if rss is None:
        return ""
    worker = rss()
    return f" (+ {worker:.0f} MiB in the translator's worker process: {peak_rss_mb() + worker:.0f} MiB in all)"


def run_translate_bench(
    files: list[Path],
    source: str,
    target: str,
    voice: str = "preserve",
    enhance: str = "deepfilter",
    enhance_mode: str = "auto",
    repeat: int = 1,
    log: Path | None = None,
    mt: str = "apertium",
) -> str:
    """Translate `files` `repeat` times with engines loaded once; return the markdown table.

    Per stage: mean seconds per file and real-time factor (stage seconds / audio seconds).
    The first pass includes per-speaker warm-up costs; later passes show steady state.
    """
    t0 = time.perf_counter()
    engines = Engines.load(EngineSpecs(voice=voice, enhance=enhance, mt=mt), source, target)
    load_s = time.perf_counter() - t0
    translator = FileTranslator(engines, progress=False, enhance_mode=enhance_mode)
    audios = [load_audio(f) for f in files]
    sums: dict[str, float] = defaultdict(float)
    audio_s = 0.0
    runs = 0
    for _ in range(repeat):
        for a, f in tqdm(list(zip(audios, files)), desc="bench", leave=False):
            r = translator.translate(a, name=str(f))
            for k, v in r.timings.items():
                sums[k] += v
            audio_s += a.duration
            runs += 1
    rows = [[s, sums[s] / runs, sums[s] / audio_s] for s in (*STAGES, "total")]
    table = markdown_table(["stage", "mean s per file", "real-time factor"], rows)
    summary = (
        f"{len(files)} file(s) x {repeat} pass(es), {audio_s / repeat:.1f} s of audio per pass, "
        f"{source}->{target}, voice `{voice}`, enhance `{enhance}` ({enhance_mode}); engines: "
        + ", ".join(f"{k}=`{v}`" for k, v in engines.names.items())
        + f"\n\nmodel loading (once): {load_s:.2f} s · peak RSS: {peak_rss_mb():.0f} MiB"
        + _worker_rss(engines)
    )
    body = f"{summary}\n\n{table}"
    if log is not None:
        append_benchmark("bench translate", body, log)
    return body
