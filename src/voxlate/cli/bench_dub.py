"""`voxlate bench dub`: the background under a dub (separation, residual speech, ASR-BLEU),
the diarization error, the dub's timing and the wall real-time factor of a video dub."""

from __future__ import annotations

from pathlib import Path

import typer

from voxlate.cli.conventions import APPEND_HELP
from voxlate.cli.engine_options import TtsOption
from voxlate.cli.groups import bench_app

DUB_PARTS = ("background", "asr-bleu", "diarize", "timing", "rtf")


@bench_app.command("dub")
def bench_dub(
    part: list[str] = typer.Option(
        list(DUB_PARTS),
        "--part",
        help="What to measure (repeatable): background (SI-SDR of the estimate and the "
        "source words left in it, by Whisper base), asr-bleu (the dub's ASR-BLEU alone, "
        "with the background kept and ducked), diarize (DER on 2- and 3-speaker recordings "
        "of Czech actors), timing (lines above 1.15x, largest shift, drift; --mt), rtf "
        "(wall time of a video dub) [default: all].",
    ),
    clips: int = typer.Option(
        5, "--clips", help="LibriVox clips under music for the background part (at most 5)."
    ),
    lines: int = typer.Option(20, "--lines", help="Fish Fillets test lines for asr-bleu."),
    minutes: float = typer.Option(
        2.0, "--minutes", help="Length of the video dubbed for rtf (minutes)."
    ),
    snr: list[float] = typer.Option(
        [0.0, 6.0, 12.0], "--snr", help="Speech-to-music ratios (dB) for the background part."
    ),
    bleu_snr: list[float] = typer.Option(
        [6.0], "--bleu-snr", help="Speech-to-music ratios (dB) for asr-bleu."
    ),
    mt: str = typer.Option("apertium", "--mt", help="Translator of the timing part."),
    tts: TtsOption = None,
    voice: str = typer.Option(
        "tts", "--voice", help="Voice of the dub for asr-bleu and rtf (as for translate)."
    ),
    append: Path | None = typer.Option(None, "--append", "--log", help=APPEND_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Dub real speech under real music; print the background's SI-SDR and residual speech,
    ASR-BLEU with and without the background, the diarization error, the timing statistics
    and the wall RTF of a video dub."""
    from voxlate.bench.dub import run_dub_bench
    from voxlate.errors import InputError

    unknown = [p for p in part if p not in DUB_PARTS]
    if unknown:
        raise InputError(f"--part must be one of {', '.join(DUB_PARTS)}, not {unknown[0]}.")
    if not 1 <= clips <= 5 or lines < 1 or minutes <= 0:
        raise InputError("--clips must be 1-5, --lines at least 1 and --minutes above 0.")
    partial = set(part) != set(DUB_PARTS)
    title = "bench dub" + (" --part " + " --part ".join(part) if partial else "")
    typer.echo(
        run_dub_bench(
            clips, lines, minutes, snr, bleu_snr, tts=tts, voice=voice, parts=part,
            log=append, progress=not quiet, mt=mt, title=title,
        )
    )  # fmt: skip
