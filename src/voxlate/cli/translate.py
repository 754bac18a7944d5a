"""`voxlate translate`: a recording in, translated speech in the speaker's voice out."""

from __future__ import annotations

from pathlib import Path

import typer

from voxlate.cli.groups import app


@app.command()
def translate(
    input: Path = typer.Argument(
        ..., help="Recording to translate (wav, flac, ogg, mp3, m4a, webm; any rate)."
    ),
    source: str = typer.Option(
        "en", "--source", "-s", help="Spoken language (ISO 639-1, e.g. en, es)."
    ),
    target: str = typer.Option("es", "--target", "-t", help="Language to speak (ISO 639-1)."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Output wav [default: INPUT.TARGET.wav]."
    ),
    report: Path | None = typer.Option(None, "--report", help="Write the JSON report here."),
    srt: Path | None = typer.Option(None, "--srt", help="Write subtitles of the translation here."),
    voice: str = typer.Option(
        "preserve",
        "--voice",
        help="Voice of the output: preserve (the speaker's own), tts (stock voice), "
        "anonymize (a pseudo-speaker), or a reference clip REF.wav.",
    ),
    vad: str = typer.Option("silero", "--vad", help="Voice activity detector: silero | energy."),
    enhance: str = typer.Option(
        "deepfilter", "--enhance", help="Enhancer: deepfilter | spectral | none | diffusion:CKPT."
    ),
    enhance_mode: str = typer.Option(
        "auto",
        "--enhance-mode",
        help="always | never | auto (enhance only utterances under 15 dB above the noise floor).",
    ),
    asr: str | None = typer.Option(
        None,
        "--asr",
        help="Recognizer spec, e.g. faster-whisper:/models/whisper-small [default: tiny.en for en, the embedded Whisper base otherwise].",
    ),
    mt: str = typer.Option(
        "apertium", "--mt", help="Translator spec: apertium | ctranslate2:/models/nllb."
    ),
    tts: str | None = typer.Option(
        None,
        "--tts",
        help="Synthesizer spec: kokoro[:VOICE] | piper[:VOICE.onnx] | espeak-ng[:VOICE] | xtts:DIR [default: piper for en, kokoro for es fr it pt hi ja, espeak-ng otherwise].",
    ),
    end_silence: float = typer.Option(
        0.4, "--end-silence", help="Silence (s) that ends an utterance."
    ),
    max_utterance: float = typer.Option(
        12.0, "--max-utterance", help="Longest utterance (s); longer speech is cut at a pause."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary."),
) -> None:
    """Translate speech in a recording into another language, in the speaker's voice.

    Writes the translated speech as a wav aligned to the source timing, and with
    --report a JSON report of segments, texts, timings and engines.
    """
    from voxlate.audio import load_audio
    from voxlate.errors import InputError
    from voxlate.pipeline.engines import Engines, EngineSpecs
    from voxlate.pipeline.file import FileTranslator, default_output, translate_file
    from voxlate.pipeline.segmenter import SegmenterConfig

    if enhance_mode not in ("auto", "always", "never"):
        raise InputError("--enhance-mode must be auto, always or never.")
    if end_silence <= 0 or max_utterance <= 1:
        raise InputError("--end-silence must be > 0 and --max-utterance > 1 second.")
    load_audio(input)  # fail on a bad input before loading any model
    out = output or default_output(input, target)
    specs = EngineSpecs(vad=vad, enhance=enhance, asr=asr, mt=mt, tts=tts, voice=voice)
    engines = Engines.load(specs, source.lower(), target.lower())
    seg = SegmenterConfig(end_silence_s=end_silence, max_utterance_s=max_utterance)
    translator = FileTranslator(
        engines, segmenter=seg, progress=not quiet, enhance_mode=enhance_mode
    )
    rep = translate_file(translator, input, out, report, srt)
    if not quiet:
        t = rep["timings_s"]
        rtf = t["total"] / max(rep["duration_s"], 1e-9)
        typer.echo(
            f"{len(rep['segments'])} utterance(s), {rep['duration_s']:.1f} s in {t['total']:.2f} s "
            f"(real-time factor {rtf:.2f}) -> {out}",
            err=True,
        )
