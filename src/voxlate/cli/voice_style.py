"""`voxlate voice train-tuner` and `voxlate eval voice-style`: Kokoro style fitting (issue 13)."""

from __future__ import annotations

from pathlib import Path

import typer

from voxlate.cli.conventions import APPEND_HELP, FIGURE_HELP
from voxlate.cli.groups import eval_app
from voxlate.cli.voice import voice_app
from voxlate.outputs import check_outputs


def _setup(wer_asr: bool = True):  # type: ignore[no-untyped-def]
    """Kokoro on one thread, Resemblyzer, Whisper tiny.en, and a fitter factory."""
    from voxlate.engines.tts.kokoro import KokoroSynthesizer
    from voxlate.engines.voice import ENCODERS
    from voxlate.engines.voice.style_fit import StyleFitter
    from voxlate.engines.voice.style_probe import ProbeSpeaker
    from voxlate.engines.voice.style_space import default_space
    from voxlate.engines.voice.style_tuner import default_tuner
    from voxlate.eval.voice_style import Setup
    from voxlate.pipeline.voice.styled import english_asr

    enc = ENCODERS.create("resemblyzer")
    synth = KokoroSynthesizer(threads=1)
    transcribe = english_asr() if wer_asr else None
    prober = ProbeSpeaker(synth, enc, transcribe)
    space, tuner = default_space(), default_tuner()
    return Setup(enc, synth, transcribe, lambda cfg: StyleFitter(space, tuner, prober, cfg))


@voice_app.command("train-tuner")
def train_tuner_cmd(
    pairs: int = typer.Option(300, "--pairs", help="Styles to sample and hear (about 2-5 s each)."),
    pairs_file: Path = typer.Option(
        Path("style_pairs.npz"), "--pairs-file", help="Where the pairs are kept (resumable input)."
    ),
    reuse: bool = typer.Option(False, "--reuse", help="Train on an existing --pairs-file."),
    out: Path | None = typer.Option(
        None, "--output", "-o", "--out", help="Tuner file to write [default: the packaged one]."
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed of the style draws."),
) -> None:
    """Regenerate the style tuner: sample styles, let Kokoro speak a probe with each,
    embed it, train the MLP embedding -> style coordinates."""
    check_outputs([out])  # before any work
    import numpy as np
    from tqdm import tqdm

    from voxlate.engines.tts.kokoro import KokoroSynthesizer, voices
    from voxlate.engines.voice import ENCODERS
    from voxlate.engines.voice.style_probe import ProbeSpeaker
    from voxlate.engines.voice.style_space import default_space
    from voxlate.engines.voice.style_tuner import TUNER_FILE, Pairs
    from voxlate.tasks.voice_style.tuner import collect_pairs, pack_embeddings, train_tuner

    space = default_space()
    prober = ProbeSpeaker(KokoroSynthesizer(threads=1), ENCODERS.create("resemblyzer"))
    if reuse:
        with np.load(pairs_file) as d:
            data = Pairs(d["z"], d["embeddings"])
    else:
        bar = tqdm(total=pairs, desc="pairs", unit="style")
        data = collect_pairs(
            space, prober, pairs, pairs_file, seed, progress=lambda _i: bar.update()
        )
        bar.close()
    tuner = train_tuner(data, pack_embeddings=pack_embeddings(prober, tuple(voices())))
    path = out or TUNER_FILE
    tuner.save(path)
    typer.echo(f"tuner trained on {len(data.z)} pairs: {path}")


@eval_app.command("voice-style")
def eval_voice_style(
    split: str = typer.Option(
        "held-out", "--split", help="validation (compare fitting methods) or held-out (report)."
    ),
    plot: Path | None = typer.Option(None, "--plot", help=FIGURE_HELP),
    examples: Path = typer.Option(None, "--examples", help="Folder for the output audio."),
    log: Path | None = typer.Option(None, "--append", "--log", help=APPEND_HELP),
    no_log: bool = typer.Option(False, "--no-log", hidden=True, help="Print only (the default)."),
    no_world: bool = typer.Option(False, "--no-world", help="Skip the WORLD post-step rows."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
) -> None:
    """Kokoro style voice modes on real speakers, judged by Resemblyzer and by an
    MFCC-statistics classifier that no fit optimizes; see docs/voice.md."""
    from voxlate.audio import save_audio
    from voxlate.bench.report import append_benchmark
    from voxlate.engines.voice.style_fit import FitConfig
    from voxlate.errors import InputError
    from voxlate.eval.voice_style import held_out, plot_similarity, table, validate

    def progress(what: str) -> None:
        if not quiet:
            typer.echo(f"... {what}", err=True)

    if split not in ("validation", "held-out"):
        raise InputError(f"--split is validation or held-out, not '{split}'.")
    setup = _setup()
    if split == "validation":
        variants = {
            "nearest pack": ("pack", FitConfig()),
            "lookup (k=3)": ("lookup", FitConfig()),
            "tuner": ("tuner", FitConfig()),
            "search, 5 probes": ("search", FitConfig()),
            "tuner + search, 5 probes": ("tuner+search", FitConfig()),
            "tuner + search, no WER penalty": ("tuner+search", FitConfig(wer_penalty=0.0)),
        }
        rows = validate(setup, variants, progress)
        title = "Voice style fitting: methods on the validation speakers"
    else:
        got: dict = {}
        rows = held_out(setup, FitConfig(), progress, world=not no_world, examples=got)
        title = "Voice by Kokoro style: held-out speakers, two judges"
        if examples is not None:
            for cond, per in got.items():
                for spk, outs in per.items():
                    for i, a in enumerate(outs):
                        slug = cond.replace(" ", "_").replace("+", "plus")
                        save_audio(examples / f"{spk}-{i}-{slug}.wav", a)
    text = table(rows)
    typer.echo(text)
    if split == "held-out" and plot is not None:
        typer.echo(f"plot: {plot_similarity(rows, plot)}")
    if log is not None and not no_log:
        append_benchmark(title, text, log)
