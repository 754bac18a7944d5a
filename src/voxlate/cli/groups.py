"""The root typer app and the groups that several modules add commands to."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="voxlate",
    help="Offline speech-to-speech translation in the speaker's own voice, "
    "plus diffusion and speech-recognition toolkits for speech.",
    epilog="Exit codes: 0 ok, 1 runtime failure, 2 usage error, 3 no speech found, "
    "130 interrupted. Run 'voxlate COMMAND -h' for a command's options and their defaults.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

bench_app = typer.Typer(
    help="Benchmarks: print a table; --append FILE also appends it, with machine and date.",
    no_args_is_help=True,
)
eval_app = typer.Typer(help="Quality evaluations on real recordings.", no_args_is_help=True)


def _print_version(value: bool) -> None:
    if value:
        from voxlate import __version__

        typer.echo(f"voxlate {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="Print the version and exit.",
    ),
) -> None:
    """The root: `--version` (the help text is the app's)."""


app.add_typer(bench_app, name="bench")
app.add_typer(eval_app, name="eval")
