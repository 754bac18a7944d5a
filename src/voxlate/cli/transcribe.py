"""`voxlate transcribe`: speech to text, SRT and JSON with the embedded or a given recognizer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from voxlate.cli.groups import app
from voxlate.errors import UnsupportedLanguageError


def choose_recognizer_spec(language: str | None, asr: str | None) -> str:
    """The spec to use for `language`: `asr` when given, else the embedded model
    (`voxlate.engines.asr.default_for`; None: Whisper base, which detects the language).

    Raises UnsupportedLanguageError when no embedded model handles `language`.
    """
    from voxlate.engines.asr import default_for

    return asr or default_for(language)


@app.command("transcribe")
def transcribe(
    audio: Annotated[Path, typer.Argument(help="Audio file (wav, flac, ogg, mp3, ...).")],
    language: Annotated[
        str | None,
        typer.Option(
            "--language", "-l", help="Spoken language, ISO 639-1 (ko, en, ...) [default: detect]."
        ),
    ] = None,
    asr: Annotated[
        str | None, typer.Option(help="Recognizer spec, e.g. faster-whisper:DIR or vosk:DIR.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the text here (default: print it).")
    ] = None,
    srt: Annotated[Path | None, typer.Option(help="Write SRT subtitles here.")] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write text, segments and timings as JSON.")
    ] = None,
    window: Annotated[
        float, typer.Option(help="Longest piece given to the recognizer, seconds.")
    ] = 28.0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Transcribe speech; long files are cut at pauses and shown with a progress bar."""
    import time

    from tqdm import tqdm

    from voxlate.audio import SAMPLE_RATE, load_audio, write_text_atomic
    from voxlate.engines.asr import REGISTRY
    from voxlate.subtitles import to_srt
    from voxlate.transcription import WindowConfig, transcribe_long

    language = language.strip().lower() if language else None
    detect = language is None
    spec = choose_recognizer_spec(language, asr)
    sound = load_audio(audio, SAMPLE_RATE)
    t0 = time.perf_counter()
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
    bar = tqdm(
        total=max(1, int(round(sound.duration))),
        unit="s",
        desc="transcribing",
        disable=quiet,
        leave=False,
    )
    cfg = WindowConfig(max_window_s=window)

    def progress(done_s: float, total_s: float) -> None:
        bar.n = min(bar.total, int(round(done_s)))
        bar.refresh()

    t1 = time.perf_counter()
    result = transcribe_long(recognizer, sound, language, cfg, progress)
    bar.close()
    recog_s = time.perf_counter() - t1
    if out is not None:
        write_text_atomic(out, result.text + "\n")
    else:
        typer.echo(result.text)
    if detect:
        typer.echo(f"language: {result.language} (detected)", err=True)
    if srt is not None:
        write_text_atomic(srt, to_srt(list(result.segments)))
    if json_out is not None:
        report = {
            "input": str(audio),
            "language": result.language,
            "engine": getattr(recognizer, "name", spec),
            "duration_s": round(sound.duration, 3),
            "text": result.text,
            "segments": [
                {"start": round(a, 3), "end": round(b, 3), "text": t} for a, b, t in result.segments
            ],
            "timings_s": {"load": round(load_s, 3), "recognize": round(recog_s, 3)},
        }
        write_text_atomic(json_out, json.dumps(report, ensure_ascii=False, indent=2) + "\n")
