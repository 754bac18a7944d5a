"""`voxlate engines`: what engines and language pairs this machine has."""

from __future__ import annotations

from typing import Any

import typer

from voxlate.cli.groups import app


@app.command("engines")
def list_engines() -> None:
    """List the registered engines of each kind and the installed translation pairs."""
    from voxlate.engines import asr, enhance, mt, tts, vad, voice
    from voxlate.engines.mt.apertium import installed_modes

    registries: list[tuple[str, Any]] = [
        ("vad", vad.REGISTRY),
        ("enhance", enhance.REGISTRY),
        ("asr", asr.REGISTRY),
        ("mt", mt.REGISTRY),
        ("tts", tts.REGISTRY),
        ("speaker encoder", voice.ENCODERS),
        ("voice adapter", voice.ADAPTERS),
    ]
    for kind, reg in registries:
        typer.echo(f"{kind:16s} {', '.join(reg.names())}")
    pairs = sorted(installed_modes())
    typer.echo("apertium pairs   " + (", ".join(f"{s}->{t}" for s, t in pairs) or "none installed"))
