"""`voxlate asr ...` (CTC recognizer) and `voxlate st ...` (end-to-end speech translation).

Training and evaluation read JSONL manifests (see `voxlate.data.manifest`);
`voxlate asr prepare-fillets` builds them from the Fish Fillets Czech dialogs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from voxlate.cli.config_options import config_command
from voxlate.cli.conventions import (
    APPEND_HELP,
    MAX_AUDIO_MINUTES,
    MaxAudioMinutes,
    max_seconds,
)
from voxlate.cli.groups import app, eval_app
from voxlate.data.fillets import FILLETS_ROOT
from voxlate.errors import InputError
from voxlate.outputs import check_outputs
from voxlate.tasks.options import CTCTrainOptions, STTrainOptions

asr_app = typer.Typer(help="Train, evaluate and run CTC speech recognizers.", no_args_is_help=True)
st_app = typer.Typer(
    help="Train, evaluate and run end-to-end speech translation models.", no_args_is_help=True
)
app.add_typer(asr_app, name="asr")
app.add_typer(st_app, name="st")


ST_MODEL_HELP = (
    "Speech-translation checkpoint [default: the shipped Czech-to-English model, "
    "st-fillets-cs.pt; see `voxlate models`]."
)


def _manifest(path: Path):
    from voxlate.data.manifest import read_manifest

    entries = read_manifest(path)
    if not entries:
        raise InputError(f"Manifest {path} has no entries.")
    return entries


@asr_app.command("prepare-fillets")
def prepare_fillets(
    out_dir: Annotated[Path, typer.Argument(help="Folder for train/dev/test.jsonl.")],
    root: Annotated[Path, typer.Option(help="Fish Fillets data folder.")] = FILLETS_ROOT,
) -> None:
    """Manifests of the Czech Fish Fillets dialogs (with English translations), split by level."""
    from voxlate.data.fillets import read_fillets, split_by_group
    from voxlate.data.manifest import write_manifest

    splits = split_by_group(list(read_fillets(root)))
    for name, entries in splits.items():
        n = write_manifest(out_dir / f"{name}.jsonl", entries, root=root)
        minutes = sum(e.duration for e in entries) / 60
        levels = len({e.group for e in entries})
        typer.echo(
            f"{name}: {n} lines, {minutes:.1f} min, {levels} levels -> {out_dir / f'{name}.jsonl'}"
        )


@asr_app.command("train")
@config_command(CTCTrainOptions)
def train(
    train_manifest: Annotated[Path, typer.Argument(help="Training manifest (JSONL).")],
    dev_manifest: Annotated[Path, typer.Argument(help="Dev manifest for CER after each epoch.")],
    model: Annotated[Path, typer.Option("--output", "-o", "--model", help="Checkpoint to write.")],
    config: CTCTrainOptions,
    noise_dir: Annotated[
        Path | None, typer.Option(help="Folder of noise audio (*.ogg, *.wav) to mix in.")
    ] = None,
    cache_dir: Annotated[
        Path | None, typer.Option(help="Folder to cache decoded audio in.")
    ] = None,
    curve: Annotated[Path | None, typer.Option(help="Learning-curve PNG to write.")] = None,
) -> None:
    """Train a CTC recognizer; keeps the checkpoint with the best dev CER."""
    check_outputs([model, curve], [train_manifest, dev_manifest])  # before any work
    from voxlate.tasks.ctc import train_ctc
    from voxlate.tasks.ctc.dataset import load_noises
    from voxlate.tasks.ctc.train import plot_history
    from voxlate.text.tokenizers import KINDS

    if config.tokenizer not in KINDS:
        raise InputError(f"Unknown tokenizer '{config.tokenizer}'; choose one of: {', '.join(KINDS)}.")  # fmt: skip
    if config.encoder not in ("gru", "conformer"):
        raise InputError(f"Unknown encoder '{config.encoder}'; choose gru or conformer.")
    noises = []
    if noise_dir is not None:
        files = sorted(p for p in noise_dir.rglob("*") if p.suffix in (".ogg", ".wav", ".flac"))
        noises = load_noises(files)
    history = train_ctc(
        _manifest(train_manifest), _manifest(dev_manifest), model, config.model_config(),
        config.train_config(), config.tokenizer, noises, cache_dir,
        log=lambda s: typer.echo(s, err=True),
    )  # fmt: skip
    if curve is not None and history:
        plot_history(history, curve)
    typer.echo(f"wrote {model}")


@asr_app.command("eval")
def evaluate(
    manifest: Annotated[Path, typer.Argument(help="Test manifest (JSONL).")],
    model: Annotated[Path, typer.Option("--model", "-m", help="CTC checkpoint.")],
    beam: Annotated[int, typer.Option(help="Beam width (0 or 1: greedy).")] = 0,
    report: Annotated[
        Path | None, typer.Option(help="JSON file for scores and hypotheses.")
    ] = None,
) -> None:
    """CER and WER of a CTC checkpoint on a manifest."""
    from voxlate.audio import write_text_atomic
    from voxlate.tasks.ctc import evaluate_ctc

    r = evaluate_ctc(model, _manifest(manifest), beam)
    typer.echo(
        f"{r['n']} utterances  CER {100 * r['cer']:.1f} %  WER {100 * r['wer']:.1f} %  (beam {beam})"
    )
    if report is not None:
        write_text_atomic(report, json.dumps(r, ensure_ascii=False, indent=1))


@asr_app.command("transcribe")
def transcribe(
    audio: Annotated[list[Path], typer.Argument(help="Audio files.")],
    model: Annotated[Path, typer.Option("--model", "-m", help="CTC checkpoint.")],
    beam: Annotated[int, typer.Option(help="Beam width (0 or 1: greedy).")] = 0,
    max_audio_minutes: MaxAudioMinutes = MAX_AUDIO_MINUTES,
) -> None:
    """Print the transcript of each file (one line per file: path, tab, text)."""
    import numpy as np

    from voxlate.audio import SAMPLE_RATE, load_audio
    from voxlate.tasks.ctc.model import load_ctc
    from voxlate.tasks.ctc.train import recognize_clips

    cap = max_seconds(max_audio_minutes)
    clips = [
        (np.clip(load_audio(p, SAMPLE_RATE, max_seconds=cap).samples, -1, 1) * 32767).astype(
            np.int16
        )
        for p in audio
    ]
    net, tok, _ = load_ctc(model)
    for p, text in zip(audio, recognize_clips(net, tok, clips, beam), strict=True):
        typer.echo(f"{p}\t{text}")


@st_app.command("train")
@config_command(STTrainOptions)
def st_train(
    train_manifest: Annotated[
        Path, typer.Argument(help="Training manifest with translations (JSONL).")
    ],
    dev_manifest: Annotated[Path, typer.Argument(help="Dev manifest with translations.")],
    model: Annotated[Path, typer.Option("--output", "-o", "--model", help="Checkpoint to write.")],
    config: STTrainOptions,
    cache_dir: Annotated[
        Path | None, typer.Option(help="Folder to cache decoded audio in.")
    ] = None,
    init_encoder: Annotated[
        Path | None,
        typer.Option(help="CTC checkpoint to start the encoder from (its encoder settings win)."),
    ] = None,
    curve: Annotated[Path | None, typer.Option(help="Learning-curve PNG to write.")] = None,
) -> None:
    """Train the speech translator: shared encoder, transcript CTC + decoder, translation decoder."""
    check_outputs([model, curve], [train_manifest, dev_manifest])  # before any work
    from voxlate.tasks.st import train_st
    from voxlate.tasks.st.train import plot_st_history

    if config.decoder not in ("mha", "gru"):
        raise InputError(f"Unknown decoder '{config.decoder}'; choose mha or gru.")
    history = train_st(
        _manifest(train_manifest), _manifest(dev_manifest), model, config.model_config(),
        config.train_config(), cache_dir=cache_dir, log=lambda s: typer.echo(s, err=True),
        init_encoder=init_encoder,
    )  # fmt: skip
    if curve is not None and history:
        plot_st_history(history, curve)
    typer.echo(f"wrote {model}")


@st_app.command("train-text")
def st_train_text(
    train_manifest: Annotated[
        Path, typer.Argument(help="Training manifest with translations (JSONL).")
    ],
    dev_manifest: Annotated[Path, typer.Argument(help="Dev manifest with translations.")],
    model: Annotated[Path, typer.Option("--output", "-o", "--model", help="Checkpoint to write.")],
    decoder: Annotated[str, typer.Option(help="mha or gru.")] = "mha",
    d_model: Annotated[int, typer.Option(help="Width.")] = 128,
    minutes: Annotated[float, typer.Option(help="Wall-clock budget in minutes.")] = 3.0,
    threads: Annotated[int, typer.Option(help="CPU threads (0: torch default).")] = 0,
) -> None:
    """Train the cascade's text translator on the manifests' transcript/translation pairs."""
    check_outputs([model], [train_manifest, dev_manifest])  # before any work
    from voxlate.tasks.ctc.epochs import EpochTrainConfig
    from voxlate.tasks.st import DecoderConfig, train_text_mt

    if decoder not in ("mha", "gru"):
        raise InputError(f"Unknown decoder '{decoder}'; choose mha or gru.")
    train_text_mt(
        _manifest(train_manifest), _manifest(dev_manifest), model, DecoderConfig(kind=decoder, d_model=d_model),
        EpochTrainConfig(max_minutes=minutes, threads=threads, augment=None), log=lambda s: typer.echo(s, err=True),
    )  # fmt: skip
    typer.echo(f"wrote {model}")


@st_app.command("eval")
def st_eval(
    manifest: Annotated[Path, typer.Argument(help="Test manifest with translations (JSONL).")],
    model: Annotated[Path | None, typer.Option("--model", "-m", help=ST_MODEL_HELP)] = None,
    text_model: Annotated[
        Path | None,
        typer.Option(
            help="Text translator for the cascade baseline [default: none; the shipped one "
            "is text-mt-fillets-cs.pt, see `voxlate models`]."
        ),
    ] = None,
    report: Annotated[Path | None, typer.Option(help="JSON file for scores and outputs.")] = None,
    threads: Annotated[int, typer.Option(help="CPU threads (0: torch default).")] = 1,
    beam: Annotated[
        int, typer.Option(help="Beam width of the attention decoders (1: greedy).")
    ] = 4,
) -> None:
    """WER of the transcript heads and BLEU of the translation decoder (and of the cascade)."""
    import torch

    from voxlate.audio import write_text_atomic
    from voxlate.shipped import ST_FILLETS_CS, shipped_or
    from voxlate.tasks.st import evaluate_st

    if threads:
        torch.set_num_threads(threads)

    if beam < 1:
        raise InputError(f"--beam must be at least 1, not {beam}.")
    r = evaluate_st(
        shipped_or(model, ST_FILLETS_CS), _manifest(manifest), text_model, beam_size=beam
    )
    typer.echo(
        f"{r['n']} utterances  transcript WER {100 * r['wer_source']:.1f} % (CTC head {100 * r['wer_ctc']:.1f} %)"
        f"  CER {100 * r['cer_source']:.1f} % (CTC head {100 * r['cer_ctc']:.1f} %)"
        f"  end-to-end BLEU {r['bleu']:.2f}  (beam {beam})"
    )
    if "bleu_cascade" in r:
        typer.echo(
            f"cascade BLEU {r['bleu_cascade']:.2f}  text translator on gold transcripts BLEU {r['bleu_text_mt_gold']:.2f}"
        )
    if report is not None:
        write_text_atomic(report, json.dumps(r, ensure_ascii=False, indent=1))


@st_app.command("translate")
def st_translate(
    audio: Annotated[list[Path], typer.Argument(help="Audio files.")],
    model: Annotated[Path | None, typer.Option("--model", "-m", help=ST_MODEL_HELP)] = None,
    max_audio_minutes: MaxAudioMinutes = MAX_AUDIO_MINUTES,
) -> None:
    """Print transcript and translation of each file (path, tab, transcript, tab, translation)."""
    import numpy as np

    from voxlate.audio import SAMPLE_RATE, load_audio
    from voxlate.shipped import ST_FILLETS_CS, shipped_or
    from voxlate.tasks.st.evaluate import translate_clips
    from voxlate.tasks.st.train import load_st

    cap = max_seconds(max_audio_minutes)
    clips = [
        (np.clip(load_audio(p, SAMPLE_RATE, max_seconds=cap).samples, -1, 1) * 32767).astype(
            np.int16
        )
        for p in audio
    ]
    net, stok, ttok, _ = load_st(shipped_or(model, ST_FILLETS_CS))
    out = translate_clips(net, stok, ttok, clips)
    for i, p in enumerate(audio):
        typer.echo(f"{p}\t{out['source'][i]}\t{out['target'][i]}")


@eval_app.command("asr-korean")
def eval_asr_korean(
    asr: Annotated[str, typer.Option(help="Recognizer spec.")] = "vosk",
    voice: Annotated[
        list[str] | None,
        typer.Option(help="espeak-ng voice[+variant], e.g. ko+m3; repeat to compare several."),
    ] = None,
    rate: Annotated[int, typer.Option(help="espeak-ng speaking rate, words per minute.")] = 140,
    pitch: Annotated[int, typer.Option(help="espeak-ng pitch, 0-99.")] = 50,
    word_gap: Annotated[
        int, typer.Option(help="espeak-ng extra pause between words, units of 10 ms.")
    ] = 0,
    benchmark: Annotated[Path | None, typer.Option("--append", help=APPEND_HELP)] = None,
    report: Annotated[Path | None, typer.Option(help="JSON file for the hypotheses.")] = None,
) -> None:
    """CER of a Korean recognizer on sentences synthesised by espeak-ng (no real Korean speech
    is available offline; synthetic speech is much harder than real speech for these models)."""
    from voxlate.audio import write_text_atomic
    from voxlate.bench.report import append_benchmark, markdown_table
    from voxlate.engines.asr import REGISTRY
    from voxlate.eval.asr_korean import KoreanSpeech, evaluate_korean

    rec = REGISTRY.create(asr)
    results = [
        evaluate_korean(rec, KoreanSpeech(v, rate, pitch, word_gap)) for v in (voice or ["ko"])
    ]
    rows = [
        [asr, f"`{r.speech.label()}`", len(r.refs), round(r.audio_s, 1), 100 * r.cer,
         100 * r.cer_no_spaces, r.decode_s / r.audio_s]
        for r in results
    ]  # fmt: skip
    table = markdown_table(
        ["engine", "espeak-ng", "sentences", "audio s", "CER %", "CER % (no spaces)", "real-time factor"],
        rows,
    )  # fmt: skip
    typer.echo(table)
    for r in results:
        typer.echo(r.speech.label())
        for ref, hyp in zip(r.refs, r.hyps, strict=True):
            typer.echo(f"  {ref}  ->  {hyp}")
    if report is not None:
        out = [
            {"espeak_ng": r.speech.label(), "refs": r.refs, "hyps": r.hyps, "cer": r.cer,
             "cer_no_spaces": r.cer_no_spaces}
            for r in results
        ]  # fmt: skip
        write_text_atomic(report, json.dumps(out, ensure_ascii=False, indent=1))
    if benchmark is not None:
        body = f"Korean sentences synthesised with espeak-ng, not real speech.\n\n{table}\n"
        append_benchmark("Korean ASR on espeak-ng speech", body, benchmark)
