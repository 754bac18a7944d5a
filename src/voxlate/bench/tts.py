"""`voxlate bench tts`: a synthesizer's speed on the reference lines' target side.

Real-time factor = synthesis seconds / seconds of speech produced, both as wall time and
as this process's CPU time. On a shared machine the wall figure includes waiting for a
core; the CPU figure with one thread is what one idle core would take.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass

from voxlate.bench.report import append_benchmark, markdown_table
from voxlate.engines import tts
from voxlate.eval.asr_bleu import reference_lines
from voxlate.eval.memory import peak_rss_mb
from voxlate.registry import Spec


@dataclass(frozen=True)
class TtsSpeed:
    """Speed of one synthesizer over some sentences (seconds)."""

    sentences: int
    speech_s: float  # seconds of audio produced
    wall_s: float  # wall-clock synthesis time
    cpu_s: float  # CPU time of this process (all threads) during synthesis
    first_chunk_s: tuple[float, ...]  # per sentence: wall time to its first chunk


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def build(spec: str, threads: int = 0) -> tts.Synthesizer:
    """The synthesizer `spec`; Kokoro with `threads` ONNX Runtime threads when given."""
    s = Spec.parse(spec)
    if threads and s.name == "kokoro":
        from voxlate.engines.tts.kokoro import KokoroSynthesizer

        return KokoroSynthesizer(s.arg, threads=threads)
    return tts.REGISTRY.create(spec)


def measure(spec: str, language: str, sentences: list[str], threads: int = 0) -> TtsSpeed:
    """Synthesize `sentences` with `spec` after one warm-up call."""
    engine = build(spec, threads)
    for _ in engine.synthesize(sentences[0], language):
        pass
    speech = wall = cpu = 0.0
    firsts = []
    for s in sentences:
        t0, c0 = time.perf_counter(), _cpu()
        first = None
        for chunk in engine.synthesize(s, language):
            first = first if first is not None else time.perf_counter() - t0
            speech += chunk.duration
        wall += time.perf_counter() - t0
        cpu += _cpu() - c0
        firsts.append(first if first is not None else 0.0)
    return TtsSpeed(len(sentences), speech, wall, cpu, tuple(firsts))


def run_tts_bench(
    specs: list[str],
    language: str = "es",
    n: int = 20,
    threads: int = 0,
    log: str | os.PathLike | None = None,
) -> str:
    """Markdown table of `measure` for each spec on `n` reference lines in `language`."""
    lines = reference_lines("en", language, n, "test")
    texts = [x.reference for x in lines]
    rows = []
    for spec in specs:
        m = measure(spec, language, texts, threads)
        firsts = sorted(m.first_chunk_s)
        rows.append(
            [spec, m.sentences, m.speech_s, m.wall_s / m.speech_s, m.cpu_s / m.speech_s,
             firsts[len(firsts) // 2], peak_rss_mb()]
        )  # fmt: skip
    table = markdown_table(
        ["tts", "sentences", "speech s", "RTF (wall)", "RTF (CPU time)",
         "first chunk median s", "peak RSS MiB (cumulative)"],
        rows,
    )  # fmt: skip
    body = (
        f"Target side of {n} Fish Fillets lines in '{language}' (test split), one warm-up call "
        f"first; Kokoro threads: {threads or 'default'}; load average {os.getloadavg()[0]:.1f}.\n\n{table}"
    )
    if log is not None:
        append_benchmark("bench tts", body, log)
    return body
