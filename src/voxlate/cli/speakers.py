"""`voxlate speakers ...` (SpeakerDiff) and `voxlate eval anonymize`.

SpeakerDiff: a diffusion model over speaker embeddings that makes new pseudo-speakers
(see voxlate.tasks.speakers and docs/generation.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from voxlate.cli.config_options import config_command
from voxlate.cli.conventions import (
    APPEND_HELP,
    FIGURE_HELP,
    MAX_AUDIO_MINUTES,
    MaxAudioMinutes,
    max_seconds,
)
from voxlate.cli.groups import app, eval_app
from voxlate.errors import InputError
from voxlate.outputs import check_outputs
from voxlate.tasks.options import SpeakersTrainOptions

speakers_app = typer.Typer(
    help="SpeakerDiff: embed speakers, train a diffusion model over embeddings, sample new ones.",
    no_args_is_help=True,
)
app.add_typer(speakers_app, name="speakers")

DEFAULT_MODEL = Path("models/speakers/speakerdiff.pt")


@speakers_app.command("embed")
def embed(
    folders: Annotated[list[Path], typer.Argument(help="Folders (or files) of recordings.")],
    out: Annotated[Path, typer.Option("--output", "-o", "--out", help=".npz to write.")] = Path(
        "emb.npz"
    ),
    pattern: Annotated[str, typer.Option(help="Glob under each folder.")] = "**/*",
    limit: Annotated[int, typer.Option(help="At most this many files per folder (0: all).")] = 0,
    min_seconds: Annotated[float, typer.Option(help="Skip shorter clips.")] = 1.0,
    encoder: Annotated[str, typer.Option(help="Speaker encoder.")] = "resemblyzer",
    max_audio_minutes: MaxAudioMinutes = MAX_AUDIO_MINUTES,
) -> None:
    """Speaker embeddings of every recording under the folders -> .npz (with speaker labels)."""
    check_outputs([out])  # before any work
    from voxlate.tasks.speakers.embed import embed_files, find_audio

    files = []
    for f in folders:
        found = find_audio(f, pattern)
        if limit > 0 and len(found) > limit:
            step = len(found) / limit
            found = [found[int(i * step)] for i in range(limit)]
        files += found
    s = embed_files(files, encoder, min_seconds, max_seconds=max_seconds(max_audio_minutes))
    s.save(out)
    typer.echo(
        f"{len(s)} embeddings of {len(set(s.speakers))} speakers, dim "
        f"{s.embeddings.shape[1]} -> {out}"
    )


@speakers_app.command("train")
@config_command(SpeakersTrainOptions)
def train(
    embeddings: Annotated[list[Path], typer.Argument(help="Embedding .npz files.")],
    model: Annotated[
        Path, typer.Option("--output", "-o", "--model", help="Checkpoint to write.")
    ] = (DEFAULT_MODEL),
    config: SpeakersTrainOptions = SpeakersTrainOptions(),
) -> None:
    """Train SpeakerDiff (DDPM, sigmoid schedule) on embeddings; rows held out are saved
    beside the model (``<model>.heldout.npz``) for `voxlate speakers eval`."""
    check_outputs([model])  # before any work
    import numpy as np
    import torch

    from voxlate.tasks.speakers.embed import EmbeddingSet
    from voxlate.tasks.speakers.model import train_speakerdiff

    if config.threads > 0:
        torch.set_num_threads(config.threads)
    data = EmbeddingSet.concat([EmbeddingSet.load(p) for p in embeddings])
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(data))
    n_hold = int(round(config.holdout * len(data)))
    hold, keep = idx[:n_hold], idx[n_hold:]
    sub = lambda ii: EmbeddingSet(  # noqa: E731
        data.embeddings[ii],
        [data.paths[i] for i in ii],
        [data.speakers[i] for i in ii],
        data.encoder,
    )
    model.parent.mkdir(parents=True, exist_ok=True)
    sub(keep).save(model.with_suffix(".train.npz"))
    if n_hold:
        sub(hold).save(model.with_suffix(".heldout.npz"))
    if config.prediction not in ("eps", "x0", "v"):
        raise InputError("--prediction must be eps, x0 or v.")
    out = train_speakerdiff(data.embeddings[keep], model, config.denoiser, config.train_config(),
                            config.model_config(), encoder=data.encoder)  # fmt: skip
    typer.echo(f"model -> {out} ({len(keep)} training embeddings, {n_hold} held out)")


@speakers_app.command("export")
def export(
    model: Annotated[Path, typer.Argument(help="SpeakerDiff training checkpoint.")] = DEFAULT_MODEL,
    out: Annotated[
        Path,
        typer.Option("--output", "-o", "--out", help="Inference-only checkpoint to write."),
    ] = Path("models/speakers/speakerdiff.export.pt"),
) -> None:
    """Keep only config + EMA weights. To replace the model that `--voice anonymize` ships
    with (a developer's step), give -o src/voxlate/checkpoints/speakerdiff.pt and update
    its sha256 in manifest.json (scripts/update_manifest.py)."""
    check_outputs([out], [model])  # before any work
    from voxlate.tasks.speakers.model import export_for_inference

    p = export_for_inference(model, out)
    typer.echo(f"{p} ({p.stat().st_size / 2**20:.1f} MiB)")


@speakers_app.command("sample")
def sample(
    n: Annotated[int, typer.Option("-n", help="How many embeddings.")] = 100,
    model: Annotated[
        Path | None, typer.Option(help="SpeakerDiff checkpoint [default: the shipped model].")
    ] = None,
    out: Annotated[Path, typer.Option("--output", "-o", "--out", help=".npz to write.")] = Path(
        "generated.npz"
    ),
    steps: Annotated[
        int, typer.Option("--sampling-steps", "--steps", help="DDIM sampling steps.")
    ] = 100,
    sampler: Annotated[str, typer.Option(help="ddim or ddpm.")] = "ddim",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Draw n new speaker embeddings from SpeakerDiff -> .npz."""
    check_outputs([out])  # before any work
    from voxlate.engines.voice.speakerdiff import SpeakerDiff, default_model_path
    from voxlate.tasks.speakers.embed import EmbeddingSet

    if n < 1:
        raise InputError("-n must be at least 1.")
    model = model or default_model_path() or DEFAULT_MODEL
    m = SpeakerDiff.load(model)
    e = m.sample(n, steps=steps, sampler=sampler, seed=seed)
    EmbeddingSet(e, [""] * n, [f"generated-{i}" for i in range(n)], m.config.encoder).save(out)
    typer.echo(f"{n} embeddings (dim {e.shape[1]}) -> {out}")


@speakers_app.command("eval")
def evaluate(
    model: Annotated[Path, typer.Option(help="SpeakerDiff checkpoint.")] = DEFAULT_MODEL,
    n: Annotated[int, typer.Option("-n", help="Samples to draw.")] = 300,
    steps: Annotated[
        int, typer.Option("--sampling-steps", "--steps", help="DDIM sampling steps.")
    ] = 100,
    plot: Annotated[Path | None, typer.Option(help=FIGURE_HELP)] = None,
    log: Annotated[Path | None, typer.Option("--append", "--log", help=APPEND_HELP)] = None,
    no_log: Annotated[bool, typer.Option("--no-log", hidden=True, help="Print only.")] = False,
) -> None:
    """FD real vs generated, nearest-neighbour cosine to training speakers, diversity, t-SNE."""
    from voxlate.bench.report import append_benchmark, markdown_table
    from voxlate.engines.voice.speakerdiff import SpeakerDiff
    from voxlate.tasks.speakers.embed import EmbeddingSet
    from voxlate.tasks.speakers.evaluate import evaluate_generated, tsne_plot

    m = SpeakerDiff.load(model)
    train_set = EmbeddingSet.load(model.with_suffix(".train.npz"))
    held = EmbeddingSet.load(model.with_suffix(".heldout.npz"))
    rows = []
    for sampler, k in (("ddim", steps), ("ddpm", None)):
        gen = m.sample(n, steps=k, sampler=sampler, seed=1)
        r = evaluate_generated(train_set.embeddings, held.embeddings, gen)
        name = f"DDIM {k} steps" if sampler == "ddim" else f"DDPM {m.ddpm.T} steps"
        rows.append(
            [
                name,
                r.n_generated,
                r.fd_generated,
                r.fd_train_vs_heldout,
                r.nn_cos_generated,
                r.nn_cos_heldout,
                r.max_nn_cos_generated,
                r.diversity_generated,
                r.diversity_real,
            ]
        )
    table = markdown_table(
        [
            "sampler",
            "n",
            "FD(held-out, gen)",
            "FD(train, held-out)",
            "NN-cos gen",
            "NN-cos held-out",
            "max NN-cos gen",
            "diversity gen",
            "diversity real",
        ],
        rows,
    )
    typer.echo(table)
    if plot is not None:
        tsne_plot(held.embeddings, gen, plot, held.speakers)
        typer.echo(f"t-SNE -> {plot}")
    if log is not None and not no_log:
        body = (
            f"Model `{model}` ({m.config.denoiser}, {len(train_set)} training embeddings, "
            f"{len(held)} held out, encoder {m.config.encoder}).\n\n{table}"
        )
        append_benchmark("SpeakerDiff: generated vs real speaker embeddings", body, log)


@eval_app.command("anonymize")
def eval_anonymize(
    model: Annotated[
        Path | None, typer.Option(help="SpeakerDiff checkpoint [default model].")
    ] = None,
    speakers: Annotated[int, typer.Option(help="Fish Fillets characters (besides English).")] = 6,
    per_speaker: Annotated[int, typer.Option(help="Utterances per speaker.")] = 5,
    min_distance: Annotated[float, typer.Option(help="Pseudo-speaker cosine distance.")] = 0.3,
    systems: Annotated[
        str,
        typer.Option(
            help="Comma-separated: none, derived, speakerdiff (WORLD conversion of the source "
            "speech: `voxlate voice anonymize`); tts, derived-tts, speakerdiff-tts (translation: "
            "text -> Piper -> voice stage)."
        ),
    ] = "none,derived,speakerdiff,tts,speakerdiff-tts",
    log: Annotated[Path | None, typer.Option("--append", "--log", help=APPEND_HELP)] = None,
    no_log: Annotated[bool, typer.Option("--no-log", hidden=True, help="Print only.")] = False,
) -> None:
    """VoicePrivacy-style: attacker EER (cosine ASV) on original vs anonymized speech, and WER."""
    from voxlate.bench.report import append_benchmark
    from voxlate.tasks.speakers.privacy_run import run_privacy_eval

    table = run_privacy_eval(
        model, speakers, per_speaker, min_distance, [s.strip() for s in systems.split(",")]
    )
    typer.echo(table)
    if log is not None and not no_log:
        append_benchmark("Anonymization (VoicePrivacy-style): attacker EER and WER", table, log)
