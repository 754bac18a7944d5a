"""`voxlate bench translate`: per-stage time, real-time factor and peak memory."""

from __future__ import annotations

from pathlib import Path

import typer

from voxlate.cli.conventions import APPEND_HELP
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
    append: Path | None = typer.Option(None, "--append", "--log", help=APPEND_HELP),
    no_log: bool = typer.Option(False, "--no-log", hidden=True, help="Print only (the default)."),
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
        log=None if no_log else append,
    )
    typer.echo(table)
