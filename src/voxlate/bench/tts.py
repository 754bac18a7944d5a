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

import numpy as np
from tqdm import tqdm

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


CLAUSE_WORDS = (2, 3, 4, 5, 6)  # live-like clauses: the first 2..6 words of a line, in turn


@dataclass(frozen=True)
class EdgeRun:
    """Kokoro on some texts with the edge edit on or off (`kokoro_graph`)."""

    calls: int
    cpu_s: float  # per call, this process, all threads
    wall_s: float  # per call
    generated_s: float  # per call: audio the model made, before trim
    speech_s: float  # per call: after trim
    asr_bleu: float  # Whisper base's transcripts vs the texts spoken
    asr_chrf: float
    first_word: float  # share of calls whose transcript starts with the text's first word
    last_word: float  # ... and ends with its last word


def clauses(texts: list[str]) -> list[str]:
    """Live-like clauses: the first `CLAUSE_WORDS` words of each text, in turn."""
    out = []
    for k, t in enumerate(texts):
        words = t.split()
        out.append(" ".join(words[: CLAUSE_WORDS[k % len(CLAUSE_WORDS)]]))
    return out


def edge_run(engine, texts: list[str], language: str, judge, trim_edges: bool) -> EdgeRun:  # type: ignore[no-untyped-def]
    """`engine` (a KokoroSynthesizer) speaking `texts` one piece per call, judged by `judge`."""
    from voxlate.audio import Audio, concatenate
    from voxlate.engines.tts.kokoro import SAMPLE_RATE, trim
    from voxlate.eval.asr_bleu import PAD_S, judge_speech, score
    from voxlate.text.normalize import normalize_text

    engine.trim_edges = trim_edges
    calls = 0
    cpu = wall = made = speech = 0.0
    heard = []
    first = last = 0
    pad = Audio(np.zeros(int(PAD_S * SAMPLE_RATE), np.float32), SAMPLE_RATE)
    what = f"{language} {'edited' if trim_edges else 'shipped'}"
    for text in tqdm(texts, desc=what, leave=False):
        chunks = []
        for piece in engine.phonemizer.pieces(text, language):
            t0, c0 = time.perf_counter(), _cpu()
            out = engine.generate(piece)
            wall += time.perf_counter() - t0
            cpu += _cpu() - c0
            calls += 1
            made += len(out) / SAMPLE_RATE
            chunks.append(Audio(trim(out), SAMPLE_RATE))
            speech += chunks[-1].duration
        h = judge_speech(judge, concatenate([pad, *chunks, pad], SAMPLE_RATE), language)
        heard.append(h)
        said, got = normalize_text(text).split(), normalize_text(h).split()
        first += bool(said and got and said[0] == got[0])
        last += bool(said and got and said[-1] == got[-1])
    engine.trim_edges = True
    s = score(texts, texts, heard)
    n = max(calls, 1)
    return EdgeRun(
        calls, cpu / n, wall / n, made / n, speech / n, s.asr_bleu, s.asr_chrf,
        first / len(texts), last / len(texts),
    )  # fmt: skip


def run_edges_bench(
    languages: tuple[str, ...] = ("es", "fr"),
    n: int = 20,
    threads: int = 1,
    log: str | os.PathLike | None = None,
) -> str:
    """Kokoro with and without the edge edit on live-like clauses and on full lines of the
    test split, one thread: cost per call, audio made and kept, what Whisper base hears."""
    from voxlate.engines.tts.kokoro import KokoroSynthesizer
    from voxlate.eval.asr_bleu import load_judge

    engine = KokoroSynthesizer(threads=threads)
    if not engine.edited:
        from voxlate.errors import EngineError

        raise EngineError("The Kokoro edge edit could not be made here (see the note above).")
    judge = load_judge()
    rows = []
    for language in languages:
        lines = [x.reference for x in reference_lines("en", language, n, "test")]
        for _ in engine.synthesize(lines[0], language):  # warm-up
            pass
        for kind, texts in (("clauses", clauses(lines)), ("lines", lines)):
            for trim_edges in (False, True):
                r = edge_run(engine, texts, language, judge, trim_edges)
                rows.append(
                    [language, kind, "edited" if trim_edges else "shipped", r.calls, r.cpu_s,
                     r.wall_s, r.generated_s, r.speech_s, r.asr_bleu, r.asr_chrf,
                     f"{r.first_word:.0%}", f"{r.last_word:.0%}"]
                )  # fmt: skip
    table = markdown_table(
        ["lang", "texts", "graph", "calls", "CPU s/call", "wall s/call", "made s/call",
         "speech s/call", "ASR-BLEU", "chrF", "first word heard", "last word heard"],
        rows,
    )  # fmt: skip
    body = (
        f"Kokoro edge edit: {n} Fish Fillets lines per language (test split) and their first "
        f"2-6 words as clauses; {threads} thread(s); judge Whisper base; load average "
        f"{os.getloadavg()[0]:.1f}.\n\n{table}"
    )
    if log is not None:
        append_benchmark("bench tts: kokoro edges", body, log)
    return body
