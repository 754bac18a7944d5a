"""`voxlate batch`: translate many recordings on Ray workers, resumably; `bench batch`."""

from __future__ import annotations

from pathlib import Path

import typer

from voxlate.cli.conventions import APPEND_HELP, MAX_AUDIO_MINUTES, MaxAudioMinutes, max_seconds
from voxlate.cli.engine_options import (
    AsrOption,
    EndSilenceOption,
    EnhanceModeOption,
    EnhanceOption,
    MaxUtteranceOption,
    MtOption,
    SourceOption,
    TargetOption,
    TtsOption,
    VadOption,
    VoiceOption,
)
from voxlate.cli.groups import app, bench_app


@app.command()
def batch(
    inputs: list[Path] = typer.Argument(
        ..., help="Recordings and/or folders (searched recursively for audio)."
    ),
    out_dir: Path = typer.Option(
        ...,
        "--output-dir",
        "-d",
        "-o",
        "--output",
        help="Folder for <stem>.<target>.wav/.json and manifest.jsonl.",
    ),
    source: SourceOption = "en",
    target: TargetOption = "es",
    workers: int = typer.Option(
        0, "--workers", "-w", help="Workers (Ray actors) [default: one per core of the cluster]."
    ),
    address: str | None = typer.Option(
        None,
        "--address",
        envvar="RAY_ADDRESS",
        help="HOST:PORT of a running Ray cluster, or auto: the last `ray start` here "
        "[default: start a local one for this run]. Token authentication: docs/batch.md.",
    ),
    srt: bool = typer.Option(False, "--srt", help="Also write <stem>.<target>.srt subtitles."),
    voice: VoiceOption = "preserve",
    vad: VadOption = "silero",
    enhance: EnhanceOption = "deepfilter",
    enhance_mode: EnhanceModeOption = "auto",
    asr: AsrOption = None,
    mt: MtOption = None,
    tts: TtsOption = None,
    end_silence: EndSilenceOption = 0.4,
    max_utterance: MaxUtteranceOption = 12.0,
    split_over: float = typer.Option(
        0.0,
        "--split-over",
        help="Translate recordings longer than this many seconds in parts, cut at pauses, "
        "on several workers, then joined (0: never; see docs/batch.md for when it pays).",
    ),
    max_audio_minutes: MaxAudioMinutes = MAX_AUDIO_MINUTES,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary."),
) -> None:
    """Translate many recordings, on several workers or a Ray cluster; resumable.

    Inputs already translated with the same bytes and options are skipped; a failing
    input is recorded in OUT_DIR/manifest.jsonl and the others go on. Exit code 0 when
    every input is ok or skipped, 1 when any failed, 2 for usage errors.
    """
    import dataclasses

    from voxlate.batch.discover import BatchUsageError
    from voxlate.batch.plan import BatchOptions
    from voxlate.batch.ray_pool import PoolConfig, require_ray
    from voxlate.batch.runner import run_batch
    from voxlate.batch.split import SEARCH_S
    from voxlate.pipeline.engines import command_specs
    from voxlate.pipeline.voice.mode import parse_voice

    if enhance_mode not in ("auto", "always", "never"):
        raise BatchUsageError("--enhance-mode must be auto, always or never.")
    if end_silence <= 0 or max_utterance <= 1:
        raise BatchUsageError("--end-silence must be > 0 and --max-utterance > 1 second.")
    if split_over < 0 or 0 < split_over < 2 * SEARCH_S:
        raise BatchUsageError(f"--split-over must be 0 (never) or at least {2 * SEARCH_S:g} s.")
    if workers < 0:
        raise BatchUsageError("--workers must be 1 or more (0: one per core).")
    if address is not None:
        require_ray(address)  # says what to install before any work
    mode = parse_voice(voice)
    if mode.reference is not None and Path(mode.reference).is_file():
        # a reference clip: workers elsewhere need its full path
        voice = str(dataclasses.replace(mode, reference=str(Path(mode.reference).absolute())))
    notes: list[str] = []
    specs = command_specs(
        live=False, voice=voice, vad=vad, enhance=enhance, asr=asr, mt=mt, tts=tts, notes=notes
    )
    for note in notes:
        typer.echo(f"note: {note}", err=True)
    options = BatchOptions(
        source.lower(),
        target.lower(),
        specs,
        enhance_mode,
        end_silence,
        max_utterance,
        srt,
        split_over,
        max_seconds(max_audio_minutes),
    )
    summary = run_batch(inputs, out_dir, options, PoolConfig(workers, address), progress=not quiet)
    if not quiet:
        rate = summary.audio_s / max(summary.wall_s, 1e-9)
        typer.echo(
            f"{summary.ok} ok, {summary.skipped} skipped, {summary.failed} failed in "
            f"{summary.wall_s:.1f} s ({summary.audio_s:.1f} s of audio, {rate:.2f}x real time) "
            f"-> {summary.manifest}",
            err=True,
        )
    if summary.exit_code:
        raise typer.Exit(summary.exit_code)


@bench_app.command("batch")
def bench_batch(
    inputs: list[Path] = typer.Argument(
        None, help="Recordings [default: the LibriVox clips of pocketsphinx-testdata]."
    ),
    workers: str = typer.Option("1,2", "--workers", "-w", help="Worker counts to compare."),
    copies: int = typer.Option(2, "--copies", help="Copies of each input (more audio)."),
    source: SourceOption = "en",
    target: TargetOption = "es",
    voice: VoiceOption = "preserve",
    vad: VadOption = "silero",
    enhance: EnhanceOption = "deepfilter",
    log: Path | None = typer.Option(None, "--append", "--log", help=APPEND_HELP),
    no_log: bool = typer.Option(False, "--no-log", hidden=True, help="Print only (the default)."),
) -> None:
    """Batch throughput (audio hours per wall hour) for N workers, memory per worker,
    the cost of skipping done work, and whether splitting a long file at pauses pays."""
    from voxlate.batch.discover import BatchUsageError
    from voxlate.batch.plan import BatchOptions
    from voxlate.bench.batch import run_batch_bench
    from voxlate.bench.translate import default_inputs
    from voxlate.pipeline.engines import EngineSpecs
    from voxlate.pipeline.voice.mode import parse_voice

    try:
        counts = [int(w) for w in workers.split(",") if w.strip()]
    except ValueError as e:
        raise BatchUsageError("--workers takes worker counts, e.g. 1,2.") from e
    if not counts or min(counts) < 1 or copies < 1:
        raise BatchUsageError("--workers needs counts of 1 or more, and --copies 1 or more.")
    files = list(inputs) if inputs else default_inputs()
    specs = EngineSpecs(vad=vad, enhance=enhance, voice=str(parse_voice(voice)))
    options = BatchOptions(source.lower(), target.lower(), specs)
    typer.echo(run_batch_bench(files, options, counts, copies, None if no_log else log))
