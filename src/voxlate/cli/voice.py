"""`voxlate voice similarity|embed` and `voxlate eval voice`: speaker embeddings from the shell."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from voxlate.cli.config_options import config_command
from voxlate.cli.conventions import APPEND_HELP, MAX_AUDIO_MINUTES, MaxAudioMinutes, max_seconds
from voxlate.cli.groups import app, eval_app
from voxlate.errors import InputError
from voxlate.outputs import check_outputs
from voxlate.tasks.options import ConverterTrainOptions

voice_app = typer.Typer(
    help="Speaker embeddings: compare two voices, embed a folder of clips; anonymize a recording.",
    no_args_is_help=True,
)
app.add_typer(voice_app, name="voice")

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3", ".m4a", ".webm", ".opus"}


@voice_app.command("similarity")
def similarity(
    a: Path = typer.Argument(..., help="First clip."),
    b: Path = typer.Argument(..., help="Second clip."),
    encoder: str = typer.Option("resemblyzer", "--encoder", help="Speaker encoder spec."),
    max_audio_minutes: MaxAudioMinutes = MAX_AUDIO_MINUTES,
) -> None:
    """Print the cosine similarity (-1..1) of the speakers of two clips."""
    import numpy as np

    from voxlate.audio import load_audio
    from voxlate.engines.voice import ENCODERS

    cap = max_seconds(max_audio_minutes)
    clips = [load_audio(a, max_seconds=cap), load_audio(b, max_seconds=cap)]  # before the model
    enc = ENCODERS.create(encoder)
    ea, eb = (enc.embed(c) for c in clips)
    typer.echo(f"{float(np.dot(ea, eb)):.4f}")


@voice_app.command("embed")
def embed(
    folder: Path = typer.Argument(..., help="Folder of audio clips (searched recursively)."),
    out: Path = typer.Option(
        ..., "--output", "-o", "--out", help="Output .npz: embeddings, paths."
    ),
    encoder: str = typer.Option("resemblyzer", "--encoder", help="Speaker encoder spec."),
    max_audio_minutes: MaxAudioMinutes = MAX_AUDIO_MINUTES,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Embed every audio clip under FOLDER; writes `embeddings` (n, dim) and `paths` (n,)."""
    check_outputs([out])  # before any work
    import io

    import numpy as np
    from tqdm import tqdm

    from voxlate.audio import atomic_path, load_audio
    from voxlate.engines.voice import ENCODERS

    if not folder.is_dir():
        raise InputError(f"Not a folder: {folder}")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise InputError(f"No audio files ({', '.join(sorted(AUDIO_SUFFIXES))}) under {folder}")
    enc = ENCODERS.create(encoder)
    embs = np.zeros((len(files), enc.dim), dtype=np.float32)
    for i, p in enumerate(tqdm(files, unit="clip", desc="embedding", disable=quiet)):
        embs[i] = enc.embed(load_audio(p, max_seconds=max_seconds(max_audio_minutes)))
    buf = io.BytesIO()
    np.savez(buf, embeddings=embs, paths=np.array([str(p) for p in files]))
    with atomic_path(out) as tmp:
        tmp.write_bytes(buf.getvalue())
    typer.echo(f"{len(files)} embeddings ({enc.dim}-d) -> {out}")


