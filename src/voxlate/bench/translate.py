"""The file-pipeline benchmark behind `voxlate bench translate`."""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

from tqdm import tqdm

from voxlate.audio import load_audio
from voxlate.bench.report import append_benchmark, markdown_table
from voxlate.data.pocketsphinx import LIBRIVOX
from voxlate.engines.mt.base import worker_process
from voxlate.eval.memory import peak_rss_mb
from voxlate.pipeline.engines import Engines, EngineSpecs
from voxlate.pipeline.file import FileTranslator
from voxlate.pipeline.frames import STAGES
from voxlate.pipeline.stream_stages import check_enhance_mode


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
    process = worker_process(engines.translator)
    if process is None:
        return ""
    worker = process.peak_rss_mb()
    return f" (+ {worker:.0f} MiB in the translator's worker process: {peak_rss_mb() + worker:.0f} MiB in all)"


def _cold_start(engines: Engines) -> str:
    """How the translator's worker started (the LLM: load and prompt prefix), if it has one."""
    process = worker_process(engines.translator)
    describe = getattr(process, "cold_start", None)
    return f" · translator: {describe()}" if callable(describe) else ""


def run_translate_bench(
    files: list[Path],
    source: str,
    target: str,
    voice: str = "preserve",
    enhance: str = "deepfilter",
    enhance_mode: str = "auto",
    repeat: int = 1,
    log: Path | None = None,
    asr: str | None = None,
    tts: str | None = None,
    mt: str = "apertium",
) -> str:
    """Translate `files` `repeat` times with engines loaded once; return the markdown table.

    Per stage: mean seconds per file and real-time factor (stage seconds / audio seconds).
    The first pass includes per-speaker warm-up costs; later passes show steady state.
    "start-up and first file" is the wall time from before loading the models to the end of
    the first file, as a user running `voxlate translate` on it waits (less the imports); a
    translator that loads in the background (the LLM) counts there and in the first file's
    `mt`, not in "model loading".
    """
    t0 = time.perf_counter()
    engines = Engines.load(
        EngineSpecs(voice=voice, enhance=enhance, asr=asr, mt=mt, tts=tts), source, target
    )
    load_s = time.perf_counter() - t0
    translator = FileTranslator(
        engines, progress=False, enhance_mode=check_enhance_mode(enhance_mode)
    )
    audios = [load_audio(f) for f in files]
    sums: dict[str, float] = defaultdict(float)
    audio_s = 0.0
    runs = 0
    first_wall = 0.0
    for _ in range(repeat):
        for a, f in tqdm(list(zip(audios, files)), desc="bench", leave=False):
            r = translator.translate(a, name=str(f))
            if not first_wall:
                first_wall = time.perf_counter() - t0
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
        + f"\n\nmodel loading (once): {load_s:.2f} s · start-up and first file: {first_wall:.2f} s "
        f"wall · peak RSS: {peak_rss_mb():.0f} MiB" + _worker_rss(engines) + _cold_start(engines)
    )
    body = f"{summary}\n\n{table}"
    if log is not None:
        append_benchmark("bench translate", body, log)
    return body


def run_asr_bleu_bench(
    source: str,
    target: str,
    n: int = 30,
    split: str = "test",
    tts: str | None = None,
    asr: str | None = None,
    voice: str = "tts",
    oracle: bool = False,
    log: Path | None = None,
    mt: str = "apertium",
) -> str:
    """ASR-BLEU of the file pipeline on `n` reference lines (see `voxlate.eval.asr_bleu`).

    With `oracle`, the synthesizer reads the reference translations (synthesis alone).
    Returns the markdown (appended to `log` when given).
    """
    from voxlate.eval.asr_bleu import (
        INPUT_VOICES,
        JUDGE,
        input_speech,
        judge_speech,
        load_judge,
        oracle_asr_bleu,
        reference_lines,
        score,
    )

    lines = reference_lines(source, target, n, split)
    t0 = time.perf_counter()
    engines = Engines.load(
        EngineSpecs(voice=voice, enhance="none", asr=asr, mt=mt, tts=tts), source, target
    )
    load_s = time.perf_counter() - t0
    judge = load_judge()
    bar = tqdm(total=len(lines), desc=f"asr-bleu {source}->{target}", leave=False)
    if oracle:
        result, tts_rtf = oracle_asr_bleu(engines.synthesizer, lines, target, judge, bar.update)
        pipe_rtf = float("nan")
    else:
        inputs = input_speech(lines, source)
        translator = FileTranslator(engines, progress=False, enhance_mode="never")
        texts, heard = [], []
        sums: dict[str, float] = defaultdict(float)
        speech_s = audio_s = 0.0
        for x, a in zip(lines, inputs):
            r = translator.translate(a, name=x.id)
            for k, v in r.timings.items():
                sums[k] += v
            audio_s += a.duration
            speech_s += sum(s.output_end - s.output_start for s in r.segments)
            texts.append(" ".join(s.translation for s in r.segments))
            heard.append(judge_speech(judge, r.audio, target))
            bar.update()
        result = score([x.reference for x in lines], texts, heard)
        tts_rtf = sums["tts"] / max(speech_s, 1e-9)
        pipe_rtf = sums["total"] / audio_s
    bar.close()
    names = engines.names
    row = [
        f"{source}->{target}", split, result.n, "oracle text" if oracle else names["asr"],
        names["mt"], names["tts"], result.text_bleu, result.asr_bleu, result.asr_chrf,
        tts_rtf, pipe_rtf, peak_rss_mb(),
    ]  # fmt: skip
    table = markdown_table(
        ["direction", "split", "lines", "asr", "mt", "tts", "text BLEU", "ASR-BLEU", "ASR-chrF",
         "TTS RTF", "pipeline RTF", "peak RSS MiB"],
        [row],
    )  # fmt: skip
    examples = "\n".join(
        f"- {x.reference} | {t} | *{h}*"
        for x, t, h in list(zip(lines, result.texts, result.hyps))[:3]
    )
    body = (
        f"Fish Fillets NG lines ({split} split), input speech by `{INPUT_VOICES[source]}`, "
        f"judge `{JUDGE}` in '{target}'; voice `{voice}`, enhance none; BLEU/chrF on "
        f"normalised text; model loading {load_s:.1f} s. Examples (reference | translation | *heard*):\n\n"
        f"{table}\n\n{examples}"
    )
    if log is not None:
        append_benchmark("bench translate: ASR-BLEU", body, log)
    return body
