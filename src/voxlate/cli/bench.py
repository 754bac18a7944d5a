"""`voxlate bench translate`: per-stage time, real-time factor and peak memory."""

from __future__ import annotations

from pathlib import Path

import typer

from voxlate.cli.groups import bench_app


@bench_app.command("translate")
def bench_translate(
    inputs: list[Path] = typer.Argument(
        None, help="Recordings [default: the LibriVox clips of pocketsphinx-testdata]."
    ),
    source: str = typer.Option("en", "--source", "-s"),
    target: str = typer.Option("es", "--target", "-t"),
    voice: str = typer.Option("preserve", "--voice", help="Voice mode, as for translate."),
    enhance: str = typer.Option("deepfilter", "--enhance"),
    enhance_mode: str = typer.Option("auto", "--enhance-mode", help="always | never | auto."),
    repeat: int = typer.Option(
        1, "--repeat", help="Passes over the inputs (the first warms caches)."
    ),
    mt: str = typer.Option("apertium", "--mt", help="Translator spec, as for translate."),
    log: Path = typer.Option(
        Path("docs/benchmarks.md"), "--log", help="Benchmark log to append to."
    ),
    no_log: bool = typer.Option(False, "--no-log", help="Print only; do not append to the log."),
) -> None:
    """Run real recordings through the file pipeline; print per-stage mean time, RTF and peak RSS."""
    from voxlate.eval.bench_translate import default_inputs, run_translate_bench

    files = list(inputs) if inputs else default_inputs()
    table = run_translate_bench(
        files,
        source,
        target,
        voice=voice,
        enhance=enhance,
        enhance_mode=enhance_mode,
        repeat=repeat,
        log=None if no_log else log,
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
    log: Path = typer.Option(
        Path("docs/benchmarks.md"), "--log", help="Benchmark log to append to."
    ),
    no_log: bool = typer.Option(False, "--no-log", help="Print only; do not append to the log."),
) -> None:
    """Translate Fish Fillets dialog text (human en/es translations); print BLEU, chrF,
    seconds per sentence and peak RSS per engine."""
    from voxlate.errors import InputError
    from voxlate.eval.bench_mt import run_mt_bench

    parsed = []
    for p in pairs:
        src, sep, tgt = p.lower().partition("-")
        if not sep or not src or not tgt:
            raise InputError(f"--pair must look like en-es, not '{p}'.")
        parsed.append((src, tgt))
    table = run_mt_bench(engines, parsed, split, limit, None if no_log else log)
    typer.echo(table)
