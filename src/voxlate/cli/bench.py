"""`voxlate bench translate`: per-stage time, real-time factor and peak memory."""

from __future__ import annotations

from pathlib import Path

import typer

from voxlate.cli.conventions import APPEND_HELP
from voxlate.cli.engine_options import (
    AsrOption,
    EnhanceModeOption,
    EnhanceOption,
    SourceOption,
    TargetOption,
    TtsOption,
    VoiceOption,
)
from voxlate.cli.groups import bench_app


@bench_app.command("translate")
def bench_translate(
    inputs: list[Path] = typer.Argument(
        None, help="Recordings [default: the LibriVox clips of pocketsphinx-testdata]."
    ),
    source: SourceOption = "en",
    target: TargetOption = "es",
    voice: VoiceOption = "preserve",
    enhance: EnhanceOption = "deepfilter",
    enhance_mode: EnhanceModeOption = "auto",
    repeat: int = typer.Option(
        1, "--repeat", help="Passes over the inputs (the first warms caches)."
    ),
    append: Path | None = typer.Option(None, "--append", "--log", help=APPEND_HELP),
    no_log: bool = typer.Option(False, "--no-log", hidden=True, help="Print only (the default)."),
    mt: str = typer.Option(
        "apertium",
        "--mt",
        help="Translator spec, as for translate [default: apertium, this benchmark's fixed "
        "baseline, not translate's default].",
    ),
    asr: AsrOption = None,
    tts: TtsOption = None,
    asr_bleu: int = typer.Option(
        0,
        "--asr-bleu",
        help="Instead of timing recordings: ASR-BLEU on N Fish Fillets lines (en<->es, ...).",
    ),
    split: str = typer.Option("test", "--split", help="ASR-BLEU lines: test | dev."),
    oracle: bool = typer.Option(
        False, "--oracle", help="ASR-BLEU of the synthesizer reading the references."
    ),
    as_user: bool = typer.Option(
        False,
        "--as-user",
        help="Instead: time `voxlate translate` as a command with every default (start-up "
        "included) on INPUTS [default: the README's demo clip and a --minutes recording].",
    ),
    minutes: float = typer.Option(
        2.0, "--minutes", help="--as-user: length of the built recording (0: none)."
    ),
    user_args: str = typer.Option(
        "",
        "--user-args",
        help='--as-user: options added to each command, e.g. "--mt apertium --voice tts".',
    ),
) -> None:
    """Run real recordings through the file pipeline; print per-stage mean time, RTF and peak RSS.

    With --asr-bleu N: translate N reference lines (input speech synthesised), transcribe the
    output speech with Whisper base and score BLEU/chrF against human translations.

    With --as-user: the wall time a user waits for `voxlate translate` (a fresh process per
    input, models and the LLM worker started inside the clock), with its real-time factor.
    """
    from voxlate.bench.translate import (
        default_inputs,
        run_asr_bleu_bench,
        run_translate_bench,
    )
    from voxlate.pipeline.voice.mode import parse_voice

    voice = str(parse_voice(voice))

    if as_user:
        import shlex

        from voxlate.bench.wall import run_wall_bench

        if minutes < 0:
            raise typer.BadParameter("must be 0 or more", param_hint="--minutes")
        typer.echo(
            run_wall_bench(
                list(inputs) if inputs else None, minutes, shlex.split(user_args), source,
                target, log=None if no_log else append,
            )
        )  # fmt: skip
        return
    if asr_bleu:
        typer.echo(
            run_asr_bleu_bench(
                source, target, asr_bleu, split, tts=tts, asr=asr,
                voice="tts" if voice == "preserve" else voice, oracle=oracle,
                log=None if no_log else append, mt=mt,
            )
        )  # fmt: skip
        return
    files = list(inputs) if inputs else default_inputs()
    table = run_translate_bench(
        files,
        source,
        target,
        voice=voice,
        enhance=enhance,
        enhance_mode=enhance_mode,
        repeat=repeat,
        log=None if no_log else append,
        asr=asr,
        tts=tts,
        mt=mt,
    )
    typer.echo(table)


@bench_app.command("mt")
def bench_mt(
    engines: list[str] = typer.Option(
        ["apertium", "llm"],
        "--engine",
        "-e",
        help="Translator spec to compare (repeatable): apertium, llm, llm:PATH.gguf, "
        "openai:URL#MODEL, ctranslate2:DIR.",
    ),
    pairs: list[str] = typer.Option(
        ["en-es", "es-en"], "--pair", "-p", help="Language pair SRC-TGT (repeatable)."
    ),
    split: str = typer.Option(
        "test", "--split", help="Fish Fillets split: test (report) or dev (choices)."
    ),
    limit: int | None = typer.Option(
        None, "--limit", help="At most this many sentences per pair, spread evenly."
    ),
    append: Path | None = typer.Option(None, "--append", "--log", help=APPEND_HELP),
    no_log: bool = typer.Option(False, "--no-log", hidden=True, help="Print only (the default)."),
) -> None:
    """Translate Fish Fillets dialog text (human en/es translations); print BLEU, chrF,
    seconds per sentence and peak RSS per engine."""
    from voxlate.bench.mt import run_mt_bench
    from voxlate.errors import InputError

    parsed = []
    for p in pairs:
        src, sep, tgt = p.lower().partition("-")
        if not sep or not src or not tgt:
            raise InputError(f"--pair must look like en-es, not '{p}'.")
        parsed.append((src, tgt))
    table = run_mt_bench(engines, parsed, split, limit, None if no_log else append)
    typer.echo(table)


