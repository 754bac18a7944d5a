"""`voxlate enhance`: denoise a file, train an SGMSE+ or StoRM model, build the offline corpus;
`voxlate eval enhance`: PESQ / ESTOI / SI-SDR table against spectral gating and DeepFilterNet3.

``voxlate enhance IN -o OUT`` is short for ``voxlate enhance run IN -o OUT``: the group
sends anything that is not a sub-command name to `run`.
"""

from __future__ import annotations

from pathlib import Path

import click
import typer
from typer.core import TyperGroup

from voxlate.cli.config_options import config_command
from voxlate.cli.conventions import APPEND_HELP, MAX_AUDIO_MINUTES, MaxAudioMinutes, max_seconds
from voxlate.cli.groups import app, bench_app, eval_app
from voxlate.errors import InputError
from voxlate.outputs import check_outputs
from voxlate.tasks.options import EnhanceTrainOptions


class _DefaultToRun(TyperGroup):
    """A group whose first argument may be an input file: unknown names go to `run`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["run", *args]
        return super().parse_args(ctx, args)  # type: ignore[arg-type]


enhance_app = typer.Typer(
    cls=_DefaultToRun,
    help="Speech enhancement: `voxlate enhance IN.wav -o OUT.wav [--engine SPEC | --model CKPT]` "
    "(default: DeepFilterNet3, the winner on the outside set of `voxlate bench enhance`; "
    "--engine diffusion: the shipped StoRM model), "
    "`voxlate enhance train ...`, `voxlate enhance corpus DIR`.",
    no_args_is_help=True,
)
app.add_typer(enhance_app, name="enhance")


@enhance_app.command("run")
def run(
    input: Path = typer.Argument(
        ..., help="Noisy audio file (any format ffmpeg reads); - reads stdin."
    ),
    output: str = typer.Option(
        ...,
        "-o",
        "--output",
        metavar="PATH",
        help="Enhanced audio to write (format from the extension; - stdout).",
    ),
    model: Path | None = typer.Option(
        None,
        "--model",
        "-m",
        help="Diffusion checkpoint (.pt) to run instead of the default engine "
        "(`--engine diffusion` runs the shipped StoRM model, enhance-storm.pt; see "
        "`voxlate models`).",
    ),
    engine: str | None = typer.Option(
        None,
        "--engine",
        help="Engine spec: deepfilter (default), spectral, predictive[:CKPT], "
        "diffusion[:CKPT] (no CKPT: the shipped StoRM model).",
    ),
    steps: int | None = typer.Option(
        None,
        "--sampling-steps",
        "--steps",
        help="Reverse-diffusion steps (diffusion only; given alone it picks the shipped "
        "diffusion model); default the model's (30 for SGMSE+, 10 for StoRM unless set at "
        "export); 0 = StoRM's predictor alone.",
    ),
    max_audio_minutes: MaxAudioMinutes = MAX_AUDIO_MINUTES,
) -> None:
    """Enhance one file; writes OUT atomically at the input's sample rate.

    Default: DeepFilterNet3 (`voxlate.engines.enhance.DEFAULT`, chosen on the outside set
    of `voxlate bench enhance`); --engine picks another enhancer, --model (or
    --sampling-steps) a diffusion model."""
    from voxlate.audio import load_audio
    from voxlate.audio_encode import audio_format
    from voxlate.cli.conventions import stdin_as_file
    from voxlate.engines.enhance import DEFAULT, REGISTRY
    from voxlate.outputs import write_audio
    from voxlate.registry import Spec
    from voxlate.shipped import ENHANCE_STORM, shipped_or

    if model is not None and engine is not None:
        raise InputError("Give either --model or --engine, not both.")
    diffusion_spec = engine is not None and Spec.parse(engine).name == "diffusion"
    if steps is not None and engine is not None and not diffusion_spec:
        raise InputError("--sampling-steps applies to the diffusion engine only.")
    check_outputs([output], [input])  # as typed: no naming convention, so FOLDER/ is refused
    out = Path(output)
    audio_format(out)
    with stdin_as_file(input) as path:
        audio = load_audio(path, max_seconds=max_seconds(max_audio_minutes))
    if model is not None or steps is not None:
        from voxlate.engines.enhance.diffusion import DiffusionEnhancer

        ckpt = Spec.parse(engine).arg if engine is not None else None
        enhancer = DiffusionEnhancer(
            shipped_or(Path(ckpt) if ckpt else model, ENHANCE_STORM), steps=steps
        )
        enhancer.progress = True
    else:
        enhancer = REGISTRY.create(engine or DEFAULT)  # type: ignore[assignment]
    write_audio(out, enhancer.enhance(audio))
    typer.echo(f"wrote {out} ({audio.duration:.1f} s)", err=True)


@enhance_app.command("train")
@config_command(EnhanceTrainOptions)
def train_cmd(
    clean: list[Path] = typer.Option(None, "--clean", help="Folder of clean speech (repeatable)."),
    noise: list[Path] = typer.Option(
        None, "--noise", help="Folder of noise recordings (repeatable)."
    ),
    pairs: Path | None = typer.Option(
        None, "--pairs", help="Paired folder instead: clean/ + noisy/ or VoiceBank-DEMAND."
    ),
    out: Path = typer.Option(
        Path("models/enhance.pt"), "-o", "--output", "--out", help="Checkpoint to write."
    ),
    config: EnhanceTrainOptions = EnhanceTrainOptions(),
    resume: Path | None = typer.Option(
        None, help="Checkpoint to continue from (its config is used)."
    ),
) -> None:
    """Train an SGMSE+ or StoRM enhancer: clean + noise mixed on the fly at random SNRs
    (or --pairs).

    Babble (other utterances) and white/pink/brown noise are mixed in besides the noise
    folders. Multi-GPU: `torchrun --nproc_per_node=N -m voxlate enhance train ...` (StoRM:
    the score stage only; train the predictor in one process).
    """
    check_outputs([out])  # before any work
    import os

    import torch

    from voxlate.checkpoint import load_checkpoint
    from voxlate.data.mixing import audio_files
    from voxlate.data.voicebank import find_pairs
    from voxlate.tasks.enhance.train import train_enhancer

    o = config
    if o.threads > 0:
        torch.set_num_threads(o.threads)
    if not clean and pairs is None:
        raise InputError("Give --clean DIR (with --noise DIR) or --pairs DIR.")
    if o.kind not in ("sgmse", "storm"):
        raise InputError(f"Unknown --kind {o.kind!r}: use sgmse or storm.")
    if o.stage not in ("joint", "predictor", "score"):
        raise InputError(f"Unknown --stage {o.stage!r}: use joint, predictor or score.")
    if o.stage != "score" and int(os.environ.get("WORLD_SIZE", "1")) > 1 and o.kind == "storm":
        raise InputError("Under torchrun, StoRM trains only --stage score; train the predictor in one process.")  # fmt: skip
    cfg = load_checkpoint(resume).config if resume is not None else o.model_config()
    clean_files = [f for d in clean or [] for f in audio_files(d)]
    noise_files = [f for d in noise or [] for f in audio_files(d)]
    pair_files = [(y, x) for y, x in find_pairs(pairs, "train")] if pairs is not None else None
    path = train_enhancer(cfg, o.train_config(), out, clean_files, noise_files, pair_files,
                          o.mix_config(), o.batch_size, resume, stage=o.stage,  # type: ignore[arg-type]
                          predictor_from=o.predictor_from, init_from=o.init_from)  # fmt: skip
    typer.echo(f"wrote {path}")


@enhance_app.command("export")
def export_cmd(
    checkpoint: Path = typer.Argument(..., help="Training checkpoint (.pt)."),
    out: Path = typer.Option(..., "-o", "--output", "--out", help="Inference checkpoint to write."),
    steps: int | None = typer.Option(
        None,
        "--sampling-steps",
        "--steps",
        help="Default sampling steps of the exported model (StoRM: 0 = the predictor alone); "
        "default: the checkpoint's (30 SGMSE+, 10 StoRM).",
    ),
) -> None:
    """Keep only what inference needs (EMA weights and config): about 1/4 of the size."""
    check_outputs([out], [checkpoint])  # before any work
    from voxlate.tasks.enhance.train import export_for_inference

    path = export_for_inference(checkpoint, out, sampler_steps=steps)
    typer.echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


@enhance_app.command("corpus")
def corpus_cmd(
    out: Path = typer.Argument(..., help="Folder to create."),
    n_test: int = typer.Option(12, help="Noisy/clean test pairs to write."),
    n_val: int = typer.Option(
        0, help="Validation pairs (training speakers and noises, lines left out of train/)."
    ),
    seed: int = typer.Option(0, help="Random seed."),
) -> None:
    """Build the offline train/test split (held-out speakers and noises) from Debian packages."""
    from voxlate.tasks.enhance.corpus import build_corpus

    build_corpus(out, n_test=n_test, seed=seed, n_val=n_val)
    val = f", {out}/val/{{clean,noisy}}" if n_val > 0 else ""
    typer.echo(f"wrote {out}/train/{{clean,noise}}{val} and {out}/test/{{clean,noisy}}")


@eval_app.command("enhance")
def eval_enhance(
    model: Path = typer.Option(..., "--model", "-m", help="Diffusion checkpoint (.pt)."),
    test: Path = typer.Option(
        ..., "--test", help="Folder with clean/ and noisy/ (or VoiceBank-DEMAND test)."
    ),
    steps: int | None = typer.Option(
        None,
        "--sampling-steps",
        "--steps",
        help="Reverse-diffusion steps; default the model's (30 SGMSE+, 10 StoRM).",
    ),
    limit: int = typer.Option(0, help="Use only the first N pairs; 0 = all."),
    deepfilter: bool = typer.Option(True, help="Include DeepFilterNet3."),
    predictor_row: bool = typer.Option(
        True, help="StoRM: add a row for the predictor D(y) alone (ablation)."
    ),
    png: Path | None = typer.Option(None, help="Spectrogram figure to write [default: none]."),
    examples: int = typer.Option(3, help="Examples in the figure."),
    benchmarks: Path | None = typer.Option(None, "--append", "--benchmarks", help=APPEND_HELP),
) -> None:
    """PESQ-WB, ESTOI, SI-SDR and RTF of noisy / spectral gating / DeepFilterNet3 / diffusion
    (SGMSE+ or StoRM, and StoRM's predictor alone)."""
    import os

    import torch

    from voxlate.bench.report import append_benchmark, markdown_table
    from voxlate.data.voicebank import find_pairs
    from voxlate.engines.enhance import REGISTRY
    from voxlate.engines.enhance.diffusion import DiffusionEnhancer
    from voxlate.eval.enhancement import HEADER, evaluate, spectrogram_png

    pairs = find_pairs(test, "test")
    if limit > 0:
        pairs = pairs[:limit]
    diffusion = DiffusionEnhancer(model, steps=steps)
    kind = diffusion.model.config.kind
    systems: dict = {"noisy": None, "spectral": REGISTRY.create("spectral")}
    if deepfilter:
        systems["deepfilter"] = REGISTRY.create("deepfilter")
    if kind == "storm" and predictor_row:
        systems["storm predictor D(y)"] = DiffusionEnhancer(model, steps=0)
    name = "diffusion" if kind == "sgmse" else "storm"
    systems[name] = diffusion
    scores, kept = evaluate(pairs, systems, keep=examples if png is not None else 0)
    table = markdown_table(HEADER, [s.row() for s in scores])
    typer.echo(table)
    figure = ""
    if kept and png is not None:
        spectrogram_png(png, kept, [p[0].stem for p in pairs[: len(kept)]])
        typer.echo(f"wrote {png}")
        figure = f"\n![spectrograms]({os.path.relpath(png, 'docs')})\n"
    opts = diffusion.options
    body = (
        f"Test set: `{test}` ({len(pairs)} pairs); model `{model}` ({kind}, {opts.steps} "
        f"reverse-diffusion steps, {opts.corrector_steps} corrector step(s) per step); "
        f"torch threads: {torch.get_num_threads()}; "
        f"device: {'cuda' if torch.cuda.is_available() else 'cpu'}. "
        "RTF = processing time / audio duration, one process.\n\n"
        f"{table}\n{figure}"
    )
    if benchmarks is None:
        return
    title = "SGMSE+ diffusion" if kind == "sgmse" else "StoRM (predictor + diffusion)"
    path = append_benchmark(f"Speech enhancement ({title} vs. baselines)", body, benchmarks)
    typer.echo(f"appended to {path}")


@bench_app.command("enhance")
def bench_enhance(
    set_: str = typer.Option(
        "outside",
        "--set",
        help="outside (speech and noise no training saw, built from Debian packages; see "
        "voxlate.data.outside) or a folder with clean/ and noisy/.",
    ),
    part: str = typer.Option("test", help="Outside set: test (report), dev (choose) or all."),
    engines: str = typer.Option(
        "spectral,deepfilter,predictive,diffusion",
        help="Comma-separated enhancer specs; a row each, after the noisy input.",
    ),
    steps: str = typer.Option(
        "10",
        "--sampling-steps",
        "--steps",
        help="Sampling steps of the diffusion rows, comma-separated (a row per value); "
        "'default' = the model's own.",
    ),
    limit: int = typer.Option(0, help="Use only the first N pairs (of each part); 0 = all."),
    seed: int = typer.Option(0, help="Seed of the outside set."),
    threads: int = typer.Option(0, help="CPU threads for torch; 0 = torch's default."),
    benchmarks: Path | None = typer.Option(None, "--append", "--benchmarks", help=APPEND_HELP),
) -> None:
    """PESQ-WB, ESTOI, SI-SDR and RTF of every engine on the outside set, overall, per noise
    type and per SNR (the default of `voxlate enhance` is chosen on this set)."""
    import torch

    from voxlate.bench.report import append_benchmark, markdown_table
    from voxlate.engines.enhance import REGISTRY
    from voxlate.engines.enhance.diffusion import DiffusionEnhancer
    from voxlate.eval.enhancement import HEADER, evaluate
    from voxlate.registry import Spec

    if threads > 0:
        torch.set_num_threads(threads)
    systems: dict[str, object] = {"noisy": None}
    for spec in [s.strip() for s in engines.split(",") if s.strip()]:
        if Spec.parse(spec).name != "diffusion":
            systems[spec] = REGISTRY.create(spec)
            continue
        for n in [s.strip() for s in steps.split(",") if s.strip()]:
            k = None if n == "default" else _int_option(n, "--sampling-steps")
            engine = DiffusionEnhancer(engine_checkpoint(spec), steps=k)
            systems[f"{spec} ({engine.options.steps} steps)"] = engine
    if set_ == "outside":
        from voxlate.data.outside import PACKAGES, build_outside
        from voxlate.eval.enhance_outside import evaluate_outside

        pairs = build_outside(part, seed=seed, limit=limit)
        result = evaluate_outside(pairs, systems)  # type: ignore[arg-type]
        text = result.tables()
        what = (
            f"Outside set, part `{part}` (seed {seed}): {result.pairs} pairs, "
            f"{result.audio_seconds:.0f} s of 16 kHz audio; speech and noise from "
            f"{', '.join(PACKAGES)} (none from the training domain, Fish Fillets NG); "
            "SNR -5..15 dB."
        )
    else:
        from voxlate.data.voicebank import find_pairs

        files = find_pairs(Path(set_), "test")
        files = files[:limit] if limit > 0 else files
        scores, _ = evaluate(files, systems)  # type: ignore[arg-type]
        text = markdown_table(HEADER, [s.row() for s in scores])
        what = f"Test folder `{set_}`: {len(files)} pairs."
    typer.echo(text)
    body = (
        f"{what} Torch threads: {torch.get_num_threads()}. RTF = processing time / audio "
        f"duration, one process; diffusion rows name their sampling steps (0 = StoRM's "
        f"predictor D(y) alone).\n\n{text}\n"
    )
    if benchmarks is not None:
        path = append_benchmark(f"bench enhance --set {set_} --part {part}", body, benchmarks)
        typer.echo(f"appended to {path}")


def engine_checkpoint(spec: str) -> Path:
    """The checkpoint a diffusion spec names (``diffusion:PATH``), else the shipped one."""
    from voxlate.registry import Spec
    from voxlate.shipped import ENHANCE_STORM, shipped_path

    arg = Spec.parse(spec).arg
    return Path(arg) if arg else shipped_path(ENHANCE_STORM)


def _int_option(text: str, option: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InputError(f"{option} takes integers or 'default', not {text!r}.") from None