@voice_app.command("anonymize")
def anonymize(
    audio_in: Path = typer.Argument(
        ..., help="Recording to anonymize (any audio file); - reads stdin."
    ),
    out: str = typer.Option(
        ...,
        "--output",
        "-o",
        "--out",
        metavar="PATH",
        help="Output audio, same length and rate (format from the extension; - stdout).",
    ),
    max_audio_minutes: MaxAudioMinutes = MAX_AUDIO_MINUTES,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Say a recording again in pseudo-voices: same words and timing, no translation.

    Each speaker gets their own pseudo-speaker (chosen by SpeakerDiff), kept for the whole recording; pauses and non-speech stay as they are. `voxlate eval anonymize` reports this system as source re-voicing.
    """
    from tqdm import tqdm

    from voxlate.audio import load_audio
    from voxlate.audio_encode import audio_format
    from voxlate.cli.conventions import stdin_as_file
    from voxlate.engines.vad import DEFAULT as DEFAULT_VAD
    from voxlate.engines.vad import REGISTRY as VADS
    from voxlate.errors import NoSpeechError
    from voxlate.outputs import write_audio
    from voxlate.pipeline.segmenter import SegmenterConfig, segment_audio
    from voxlate.pipeline.voice.revoice import revoice
    from voxlate.pipeline.voice.stages import build_world_stage

    check_outputs([out], [audio_in])  # errors before any model loads
    audio_format(out)
    with stdin_as_file(audio_in) as path:
        audio = load_audio(path, max_seconds=max_seconds(max_audio_minutes))
    from voxlate.audio import SAMPLE_RATE

    spans = segment_audio(audio.resample(SAMPLE_RATE), VADS.create(DEFAULT_VAD), SegmenterConfig())
    if not spans:
        raise NoSpeechError(f"No speech found in {audio_in}.")
    stage = build_world_stage("anonymize", revoice_source=True)
    with tqdm(total=len(spans), unit="utt", desc="anonymizing", disable=quiet) as bar:
        result = revoice(audio, stage, spans, progress=bar.update)
    write_audio(out, result)
    typer.echo(f"{len(spans)} utterance(s) re-voiced ({stage.spec}) -> {out}")


@eval_app.command("voice")
def eval_voice(
    plot: Path | None = typer.Option(
        None, "--plot", help="PNG of the similarity distributions [default: no figure]."
    ),
    append: Path | None = typer.Option(None, "--append", "--log", help=APPEND_HELP),
    no_log: bool = typer.Option(False, "--no-log", hidden=True, help="Print only (the default)."),
    czech_speakers: int = typer.Option(3, "--czech-speakers", help="Czech voice actors to use."),
    no_wer: bool = typer.Option(False, "--no-wer", help="Skip the ASR word error rates."),
    search: bool = typer.Option(
        False, "--search", help="Refine each speaker's adapter parameters by similarity search."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Similarity source->output per voice mode next to same/different-speaker baselines,
    English WER with and without adaptation, anonymize consistency, adapter RTF."""
    import numpy as np
    from tqdm import tqdm

    from voxlate.audio import Audio
    from voxlate.bench.report import append_benchmark
    from voxlate.engines.voice import ENCODERS
    from voxlate.eval.voice import evaluate_voice, plot_similarities, summary_table

    enc = ENCODERS.create("resemblyzer")
    from piper import PiperVoice

    from voxlate.engines.tts.piper import embedded_voice_path

    joe = PiperVoice.load(str(embedded_voice_path()))

    def synthesize(text: str) -> Audio:
        chunks = [c.audio_float_array for c in joe.synthesize(text)]
        return Audio(np.concatenate(chunks), joe.config.sample_rate)

    transcribe = None
    if not no_wer:
        from voxlate.engines.asr import REGISTRY

        asr = REGISTRY.create("faster-whisper")

        def transcribe(audio: Audio) -> str:
            from voxlate.audio import SAMPLE_RATE

            return asr.transcribe(audio.resample(SAMPLE_RATE), "en").text

    bar = tqdm(desc="eval voice", unit="step", disable=quiet)
    res = evaluate_voice(
        enc,
        synthesize,
        transcribe,
        czech_speakers=czech_speakers,
        progress=lambda _m: bar.update(),
        search=search,
    )
    bar.close()
    table = summary_table(res)
    typer.echo(table)
    figure = ""
    if plot is not None:
        png = plot_similarities(res, plot)
        typer.echo(f"plot: {png}")
        figure = f"\n\n![]({png.name})"
    if append is not None and not no_log:
        title = "Voice: speaker similarity and intelligibility"
        title += " (adapter with similarity search)" if search else ""
        typer.echo(f"appended to {append_benchmark(title, table + figure, append)}")


@voice_app.command("train-converter")
@config_command(ConverterTrainOptions)
def train_converter(
    out: Annotated[Path, typer.Option("--output", "-o", help="Checkpoint to write.")] = Path(
        "models/converter/converter.pt"
    ),
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    config: ConverterTrainOptions = ConverterTrainOptions(),
) -> None:
    """Train the voice converter (`--voice MODE+converter`) across the training speakers of
    the fixed split (Fish Fillets actors, the installed game talkies' actors, Kokoro's packs;
    data/voice_corpus.py). Features are cached in --features, so a rerun starts training at
    once; Ctrl-C saves a checkpoint. --decoder diffusion trains the DiffVC-style decoder
    (average-voice prior + score network) instead of the regression one; --device cuda trains
    on the GPU."""
    from voxlate.tasks.converter.train import train_converter
    from voxlate.tasks.converter.train_diffusion import train_diffusion

    check_outputs([out])
    run = train_diffusion if config.decoder == "diffusion" else train_converter
    p = run(out, config, progress=not quiet, log=typer.echo)
    typer.echo(f"converter -> {p} ({p.stat().st_size / 2**20:.1f} MiB)")


@voice_app.command("export-converter")
def export_converter(
    model: Annotated[Path, typer.Argument(help="Converter checkpoint from train-converter.")],
    out: Annotated[Path, typer.Option("--output", "-o", help="Inference checkpoint to write.")],
) -> None:
    """Keep the converter's config and weights in float16 (half the bytes; a diffusion
    decoder's EMA weights). To replace the shipped one (a developer's step), give -o
    src/voxlate/checkpoints/converter.pt and refresh its manifest entry
    (scripts/update_manifest.py)."""
    from voxlate.checkpoint import export_inference, load_checkpoint
    from voxlate.engines.voice.converter_diffusion import DiffusionConverterConfig
    from voxlate.engines.voice.converter_model import ConverterConfig
    from voxlate.errors import InputError

    check_outputs([out], [model])
    config = load_checkpoint(model).config
    if not isinstance(config, ConverterConfig | DiffusionConverterConfig):
        raise InputError(f"{model} holds a {type(config).__name__}, not a converter.")
    p = export_inference(model, out, half=True)
    typer.echo(f"{p} ({p.stat().st_size / 2**10:.0f} KiB)")
