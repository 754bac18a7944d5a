"""The text translation benchmark behind `voxlate bench mt`: BLEU, chrF, time, memory.

The sentences are the Fish Fillets dialog lines of one split (`voxlate.data.fillets_text`;
test by default, dev for choices), translated in script order as one document (each
sentence after the one before, as in a recording). Each engine runs in its own process,
so that its peak RSS is its own. For a guarded engine (``llm``, ``openai:...``) the table
also gives the raw model's BLEU before the guard and how many sentences fell back.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from voxlate.bench.report import append_benchmark, markdown_table
from voxlate.data.fillets_text import ParallelLine, read_parallel, split_parallel
from voxlate.engines.mt.base import worker_process
from voxlate.metrics import bleu, chrf

HEADER = [
    "engine",
    "pair",
    "sentences",
    "BLEU",
    "chrF",
    "s per sentence",
    "max s",
    "CPU s per sentence",
    "fallbacks",
    "BLEU before guard",
    "load s",
    "peak RSS MiB",
]


@dataclass(frozen=True)
class MtRun:
    """One engine on one language pair."""

    engine: str  # the spec benchmarked
    pair: str  # "en->es"
    hypotheses: list[str]  # final translations, one per sentence
    raw: list[str]  # the primary engine's replies before the guard (== hypotheses if none)
    engines: list[str]  # which engine made each translation
    rejected: list[str]  # why the guard rejected the model's reply ('' when it did not)
    guarded: bool  # whether the engine has a guard (then `raw` is the model's own output)
    seconds: list[float]  # per sentence, wall clock
    cpu_seconds: float  # CPU time of the process and its translation worker, all sentences
    load_s: float  # building the engine and one warm-up sentence
    peak_rss_mb: float  # of the process that ran it, plus its translation worker's if any


def run_engine(spec: str, source: str, target: str, texts: list[str]) -> MtRun:
    """Translate `texts` in order with the engine `spec` (in this process)."""
    from voxlate.engines.mt import REGISTRY
    from voxlate.eval.memory import peak_rss_mb

    t0 = time.perf_counter()
    engine = REGISTRY.create(spec)
    engine.translate("Hello.", source, target)  # loads lazily-loaded models
    if hasattr(engine, "reset"):
        engine.reset()
    load_s = time.perf_counter() - t0
    hyps, raw, names, rejected, secs = [], [], [], [], []
    cpu0 = time.process_time() + _worker_cpu(engine)
    tagged = getattr(engine, "translate_tagged", None)
    for text in texts:
        t1 = time.perf_counter()
        if tagged is not None:
            tr = tagged(text, source, target)
            hyps.append(tr.text)
            raw.append(tr.primary_text if tr.primary_text or not tr.text else tr.text)
            names.append(tr.engine)
            rejected.append(tr.rejected)
        else:
            out = engine.translate(text, source, target)
            hyps.append(out)
            raw.append(out)
            names.append(spec)
            rejected.append("")
        secs.append(time.perf_counter() - t1)
    return MtRun(
        spec,
        f"{source}->{target}",
        hyps,
        raw,
        names,
        rejected,
        tagged is not None,
        secs,
        time.process_time() + _worker_cpu(engine) - cpu0,
        load_s,
        peak_rss_mb() + _worker_rss(engine),
    )


def _worker_cpu(engine: object) -> float:
    """CPU seconds of `engine`'s worker process so far (the LLM's llama.cpp); 0 without one."""
    worker = worker_process(engine)
    return worker.cpu_seconds() if worker is not None else 0.0


def _worker_rss(engine: object) -> float:
    """Peak RSS (MiB) of `engine`'s worker process so far; 0 without one."""
    worker = worker_process(engine)
    return worker.peak_rss_mb() if worker is not None else 0.0


def _in_child(spec: str, source: str, target: str, texts: list[str]) -> MtRun:
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(run_engine, spec, source, target, texts).result()


def row(run: MtRun, refs: list[str]) -> list[object]:
    n = len(refs)
    fallbacks = sum(1 for r in run.rejected if r)
    guarded = run.guarded
    return [
        run.engine,
        run.pair,
        n,
        round(bleu(refs, run.hypotheses), 1),
        round(chrf(refs, run.hypotheses), 1),
        round(sum(run.seconds) / n, 3),
        round(max(run.seconds), 2),
        round(run.cpu_seconds / n, 3),
        f"{fallbacks} ({100 * fallbacks / n:.0f} %)" if guarded else "-",
        round(bleu(refs, run.raw), 1) if guarded else "-",
        round(run.load_s, 1),
        round(run.peak_rss_mb),
    ]


def _load() -> str:
    try:
        return f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    except OSError:
        return "unknown"


def run_mt_bench(
    specs: list[str],
    pairs: list[tuple[str, str]],
    split: str = "test",
    limit: int | None = None,
    log: Path | None = None,
    samples: int = 3,
    isolate: bool = True,
) -> str:
    """Benchmark each engine spec on each pair; return (and optionally log) the markdown.

    samples: how many example translations per engine and pair to show under the table.
    isolate: run each engine in its own process (separate peak RSS).
    """
    rows: list[list[object]] = []
    examples: list[str] = []
    reasons: list[str] = []
    sizes = {}
    for source, target in pairs:
        lines: list[ParallelLine] = split_parallel(read_parallel(source, target), split, limit)
        sizes[f"{source}->{target}"] = len(lines)
        texts, refs = [ln.source for ln in lines], [ln.target for ln in lines]
        for spec in specs:
            run = (_in_child if isolate else run_engine)(spec, source, target, texts)
            rows.append(row(run, refs))
            if run.guarded and any(run.rejected):
                why = Counter(r.split(" (")[0] for r in run.rejected if r)
                reasons.append(
                    f"- `{spec}` {run.pair}: " + ", ".join(f"{k} {v}" for k, v in why.most_common())
                )
            for i in range(0, len(lines), max(1, len(lines) // max(1, samples)))[:samples]:
                examples.append(
                    f"- `{spec}` {run.pair}: {texts[i]!r} -> {run.hypotheses[i]!r} "
                    f"(human: {refs[i]!r})"
                )
    table = markdown_table(HEADER, rows)
    body = (
        f"Fish Fillets dialog lines, {split} split ("
        + ", ".join(f"{k}: {v}" for k, v in sizes.items())
        + " sentences; whole levels held out), translated in order as one document; "
        "BLEU/chrF by sacrebleu (corpus, default tokenisation); time per sentence includes "
        "the guard and any fallback; CPU time counts this process's threads and the LLM's "
        "worker process (not Apertium's child processes); peak RSS adds the LLM worker's "
        "peak to the process's; each engine in its own process; load average at the end: "
        f"{_load()}.\n\n"
        f"{table}\n\nExamples:\n\n"
        + "\n".join(examples)
        + ("\n\nWhy the guard fell back:\n\n" + "\n".join(reasons) if reasons else "")
    )
    if log is not None:
        append_benchmark("bench mt", body, log)
    return body