@bench_app.command("tts")
def bench_tts(
    tts: list[str] = typer.Option(
        ["kokoro", "espeak-ng"], "--tts", help="Synthesizer spec; repeat to compare."
    ),
    language: str = typer.Option("es", "--language", "-l"),
    n: int = typer.Option(20, "-n", help="Sentences (Fish Fillets lines, test split)."),
    threads: int = typer.Option(
        0, "--threads", help="Threads for Kokoro (0: its default); 1 for the one-core figure."
    ),
    edges: bool = typer.Option(
        False,
        "--edges",
        help="Instead: Kokoro with and without its edge edit (the pads' frames cut before the "
        "decoder) on clauses and lines of es and fr: CPU per call, audio made and kept, ASR-BLEU.",
    ),
    append: Path | None = typer.Option(None, "--append", "--log", help=APPEND_HELP),
    no_log: bool = typer.Option(False, "--no-log", hidden=True, help="Print only (the default)."),
) -> None:
    """Synthesis real-time factor (wall and CPU time) and time to the first chunk."""
    from voxlate.bench.tts import run_edges_bench, run_tts_bench

    log = None if no_log else append
    if edges:
        typer.echo(run_edges_bench(("es", "fr"), n, threads or 1, log))
        return
    typer.echo(run_tts_bench(list(tts), language, n, threads, log))


@bench_app.command("diarize")
def bench_diarize(
    recordings: int = typer.Option(
        10, "-n", help="Recordings per speaker count (2 and 3 speakers), seeds 0..N-1."
    ),
    threshold: list[float] = typer.Option(
        [], "--threshold", help="Clustering distance to try; repeat to compare [default: ours]."
    ),
    timing: bool = typer.Option(
        True, "--timing/--no-timing", help="Also the dub timing statistics (English clips)."
    ),
    mt: str = typer.Option("apertium", "--mt", help="Translator of the timing run."),
    append: Path | None = typer.Option(None, "--append", "--log", help=APPEND_HELP),
) -> None:
    """Diarization error and cost on 2- and 3-speaker recordings of Czech actors, and the
    dub's timing statistics (share of lines above 1.15x, largest shift, drift)."""
    from voxlate.bench.diarize import run_diarize_bench, run_timing_bench
    from voxlate.pipeline.diarize import SAME_SPEAKER_DISTANCE

    out = run_diarize_bench(
        tuple(range(recordings)), tuple(threshold) or (SAME_SPEAKER_DISTANCE,), append
    )
    typer.echo(out)
    if timing:
        typer.echo(run_timing_bench(mt, append))


@bench_app.command("voice")
def bench_voice(
    adapter: list[str] = typer.Option(
        [],
        "--adapter",
        help="Voice adapter after Kokoro; repeat to compare [default: world, and converter "
        "when it is installed].",
    ),
    n: int = typer.Option(6, "-n", help="Spanish sentences per speaker."),
    speaker: list[str] = typer.Option(
        [], "--speaker", help="Held-out speaker; repeat [default: all of them]."
    ),
    examples: Path | None = typer.Option(None, "--examples", help="Folder for the output audio."),
    append: Path | None = typer.Option(None, "--append", "--log", help=APPEND_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
) -> None:
    """Voice adapters after Kokoro on held-out speakers: similarity and identification by two
    judges, ASR-BLEU cost, conversion and adaptation CPU time (docs/voice.md, Converter)."""
    from voxlate.bench.voice import run_voice_bench
    from voxlate.eval.voice_convert import TEST_SPEAKERS

    def progress(what: str) -> None:
        if not quiet:
            typer.echo(f"... {what}", err=True)

    typer.echo(
        run_voice_bench(
            list(adapter) or None, n, tuple(speaker) or TEST_SPEAKERS, append, examples, progress
        )
    )


@bench_app.command("render")
def bench_render(
    page: Path = typer.Argument(
        ..., help="The page to regenerate, e.g. docs/benchmarks.md (records: ../benchmarks/)."
    ),
    from_log: Path | None = typer.Option(
        None,
        "--from-log",
        help="First import the sections of an old append-only log (## title, *date · machine*) "
        "as records; sections in another format go to benchmarks-history.md beside PAGE.",
    ),
) -> None:
    """Regenerate a benchmarks page (latest run of each benchmark, with its machine, date and
    command) and its history plot from the records in benchmarks/*.jsonl."""
    from voxlate.audio import write_text_atomic
    from voxlate.bench.records import HISTORY, append_record, parse_log, regenerate, results_dir
    from voxlate.errors import InputError

    if from_log is not None:
        if not from_log.is_file():
            raise InputError(f"No log file at {from_log}.")
        records, leftover = parse_log(from_log.read_text(encoding="utf-8"))
        for r in records:
            append_record(r, results_dir(page))
        if leftover.strip():
            history = page.parent / HISTORY
            old = history.read_text(encoding="utf-8") if history.exists() else (
                "# voxlate benchmarks: history\n\nSections of the old append-only log that are "
                "not run records (the runs are in benchmarks/*.jsonl).\n"
            )  # fmt: skip
            write_text_atomic(history, old.rstrip("\n") + "\n\n" + leftover.strip() + "\n")
        typer.echo(f"imported {len(records)} records from {from_log}")
    typer.echo(f"wrote {regenerate(page)}")
