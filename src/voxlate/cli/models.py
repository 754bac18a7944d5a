"""`voxlate models`: the checkpoints shipped in the package (voxlate.shipped), as a table."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer

from voxlate.cli.groups import app


def _figures(figures: dict) -> str:
    return "; ".join(f"{k}: {v}" for k, v in figures.items())


@app.command("models")
def models(
    verify: Annotated[
        bool, typer.Option("--verify", help="Check every file's size and sha256 too.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the manifest as JSON.")] = False,
    commands: Annotated[
        bool, typer.Option("--commands", help="Also print the command that trained each.")
    ] = False,
) -> None:
    """List the shipped checkpoints: name, size, what uses them, measured figures."""
    from voxlate.shipped import checkpoints_dir, manifest, shipped_path
    from voxlate.tables import markdown_table

    entries = manifest()
    if verify:
        for name in entries:
            shipped_path(name)  # raises one sentence on a missing or altered file
    if as_json:
        typer.echo(json.dumps([asdict(e) for e in entries.values()], indent=1))
        return
    rows = [
        [e.name, f"{e.bytes / 1e6:.2f}", e.used_by, _figures(e.figures), e.date]
        for e in entries.values()
    ]
    typer.echo(markdown_table(["checkpoint", "MB", "used by", "figures", "date"], rows))
    total = sum(e.bytes for e in entries.values()) / 1e6
    typer.echo(f"\n{len(entries)} files, {total:.1f} MB, in {checkpoints_dir()}")
    if verify:
        typer.echo("all sha256 match the manifest")
    if commands:
        for e in entries.values():
            typer.echo(f"\n{e.name} (data: {e.data}; licence: {e.licence}):\n  {e.command}")
