"""`voxlate translate`: a recording in, translated speech in the speaker's voice out."""

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
from voxlate.cli.groups import app

if TYPE_CHECKING:
    from voxlate.pipeline.engines import Engines, EngineSpecs


@app.command()
def translate(
    input: Path = typer.Argument(
        ...,
        help="Recording or video to translate (wav, flac, ogg, mp3, m4a, mp4, mov, mkv, webm; "
        "any rate); - reads stdin.",
    ),
    source: SourceOption = "en",
    target: TargetOption = "es",
    output: str | None = typer.Option(
        None,
        "--output",
        "-o",
        metavar="PATH",
        help="Output audio or video, or DIR/ for DIR/INPUT.TARGET.wav; the extension picks the "
        "format: audio (wav, flac, ogg, opus, mp3, m4a) or a dubbed video (mp4, mkv, webm: the "
        "input's picture copied, the dub as its audio); - writes wav to stdout "
        "[default: INPUT.TARGET.wav; stdout when INPUT is -].",
    ),
    report: str | None = typer.Option(
        None,
        "--report",
        metavar="PATH",
        help="Write the JSON report here (DIR/: DIR/INPUT.TARGET.json).",
    ),
    srt: str | None = typer.Option(
        None,
        "--srt",
        metavar="PATH",
        help="Write SRT subtitles here, timed to the dub (DIR/: DIR/INPUT.TARGET.srt).",
    ),
    subtitles_file: SubtitlesFileOption = None,
    subtitles: SubtitlesOption = None,
    subtitle_text: SubtitleTextOption = "target",
    background: BackgroundOption = "keep",
    keep_original_audio: KeepOriginalAudioOption = False,
    voice: VoiceOption = "preserve",
    vad: VadOption = "silero",
    enhance: EnhanceOption = "deepfilter",
    enhance_mode: EnhanceModeOption = "auto",
    asr: AsrOption = None,
    mt: MtOption = None,
    tts: TtsOption = None,
    end_silence: EndSilenceOption = 0.4,
    max_utterance: MaxUtteranceOption = 12.0,
    speakers: int | None = typer.Option(
        None,
        "--speakers",
        metavar="N",
        help="How many speakers the recording has (1-20), a hint for telling them apart "
        "[default: found from their voices].",
    ),
    max_audio_minutes: MaxAudioMinutes = MAX_AUDIO_MINUTES,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary."),
) -> None:
    """Translate speech in a recording into another language, in the speaker's voice.

    Writes the translated speech aligned to the source timing, with the source's
    background under it, as audio or (-o x.mp4|mkv|webm from a video) as a dubbed video
    with the picture copied and subtitles embedded; with --report a JSON report of
    segments, texts, timings and engines.
    """
    from voxlate.audio import load_audio
    from voxlate.audio_encode import audio_format
    from voxlate.cli.conventions import max_seconds, stdin_as_file
    from voxlate.errors import InputError
    from voxlate.outputs import STDIO, check_outputs, is_stdio, output_path
    from voxlate.pipeline.clip_cache import ClipCache
    from voxlate.pipeline.diarize import check_speakers
    from voxlate.pipeline.dub_output import check_dub_output
    from voxlate.pipeline.engines import command_specs
    from voxlate.pipeline.file import FileTranslator, default_output, translate_file
    from voxlate.pipeline.segmenter import SegmenterConfig
    from voxlate.pipeline.stream_stages import check_enhance_mode
    from voxlate.video import video_format

    if enhance_mode not in ("auto", "always", "never"):
        raise InputError("--enhance-mode must be auto, always or never.")
    if end_silence <= 0 or max_utterance <= 1:
        raise InputError("--end-silence must be > 0 and --max-utterance > 1 second.")
    check_speakers(speakers)
    stem = f"{'stdin' if is_stdio(input) else input.stem}.{target}"  # names in a FOLDER/
    out = output_path(output, f"{stem}.wav") or (
        Path(STDIO) if is_stdio(input) else default_output(input, target)
    )
    report_to, srt_to = output_path(report, f"{stem}.json"), output_path(srt, f"{stem}.srt")
    subs_to = output_path(subtitles_file)
    options = dub_options(out, background, subtitles, subtitle_text, keep_original_audio)
    # Every check a user can fail comes before the models load.
    check_outputs([out, report_to, srt_to, subs_to], [input])
    if video_format(out) is None:
        audio_format(out)
    notes: list[str] = []

    with stdin_as_file(input) as path:
        cap = max_seconds(max_audio_minutes)
        # Fail on a bad input (no audio, no picture for a video output) before any model loads.
        check_dub_output(path, out, options, str(input), subs_to)
        load_audio(path, max_seconds=cap)
        if options.subtitles == "burn" and not quiet:
            typer.echo("note: --subtitles burn re-encodes the picture (slower).", err=True)
        specs = command_specs(
            live=False, voice=voice, vad=vad, enhance=enhance, asr=asr, mt=mt, tts=tts, notes=notes
        )
        if background != "drop" and specs.enhance == "none":
            notes.append("--enhance none separates nothing, so no background is kept.")
        for note in notes:
            typer.echo(f"note: {note}", err=True)
        engines = load_engines(specs, source.lower(), target.lower(), quiet)
        seg = SegmenterConfig(end_silence_s=end_silence, max_utterance_s=max_utterance)
        translator = FileTranslator(
            engines,
            segmenter=seg,
            progress=not quiet,
            enhance_mode=check_enhance_mode(enhance_mode),
            keep_background=background != "drop" and specs.enhance != "none",
            speakers=speakers,
            # each segment's clip is kept for `voxlate render`, which reads the report
            cache=ClipCache() if report_to is not None else None,
        )
        rep = translate_file(
            translator,
            path,
            out,
            report_to,
            srt_to,
            input_name=str(input),
            max_seconds=cap,
            subtitles_path=subs_to,
            options=options,
        )
    if not quiet:
        t = rep["timings_s"]
        rtf = t["total"] / max(rep["duration_s"], 1e-9)
        typer.echo(
            f"{len(rep['segments'])} utterance(s), {rep['duration_s']:.1f} s in {t['total']:.2f} s "
            f"(real-time factor {rtf:.2f}) -> {'stdout' if is_stdio(out) else out}",
            err=True,
        )


def load_engines(specs: EngineSpecs, source: str, target: str, quiet: bool = False) -> Engines:
    """Load the engines of `specs`, saying on stderr what loads and how long it took."""
    import time

    from voxlate.pipeline.engines import Engines, default_asr, default_tts

    if not quiet:
        what = (
            f"vad {specs.vad}, enhance {specs.enhance}, asr {specs.asr or default_asr(source)}, "
            f"mt {specs.mt if source != target else 'none'}, "
            f"tts {specs.tts or default_tts(target, specs.live)}, voice {specs.voice}"
        )
        typer.echo(f"loading models\u2026 ({what})", err=True)
    t0 = time.perf_counter()
    engines = Engines.load(specs, source, target)
    if not quiet:
        typer.echo(f"models loaded in {time.perf_counter() - t0:.1f} s", err=True)
    return engines
