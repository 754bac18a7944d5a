"""`voxlate doctor`: check every embedded default on this machine (pipeline/doctor.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from voxlate.cli.groups import app


@app.command("doctor")
def doctor(
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="Check only this engine (repeatable), e.g. --only 'mt llm'."),
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds one check may take before it is broken.")
    ] = 180.0,
    record: Annotated[
        bool,
        typer.Option(
            "--record/--no-record",
            help="Remember the findings, so that the defaults avoid a broken engine.",
        ),
    ] = True,
) -> None:
    """Check each embedded default with one real call in its own process.

    Prints a table of engine, status, seconds and the fix. Exit 0 when every default
    works, 1 when one is broken ("missing" optional parts, such as a microphone, are not
    errors). The findings are remembered for this machine: a translation then uses the
    fallback of a broken default (e.g. Apertium for the LLM) and says so.
    """
    from voxlate.errors import InputError
    from voxlate.health import save_findings
    from voxlate.pipeline.doctor import check_names, run_doctor
    from voxlate.tables import markdown_table

    names = check_names()
    unknown = [n for n in only or [] if n not in names]
    if unknown:
        raise InputError(f"Unknown check {unknown[0]!r}; the checks are: {', '.join(names)}.")
    findings = []
    for f in run_doctor(list(only) if only else None, timeout):
        typer.echo(f"{f.engine}: {f.status} ({f.seconds:.1f} s)", err=True)
        findings.append(f)
    rows = [[f.engine, f.status, f"{f.seconds:.1f}", f.detail, f.fix] for f in findings]
    typer.echo(markdown_table(["engine", "status", "seconds", "result", "fix"], rows))
    if record:
        save_findings(findings)
    broken = [f.engine for f in findings if f.status == "broken"]
    if broken:
        typer.echo(
            f"error: {len(broken)} engine(s) broken: {', '.join(broken)}; the fix column says "
            "what to do, and translations use a fallback meanwhile.",
            err=True,
        )
        raise typer.Exit(1)
