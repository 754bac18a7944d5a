"""`voxlate render`: re-create a translation's output from its (edited) JSON report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from voxlate.cli.conventions import MAX_AUDIO_MINUTES, MaxAudioMinutes
from voxlate.cli.dub_options import (
    BackgroundOption,
    KeepOriginalAudioOption,
    SubtitlesFileOption,
    SubtitlesOption,
    SubtitleTextOption,
    dub_options,
)
from voxlate.cli.engine_options import EnhanceOption
from voxlate.cli.groups import app

if TYPE_CHECKING:
    from voxlate.pipeline.file import FileResult


@app.command()
def render(
    report: Path = typer.Argument(
        ..., help="The JSON report of 'voxlate translate --report', edited or not."
    ),
    output: Path = typer.Option(
        ...,
        "--output",
        "-o",
        metavar="PATH",
        help="Output audio or, from a video input, video; the extension picks the format "
        "(wav, flac, ogg, opus, mp3, m4a; mp4, mkv, webm).",
    ),
    srt_edits: Path | None = typer.Option(
        None,
        "--srt-edits",
        metavar="FILE",
        help="An edited translated SRT (of 'translate --srt'): cue N replaces the N-th "
        "segment's translation.",
    ),
    input: Path | None = typer.Option(
        None,
        "--input",
        metavar="PATH",
        help="The recording that was translated [default: the report's 'input'].",
    ),
    new_report: Path | None = typer.Option(
        None, "--report", metavar="PATH", help="Write the updated JSON report here."
    ),
    srt: Path | None = typer.Option(
        None, "--srt", metavar="PATH", help="Write subtitles of the new translation here."
    ),
    tts: str | None = typer.Option(
        None,
        "--tts",
        metavar="SPEC",
        help="Synthesizer to use [default: the report's; one naming a path must be given here].",
    ),
    subtitles_file: SubtitlesFileOption = None,
    subtitles: SubtitlesOption = None,
    subtitle_text: SubtitleTextOption = "target",
    background: BackgroundOption = None,
    keep_original_audio: KeepOriginalAudioOption = False,
    enhance: EnhanceOption = "deepfilter",
    max_audio_minutes: MaxAudioMinutes = MAX_AUDIO_MINUTES,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No summary."),
) -> None:
    """Re-create a translation's output from its JSON report after editing a segment's
    translation, speaker or voice: only the changed segments are synthesised again.

    A bad edit is one sentence naming the segment (exit 2), and nothing is written.
    The background is estimated again from the recording (--background, default: the
    report's mode); the output is written as `translate` writes it (audio or video).
    """
    from voxlate.cli.conventions import max_seconds
    from voxlate.errors import InputError
    from voxlate.outputs import check_outputs, is_stdio, output_path
    from voxlate.pipeline.clip_cache import ClipCache
    from voxlate.pipeline.dub_output import check_dub_output, write_result
    from voxlate.pipeline.rerender import (
        apply_srt_edits,
        plan_from_report,
        read_report,
        render_plan,
    )

    old = read_report(report)
    plan = plan_from_report(old, report)
    mode = background or (old.get("background") if isinstance(old.get("background"), str) else None)
    options = dub_options(output, mode, subtitles, subtitle_text, keep_original_audio)
    subs_to = output_path(subtitles_file)
    if srt_edits is not None:
        apply_srt_edits(plan, srt_edits)
    source = input if input is not None else Path(plan.input)
    if input is None and not source.is_absolute() and not source.exists():
        beside = report.parent / source  # the report was moved with its recording
        source = beside if beside.exists() else source
    if is_stdio(source):
        raise InputError("The report's input was standard input; name the recording with --input.")
    check_outputs([output, new_report, srt, subs_to], [source, report])
    media = check_dub_output(source, output, options, str(source), subs_to)
    cache = ClipCache()
    result, rep = render_plan(
        plan, source, cache, tts=tts, max_seconds=max_seconds(max_audio_minutes)
    )
    if options.background != "drop":
        result = with_estimated_background(result, source, enhance, max_audio_minutes)
    rep["output"] = str(output)
    write_result(
        result, rep, source, output, new_report, srt, subs_to, options=options, media=media
    )
    if not quiet:
        typer.echo(
            f"{len(plan.segments)} segment(s), {result.synthesized} synthesised again, "
            f"{len(plan.segments) - result.synthesized} from the cache -> {output}",
            err=True,
        )


def with_estimated_background(
    result: FileResult, source: Path, enhance: str, max_audio_minutes: float
) -> FileResult:
    """`result` with the background of `source` estimated by the enhancer `enhance`
    (none: no background)."""
    from dataclasses import replace

    from voxlate.audio import load_audio
    from voxlate.cli.conventions import max_seconds
    from voxlate.engines.enhance import REGISTRY
    from voxlate.pipeline.background import BACKGROUND_RATE, estimate_background

    if enhance == "none":
        return result
    audio = load_audio(source, BACKGROUND_RATE, max_seconds=max_seconds(max_audio_minutes))
    return replace(result, background=estimate_background(audio, REGISTRY.create(enhance)))
