"""`voxlate transcribe`: speech to text, SRT, WebVTT, TSV and JSON, for one or many files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from voxlate.cli.conventions import MAX_AUDIO_MINUTES, MaxAudioMinutes
from voxlate.cli.groups import app
from voxlate.errors import InputError, NoSpeechError, UnsupportedLanguageError


def choose_recognizer_spec(language: str | None, asr: str | None) -> str:
    """The spec to use for `language`: `asr` when given, else the embedded model
    (`voxlate.engines.asr.default_for`; None: Whisper base, which detects the language).

    Raises UnsupportedLanguageError when no embedded model handles `language`.
    """
    from voxlate.engines.asr import default_for

    return asr or default_for(language)


FORMATS = ("txt", "srt", "vtt", "tsv", "json")  # --output-format choices, besides "all"


def output_paths(inputs: list[Path], formats: list[str], output_dir: Path) -> list[dict[str, Path]]:
    """Per input, {format: OUTPUT_DIR/STEM.FORMAT}; standard input is named 'stdin'."""
    return [
        {f: output_dir / f"{'stdin' if str(i) == '-' else i.stem}.{f}" for f in formats}
        for i in inputs
    ]


@app.command("transcribe")
def transcribe(
    audio: Annotated[
        list[Path],
        typer.Argument(help="Audio files (wav, flac, ogg, mp3, ...); - reads stdin."),
    ],
    language: Annotated[
        str | None,
        typer.Option(
            "--language", "-l", help="Spoken language, ISO 639-1 (ko, en, ...) [default: detect]."
        ),
    ] = None,
    asr: Annotated[
        str | None,
        typer.Option(
            help="Recognizer spec, e.g. faster-whisper:DIR or vosk:DIR [default: embedded for en/ko]."
        ),
    ] = None,
    out: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            metavar="PATH",
            help="Write the text here, one input only; DIR/ writes DIR/STEM.txt "
            "[default: print it].",
        ),
    ] = None,
    srt: Annotated[
        str | None,
        typer.Option(
            metavar="PATH", help="Write SRT subtitles here (one input; DIR/: DIR/STEM.srt)."
        ),
    ] = None,
    json_out: Annotated[
        str | None,
        typer.Option(
            "--json",
            metavar="PATH",
            help="Write text, segments and timings as JSON (one input; DIR/: DIR/STEM.json).",
        ),
    ] = None,
    output_format: Annotated[
        str | None,
        typer.Option(
            "--output-format",
            "-f",
            help="Write STEM.FORMAT per input into --output-dir: txt | srt | vtt | tsv | json | all "
            "(comma-separated for several) [default: all when --output-dir is given].",
        ),
    ] = None,
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "--output-dir",
            "-d",
            help="Folder for the --output-format files [default: . when --output-format is given].",
        ),
    ] = None,
    window: Annotated[
        float, typer.Option(help="Longest piece given to the recognizer, seconds.")
    ] = 28.0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    max_audio_minutes: MaxAudioMinutes = MAX_AUDIO_MINUTES,
) -> None:
    """Transcribe speech; long files are cut at pauses and shown with a progress bar.

    With no output option the text is printed. An input with no speech is reported
    and skipped; the exit code is then 3.
    """
    import time

    from voxlate.audio import SAMPLE_RATE, load_audio
    from voxlate.cli.conventions import max_seconds, stdin_as_file
    from voxlate.engines.asr import REGISTRY
    from voxlate.outputs import Output, check_outputs, output_path, write_outputs

    language = language.strip().lower() if language else None
    detect = language is None
    if sum(str(a) == "-" for a in audio) > 1:
        raise InputError("Standard input (-) can be read only once.")
    given = {"txt": out, "srt": srt, "json": json_out}
    if len(audio) > 1 and any(given.values()):
        raise InputError("-o, --srt and --json take one input; use --output-dir for several.")
    plans: list[dict[str, Path]] = [{} for _ in audio]  # per input: {format: path}
    if output_format is not None or output_dir is not None:
        names = (output_format or "all").lower().replace(" ", "").split(",")
        if not names or any(n not in (*FORMATS, "all") for n in names):
            raise InputError(
                f"--output-format takes txt, srt, vtt, tsv, json or all; got '{output_format}'."
            )
        formats = list(FORMATS) if "all" in names else list(dict.fromkeys(names))
        plans = output_paths(audio, formats, output_dir or Path("."))
    stem = "stdin" if str(audio[0]) == "-" else audio[0].stem  # FOLDER/ gets STEM.FORMAT
    for f, typed in given.items():  # -o/--srt/--json name their file themselves
        if (p := output_path(typed, f"{stem}.{f}")) is not None:
            plans[0][f] = p
    check_outputs([p for plan in plans for p in plan.values()], audio)
    for a in audio:
        if str(a) != "-" and not a.is_file():
            load_audio(a)  # raises the one-sentence error for a missing file or a folder
    spec = choose_recognizer_spec(language, asr)
    t0 = time.perf_counter()
    if not quiet:
        typer.echo(f"loading models\u2026 (asr {spec})", err=True)
    recognizer = REGISTRY.create(spec)
    if hasattr(recognizer, "timestamps"):
        recognizer.timestamps = True  # subtitles want timestamps inside each window
    if language is None and recognizer.languages is not None:
        language = sorted(recognizer.languages)[0]  # a one-language model: nothing to detect
        detect = False
    if recognizer.languages is not None and language not in recognizer.languages:
        known = ", ".join(sorted(recognizer.languages))
        raise UnsupportedLanguageError(
            f"The recognizer '{spec}' handles {known}, not '{language}'."
        )
    load_s = time.perf_counter() - t0
    no_speech = 0
    for path, plan in zip(audio, plans):
        with stdin_as_file(path) as real:
            sound = load_audio(real, SAMPLE_RATE, max_seconds=max_seconds(max_audio_minutes))
        try:
            files = _transcribe_one(
                recognizer, spec, sound, str(path), language, window, load_s, quiet
            )
            if detect:
                typer.echo(f"language: {files['language']} (detected) in {path}", err=True)
        except NoSpeechError as e:
            if len(audio) == 1:
                raise
            typer.echo(f"error: {e}", err=True)
            no_speech += 1
            continue
        if not plan:
            typer.echo(files["txt"].rstrip("\n"))
            continue
        write_outputs([Output(p, _text_writer(files[f])) for f, p in plan.items()])
    if no_speech:
        raise typer.Exit(NoSpeechError.exit_code)


def _transcribe_one(
    recognizer,
    spec: str,
    sound,
    name: str,
    language: str | None,
    window: float,
    load_s: float,
    quiet: bool,
) -> dict[str, str]:
    """Transcribe `sound`; return the text of each output format."""
    import time

    from tqdm import tqdm

    from voxlate.subtitles import to_srt, to_tsv, to_vtt
    from voxlate.transcription import WindowConfig, transcribe_long

    bar = tqdm(
        total=round(sound.duration, 1),
        unit="s",
        desc="transcribing",
        disable=quiet,
        leave=False,
        bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} s of audio "
        "[{elapsed}<{remaining}]",
    )

    def progress(done_s: float, total_s: float) -> None:
        bar.n = min(bar.total, round(done_s, 1))
        bar.refresh()

    t1 = time.perf_counter()
    try:
        result = transcribe_long(
            recognizer, sound, language, WindowConfig(max_window_s=window), progress
        )
    finally:
        bar.close()
    recog_s = time.perf_counter() - t1
    segments = list(result.segments)
    report = {
        "input": name,
        "language": result.language,
        "engine": getattr(recognizer, "name", spec),
        "duration_s": round(sound.duration, 3),
        "text": result.text,
        "segments": [{"start": round(a, 3), "end": round(b, 3), "text": t} for a, b, t in segments],
        "timings_s": {"load": round(load_s, 3), "recognize": round(recog_s, 3)},
    }
    return {
        "language": result.language,
        "txt": result.text + "\n",
        "srt": to_srt(segments),
        "vtt": to_vtt(segments),
        "tsv": to_tsv(segments),
        "json": json.dumps(report, ensure_ascii=False, indent=2) + "\n",
    }


def _text_writer(text: str) -> Callable[[Path], object]:
    """A writer for `Output`: puts `text` into the path it is given (UTF-8)."""
    return lambda path: path.write_text(text, encoding="utf-8")
