"""`voxlate digits ...` (corpus, training, evaluation) and `voxlate generate digits`.

Spoken-digit generation with a class-conditional diffusion model over log-mels
(see voxlate.tasks.digits and docs/generation.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from voxlate.cli.config_options import config_command
from voxlate.cli.conventions import APPEND_HELP
from voxlate.cli.groups import app
from voxlate.errors import InputError
from voxlate.outputs import check_outputs
from voxlate.tasks.options import DigitsTrainOptions

digits_app = typer.Typer(
    help="Spoken-digit generation: build a corpus, train, evaluate.", no_args_is_help=True
)
generate_app = typer.Typer(
    help="Generate audio with a trained diffusion model.", no_args_is_help=True
)
app.add_typer(digits_app, name="digits")
app.add_typer(generate_app, name="generate")

DEFAULT_MODEL = Path("models/digits/diffusion.pt")  # where `digits train` writes
DEFAULT_CLASSIFIER = Path("models/digits/classifier.pt")  # where `train-classifier` writes
DEFAULT_CORPUS = Path("data/digits-synth")
SHIPPED_HELP = "[default: the shipped {}; see `voxlate models`]"


def _threads(n: int) -> None:
    import torch

    if n > 0:
        torch.set_num_threads(n)


@digits_app.command("build-corpus")
def build_corpus(
    out: Annotated[Path, typer.Argument(help="Folder to write (FSDD layout).")] = DEFAULT_CORPUS,
    espeak_voices: Annotated[int, typer.Option(help="eSpeak NG speakers.")] = 60,
    piper_voices: Annotated[int, typer.Option(help="Piper joe variants.")] = 10,
    repetitions: Annotated[int, typer.Option(help="Takes of each digit per speaker.")] = 3,
    sample_rate: Annotated[int, typer.Option(help="Hz of the written clips.")] = 8000,
    seed: Annotated[int, typer.Option(help="Seed of the voice settings.")] = 0,
) -> None:
    """Synthesize a labelled-synthetic spoken-digit corpus offline (Piper + eSpeak NG)."""
    from voxlate.data.digits import build_synthetic_corpus, synthetic_voices

    if espeak_voices + piper_voices < 1:
        raise InputError("Ask for at least one voice (--espeak-voices or --piper-voices).")
    voices = synthetic_voices(espeak_voices, piper_voices, seed)
    clips = build_synthetic_corpus(out, voices, repetitions=repetitions, sample_rate=sample_rate)
    typer.echo(f"{len(clips)} clips from {len(voices)} synthetic voices -> {out}")


@digits_app.command("train")
@config_command(DigitsTrainOptions)
def train(
    corpus: Annotated[Path, typer.Argument(help="Digit corpus (AudioMNIST, FSDD or SC09).")] = (
        DEFAULT_CORPUS
    ),
    model: Annotated[
        Path, typer.Option("--output", "-o", "--model", help="Checkpoint to write.")
    ] = (DEFAULT_MODEL),
    config: DigitsTrainOptions = DigitsTrainOptions(),
    resume: Annotated[Path | None, typer.Option(help="Checkpoint to continue.")] = None,
) -> None:
    """Train the class-conditional U-Net (condition dropout) on log-mels of the corpus."""
    check_outputs([model])  # before any work
    from voxlate.tasks.digits.dataset import load_split
    from voxlate.tasks.digits.model import train_digit_diffusion

    _threads(config.threads)
    cfg = config.model_config()
    tr, _ = load_split(corpus, cfg.mel, config.layout)
    out = train_digit_diffusion(tr, model, cfg, config.train_config(), resume)
    typer.echo(f"model -> {out}")


@digits_app.command("train-classifier")
def train_classifier_cmd(
    corpus: Annotated[Path, typer.Argument(help="Digit corpus.")] = DEFAULT_CORPUS,
    out: Annotated[Path, typer.Option("--output", "-o", "--model", help="Checkpoint to write.")] = (
        DEFAULT_CLASSIFIER
    ),
    layout: Annotated[str, typer.Option(help="auto, audiomnist, fsdd or sc09.")] = "auto",
    steps: Annotated[int, typer.Option(help="Optimizer steps.")] = 1200,
    minutes: Annotated[float, typer.Option(help="Stop after this wall time (0: none).")] = 10.0,
    threads: Annotated[int, typer.Option(help="CPU threads (0: torch default).")] = 1,
) -> None:
    """Train the evaluation classifier (small CNN) and print its held-out-speaker accuracy."""
    check_outputs([out])  # before any work
    from voxlate.tasks.digits.classifier import classify, load_classifier, train_classifier
    from voxlate.tasks.digits.dataset import load_split
    from voxlate.tasks.digits.features import MelConfig
    from voxlate.tasks.digits.metrics import accuracy

    _threads(threads)
    tr, te = load_split(corpus, MelConfig(), layout)
    train_classifier(tr, out, steps=steps, minutes=minutes)
    if len(te):
        probs, _ = classify(load_classifier(out), te.images)
        typer.echo(f"held-out speakers: accuracy {accuracy(probs, te.digits.numpy()):.3f}")
    typer.echo(f"classifier -> {out}")


@digits_app.command("export")
def export(
    checkpoint: Annotated[Path, typer.Argument(help="Training checkpoint (.pt).")] = DEFAULT_MODEL,
    out: Annotated[
        Path, typer.Option("--output", "-o", "--out", help="Inference checkpoint to write.")
    ] = Path("models/digits/diffusion.export.pt"),
    half: Annotated[bool, typer.Option(help="Store the weights as float16 (half size).")] = False,
) -> None:
    """Keep only what sampling needs (EMA weights, config); how the shipped model was made."""
    check_outputs([out], [checkpoint])  # before any work
    from voxlate.checkpoint import export_inference

    p = export_inference(checkpoint, out, half=half)
    typer.echo(f"{p} ({p.stat().st_size / 1e6:.2f} MB)")


@digits_app.command("eval")
def evaluate(
    corpus: Annotated[Path, typer.Argument(help="Digit corpus (its held-out speakers).")] = (
        DEFAULT_CORPUS
    ),
    model: Annotated[
        Path | None,
        typer.Option(
            "--model",
            help="Diffusion checkpoint " + SHIPPED_HELP.format("model, digits-diffusion.pt"),
        ),
    ] = None,
    classifier: Annotated[
        Path | None,
        typer.Option(
            help="Classifier checkpoint " + SHIPPED_HELP.format("classifier, digits-classifier.pt")
        ),
    ] = None,
    layout: Annotated[str, typer.Option(help="auto, audiomnist, fsdd or sc09.")] = "auto",
    per_digit: Annotated[int, typer.Option(help="Samples per digit and cell.")] = 10,
    guidance: Annotated[str, typer.Option(help="Guidance scales, comma-separated.")] = "0,1,3,5",
    steps: Annotated[
        str,
        typer.Option(
            "--sampling-steps", "--steps", help="Sampling steps, comma-separated; 'full' = DDPM."
        ),
    ] = ("10,25,50,full"),
    log: Annotated[Path | None, typer.Option("--append", "--log", help=APPEND_HELP)] = None,
    no_log: Annotated[bool, typer.Option("--no-log", hidden=True, help="Print only.")] = False,
    eta: Annotated[float, typer.Option(help="DDIM eta (0 deterministic, 1 DDPM-like).")] = 1.0,
    threads: Annotated[int, typer.Option(help="CPU threads (0: torch default).")] = 1,
) -> None:
    """Accuracy / IS / mIS / FD of generated digits over guidance x steps (SC09 protocol)."""
    from voxlate.bench.report import append_benchmark
    from voxlate.shipped import DIGITS_CLASSIFIER, DIGITS_DIFFUSION, shipped_or
    from voxlate.tasks.digits.classifier import load_classifier
    from voxlate.tasks.digits.dataset import load_split
    from voxlate.tasks.digits.evaluate import guidance_table, table_markdown
    from voxlate.tasks.digits.model import DigitDiffusion

    _threads(threads)
    model = shipped_or(model, DIGITS_DIFFUSION)
    classifier = shipped_or(classifier, DIGITS_CLASSIFIER)
    try:
        gs = [float(g) for g in guidance.split(",")]
        ss = [None if s.strip() == "full" else int(s) for s in steps.split(",")]
    except ValueError as e:
        raise InputError("--guidance takes numbers and --steps integers or 'full'.") from e
    m = DigitDiffusion.load(model)
    _, te = load_split(corpus, m.config.mel, layout)
    if len(te) == 0:
        raise InputError(f"The corpus {corpus} has no held-out speakers to compare with.")
    rows = guidance_table(m, load_classifier(classifier), te, per_digit, gs, ss, eta=eta)
    table = table_markdown(rows)
    typer.echo(table)
    if log is not None and not no_log:
        body = (
            f"Model `{model}`, classifier `{classifier}`, corpus `{corpus}` (held-out speakers), "
            f"{per_digit} samples per digit per cell; audio by Griffin-Lim, re-encoded and "
            f"classified.\n\n{table}"
        )
        append_benchmark("Spoken-digit diffusion: guidance x steps", body, log)


@generate_app.command("digits")
def generate_digits(
    digit: Annotated[
        int | None, typer.Option("--digit", "-d", help="0-9; all digits if omitted.")
    ] = None,
    n: Annotated[int, typer.Option("-n", help="How many clips.")] = 16,
    steps: Annotated[
        int, typer.Option("--sampling-steps", "--steps", help="DDIM steps (ignored by ddpm).")
    ] = 50,
    eta: Annotated[float, typer.Option(help="DDIM eta (0 deterministic, 1 DDPM-like).")] = 1.0,
    sampler: Annotated[str, typer.Option(help="ddim or ddpm (ancestral, all T steps).")] = "ddim",
    guidance: Annotated[float, typer.Option(help="Classifier-free guidance scale s.")] = 3.0,
    out: Annotated[Path, typer.Option("--output", "-o", "--out", help="Output folder.")] = Path(
        "out/digits"
    ),
    model: Annotated[
        Path | None,
        typer.Option(
            help="Diffusion checkpoint " + SHIPPED_HELP.format("model, digits-diffusion.pt")
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    griffin_lim_iters: Annotated[int, typer.Option(help="Griffin-Lim iterations.")] = 64,
) -> None:
    """Write n wav files of a spoken digit and grid.png of their log-mel spectrograms."""
    import torch

    from voxlate.shipped import DIGITS_DIFFUSION, shipped_or
    from voxlate.tasks.digits.evaluate import write_samples
    from voxlate.tasks.digits.features import MelTransform
    from voxlate.tasks.digits.model import DigitDiffusion

    if digit is not None and not 0 <= digit <= 9:
        raise InputError("--digit must be between 0 and 9.")
    if n < 1:
        raise InputError("-n must be at least 1.")
    m = DigitDiffusion.load(shipped_or(model, DIGITS_DIFFUSION))
    digits = torch.full((n,), digit) if digit is not None else torch.arange(n) % 10
    images = m.sample(digits, steps=steps, sampler=sampler, guidance=guidance, seed=seed, eta=eta)
    paths = write_samples(
        images, digits.tolist(), out, MelTransform(m.config.mel), griffin_lim_iters
    )
    typer.echo(f"{len(paths)} wav files and grid.png -> {out}")
