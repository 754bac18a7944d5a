"""`voxlate bench dub`: what a dub keeps of the background, and what it costs.

Mixtures of real speech and real music (Fish Fillets' music, the ASC game's music):

- **Background separation**: LibriVox clips (pocketsphinx-testdata) under music at
  several speech-to-music ratios. The estimate (`pipeline/background.py`: the source less
  the enhancer's speech) is scored by SI-SDR against the true music, next to the mixture's
  own SI-SDR; the source speech left in it by Whisper base's transcript of the estimate
  against the clip's text (WER near 100 % and chrF near 0: no word is heard), next to the
  same on the mixture.
- **ASR-BLEU with the background**: Fish Fillets reference lines (`eval/asr_bleu.py`,
  English input spoken by Piper) under music; the dub heard by the judge (Whisper base,
  Spanish) alone, with the background kept and ducked. The drop is what the background
  costs the listener's understanding.
- **Wall real-time factor** of dubbing a video: a video built here from the LibriVox and
  card clips (pauses between them, repeated to `minutes`) with music under it over a
  generated picture, dubbed to mp4 (picture copied, background kept, subtitles embedded),
  models loaded once beforehand. The load average is printed with it: the machine may be
  shared.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from voxlate.audio import SAMPLE_RATE, Audio, load_audio
from voxlate.bench.report import append_benchmark, markdown_table
from voxlate.data.fillets import FILLETS_ROOT
from voxlate.data.pocketsphinx import clips
from voxlate.engines.asr.base import Recognizer
from voxlate.engines.enhance.base import Enhancer
from voxlate.errors import InputError, MissingDependencyError
from voxlate.metrics import chrf, wer
from voxlate.pipeline.background import estimate_background, mix_background

ASC_MUSIC = Path("/usr/share/games/asc/music")  # Debian asc-music: three mp3 tracks
SNRS_DB = (0.0, 6.0, 12.0)  # speech-to-music ratios of the mixtures (dB)
MUSIC_OFFSET_S = 10.0  # where in each music track the bed starts (past any intro)
PAUSE_S = 1.0  # silence between clips in the RTF video


def music_files() -> list[Path]:
    """The real music tracks used as backgrounds (Fish Fillets' music, then ASC's)."""
    found = sorted((FILLETS_ROOT / "music").glob("rybky*.ogg")) + sorted(ASC_MUSIC.glob("*.mp3"))
    if not found:
        raise InputError(
            "No music found: install fillets-ng-data (or asc-music) for the dub benchmark."
        )
    return found


def music_bed(path: Path, n: int, rate: int = SAMPLE_RATE) -> np.ndarray:
    """`n` samples of the track at `path` from `MUSIC_OFFSET_S`, looped when it is shorter."""
    m = load_audio(path, rate).samples
    start = int(MUSIC_OFFSET_S * rate) if len(m) > int(MUSIC_OFFSET_S * rate) + n else 0
    m = m[start:]
    reps = int(np.ceil(n / max(len(m), 1)))
    return np.tile(m, reps)[:n].astype(np.float32)


def at_snr(speech: np.ndarray, music: np.ndarray, snr_db: float) -> np.ndarray:
    """`music` scaled so that speech-to-music power is `snr_db` (speech power over its
    active part: samples above -40 dB of its peak)."""
    active = speech[np.abs(speech) > np.abs(speech).max() * 0.01]
    ps = float(np.mean(active**2)) if len(active) else float(np.mean(speech**2))
    pm = float(np.mean(music**2)) + 1e-12
    return (music * np.sqrt(ps / pm / 10 ** (snr_db / 10))).astype(np.float32)


def si_sdr(estimate: np.ndarray, reference: np.ndarray) -> float:
    from voxlate.eval.enhancement import si_sdr as _si_sdr

    n = min(len(estimate), len(reference))
    return float(_si_sdr(estimate[:n], reference[:n]))


@dataclass(frozen=True)
class SeparationRow:
    """Background estimates at one speech-to-music ratio, over the clips."""

    snr_db: float
    clips: int
    si_sdr_estimate: float  # mean dB, estimate vs the true music
    si_sdr_mixture: float  # mean dB, the mixture itself vs the true music
    residual_wer_estimate: float  # Whisper base on the estimate vs the source text (%)
    residual_chrf_estimate: float
    residual_wer_mixture: float  # the same on the mixture (the words are there)
    residual_chrf_mixture: float
    rtf: float  # estimation seconds / audio seconds


def separation(
    speech: Sequence[tuple[Audio, str]],
    enhancer: Enhancer,
    judge: Recognizer,
    snrs: Sequence[float] = SNRS_DB,
    progress: bool = True,
) -> list[SeparationRow]:
    """`SeparationRow` per SNR: each clip under a different real music track."""
    tracks = music_files()
    rows = []
    bar = tqdm(total=len(snrs) * len(speech), desc="background", leave=False, disable=not progress)
    for snr in snrs:
        est_sdr, mix_sdr, texts, heard_est, heard_mix = [], [], [], [], []
        seconds = audio_s = 0.0
        for i, (clip, text) in enumerate(speech):
            s = clip.resample(SAMPLE_RATE).samples
            m = at_snr(s, music_bed(tracks[i % len(tracks)], len(s)), snr)
            mix = Audio((s + m).astype(np.float32), SAMPLE_RATE)
            t0 = time.perf_counter()
            bg = estimate_background(mix, enhancer)
            seconds += time.perf_counter() - t0
            audio_s += mix.duration
            est_sdr.append(si_sdr(bg.samples, m))
            mix_sdr.append(si_sdr(mix.samples, m))
            texts.append(_norm(text))
            heard_est.append(judge.transcribe(bg, "en").text)
            heard_mix.append(judge.transcribe(mix, "en").text)
            bar.update()
        rows.append(
            SeparationRow(
                snr,
                len(speech),
                float(np.mean(est_sdr)),
                float(np.mean(mix_sdr)),
                100 * wer(texts, [_norm(h) for h in heard_est]),
                chrf(texts, [_norm(h) for h in heard_est]),
                100 * wer(texts, [_norm(h) for h in heard_mix]),
                chrf(texts, [_norm(h) for h in heard_mix]),
                seconds / max(audio_s, 1e-9),
            )
        )
    bar.close()
    return rows


def _norm(text: str) -> str:
    from voxlate.text.normalize import normalize_text

    return normalize_text(text)


@dataclass(frozen=True)
class AsrBleuRow:
    """The dub's ASR-BLEU at one SNR: alone, with the background kept, with it ducked."""

    snr_db: float
    lines: int
    text_bleu: float
    alone: float  # ASR-BLEU of the dub alone
    keep: float  # with the background at its level
    duck: float  # with the background ducked under the dubbed speech
    alone_chrf: float
    keep_chrf: float


def asr_bleu_with_background(
    n: int = 20,
    snrs: Sequence[float] = (6.0,),
    split: str = "test",
    tts: str | None = None,
    voice: str = "tts",
    progress: bool = True,
) -> tuple[list[AsrBleuRow], dict[str, str]]:
    """`AsrBleuRow`s for en->es on `n` reference lines; also the engines' names."""
    from voxlate.eval.asr_bleu import input_speech, judge_speech, load_judge, reference_lines
    from voxlate.eval.asr_bleu import score as bleu_score
    from voxlate.pipeline.engines import Engines, EngineSpecs
    from voxlate.pipeline.file import FileTranslator

    lines = reference_lines("en", "es", n, split)
    inputs = input_speech(lines, "en")
    specs = EngineSpecs(voice=voice, enhance="deepfilter", mt="apertium", tts=tts)
    engines = Engines.load(specs, "en", "es")
    translator = FileTranslator(engines, progress=False, keep_background=True)  # enhance: auto
    judge = load_judge()
    tracks = music_files()
    refs = [x.reference for x in lines]
    rows = []
    bar = tqdm(total=len(snrs) * n, desc="asr-bleu + background", leave=False, disable=not progress)
    for snr in snrs:
        texts: list[str] = []
        heard: dict[str, list[str]] = {"alone": [], "keep": [], "duck": []}
        for i, a in enumerate(inputs):
            s = a.resample(SAMPLE_RATE).samples
            m = at_snr(s, music_bed(tracks[i % len(tracks)], len(s)), snr)
            r = translator.translate(Audio((s + m).astype(np.float32), SAMPLE_RATE), name=str(i))
            texts.append(" ".join(seg.translation for seg in r.segments))
            spans = [(seg.output_start, seg.output_end) for seg in r.segments]
            heard["alone"].append(judge_speech(judge, r.audio, "es"))
            for mode in ("keep", "duck"):
                out = mix_background(r.audio, r.background, mode, spans)  # type: ignore[arg-type]
                heard[mode].append(judge_speech(judge, out, "es"))
            bar.update()
        scores = {k: bleu_score(refs, texts, v) for k, v in heard.items()}
        rows.append(
            AsrBleuRow(
                snr,
                len(lines),
                scores["alone"].text_bleu,
                scores["alone"].asr_bleu,
                scores["keep"].asr_bleu,
                scores["duck"].asr_bleu,
                scores["alone"].asr_chrf,
                scores["keep"].asr_chrf,
            )
        )
    bar.close()
    return rows, engines.names


def talk_speech(minutes: float) -> np.ndarray:
    """`minutes` of real English speech at `SAMPLE_RATE`: the LibriVox and card clips (two
    speakers) with `PAUSE_S` pauses, repeated."""
    pieces = [load_audio(p, SAMPLE_RATE).samples for p, _ in clips("librivox") + clips("cards")]
    pause = np.zeros(int(PAUSE_S * SAMPLE_RATE), np.float32)
    want = int(minutes * 60 * SAMPLE_RATE)
    parts: list[np.ndarray] = []
    total = 0
    while total < want:
        for p in pieces:
            parts += [p, pause]
            total += len(p) + len(pause)
            if total >= want:
                break
    return np.concatenate(parts)[:want]


def build_talk_video(folder: Path, minutes: float, snr_db: float = 10.0) -> tuple[Path, float]:
    """A video of real English speech (LibriVox and card clips with pauses, repeated to
    `minutes`) with real music under it at `snr_db`, over a generated 320x240 picture
    (h264, 25 fps) in mp4; returns its path and length (s)."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise MissingDependencyError("ffmpeg (needed to build the benchmark video)", apt="ffmpeg")
    speech = talk_speech(minutes)
    music = at_snr(speech, music_bed(music_files()[0], len(speech)), snr_db)
    wav = folder / "talk.wav"
    import soundfile as sf

    sf.write(wav, np.clip(speech + music, -1, 1), SAMPLE_RATE)
    video = folder / "talk.mp4"
    cmd = [ffmpeg, "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
           "testsrc=size=320x240:rate=25", "-i", str(wav), "-shortest", "-c:v", "libx264",
           "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k",
           str(video)]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, timeout=600)
    return video, len(speech) / SAMPLE_RATE


@dataclass(frozen=True)
class RtfRow:
    """One timed video dub."""

    duration_s: float
    load_s: float  # model loading (not in the RTF)
    wall_s: float  # the dub: decode, translate, background, mix, mux
    cpu_s: float  # CPU time of this process and its children (ffmpeg) during the dub
    background_s: float  # of which the background estimate
    segments: int
    load_average: tuple[float, float, float]  # before the dub (1, 5, 15 min)
    load_average_after: tuple[float, float, float]

    @property
    def rtf(self) -> float:
        return self.wall_s / self.duration_s


def video_rtf(
    minutes: float = 2.0, tts: str | None = None, voice: str = "tts"
) -> tuple[RtfRow, dict[str, str]]:
    """Dub a `minutes`-long video (`build_talk_video`) to mp4 with the CLI's defaults for a
    video (background kept, subtitles embedded), Apertium as MT; time it."""
    from voxlate.pipeline.dub_output import DubOptions
    from voxlate.pipeline.engines import Engines, EngineSpecs
    from voxlate.pipeline.file import FileTranslator, translate_file

    with tempfile.TemporaryDirectory(prefix="voxlate-bench-dub.") as tmp:
        folder = Path(tmp)
        video, duration = build_talk_video(folder, minutes)
        t0 = time.perf_counter()
        engines = Engines.load(EngineSpecs(voice=voice, mt="apertium", tts=tts), "en", "es")
        load_s = time.perf_counter() - t0
        translator = FileTranslator(engines, progress=False, keep_background=True)
        before = os.getloadavg()
        t0, c0 = time.perf_counter(), _cpu()
        rep = translate_file(translator, video, folder / "talk.es.mp4", options=DubOptions())
        wall, cpu = time.perf_counter() - t0, _cpu() - c0
        after = os.getloadavg()
    row = RtfRow(
        duration,
        load_s,
        wall,
        cpu,
        float(rep["timings_s"].get("background", 0.0)),
        len(rep["segments"]),
        before,
        after,
    )
    return row, engines.names


def _cpu() -> float:
    """CPU seconds of this process and its waited-for children."""
    import resource

    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _load(avg: tuple[float, float, float]) -> str:
    return "/".join(f"{x:.1f}" for x in avg)


def run_dub_bench(
    clips_n: int = 5,
    lines: int = 20,
    minutes: float = 2.0,
    snrs: Sequence[float] = SNRS_DB,
    bleu_snrs: Sequence[float] = (6.0,),
    tts: str | None = None,
    voice: str = "tts",
    parts: Sequence[str] = ("background", "asr-bleu", "diarize", "timing", "rtf"),
    log: str | os.PathLike | None = None,
    progress: bool = True,
    mt: str = "apertium",
    title: str = "bench dub",
) -> str:
    """Run the parts asked for; return the markdown (recorded with `log` under `title`)."""
    from voxlate.engines.enhance import REGISTRY as ENHANCERS
    from voxlate.eval.asr_bleu import JUDGE, load_judge

    out = []
    if "background" in parts:
        speech = [(load_audio(p, SAMPLE_RATE), t) for p, t in clips("librivox")[:clips_n]]
        enhancer = ENHANCERS.create("deepfilter")
        rows = separation(speech, enhancer, load_judge(), snrs, progress)
        table = markdown_table(
            ["speech/music", "clips", "SI-SDR estimate", "SI-SDR mixture",
             "residual WER estimate", "residual chrF estimate", "WER mixture", "chrF mixture",
             "estimate RTF"],
            [[f"{r.snr_db:g} dB", r.clips, f"{r.si_sdr_estimate:.1f} dB",
              f"{r.si_sdr_mixture:.1f} dB", f"{r.residual_wer_estimate:.0f} %",
              f"{r.residual_chrf_estimate:.1f}", f"{r.residual_wer_mixture:.0f} %",
              f"{r.residual_chrf_mixture:.1f}", f"{r.rtf:.2f}"] for r in rows],
        )  # fmt: skip
        out.append(
            "### Background estimate (source less DeepFilterNet3's speech) vs the true music\n\n"
            f"LibriVox clips under real game music; residual speech: {JUDGE} (en) on the "
            "estimate vs the clip's text (100 % WER / chrF 0: no word heard), and on the "
            "mixture for comparison.\n\n" + table
        )
    if "asr-bleu" in parts:
        rows_b, names = asr_bleu_with_background(lines, bleu_snrs, tts=tts, voice=voice,
                                                 progress=progress)  # fmt: skip
        table = markdown_table(
            ["speech/music", "lines", "text BLEU", "ASR-BLEU dub alone", "ASR-BLEU keep",
             "ASR-BLEU duck", "drop (keep)", "chrF alone", "chrF keep"],
            [[f"{r.snr_db:g} dB", r.lines, f"{r.text_bleu:.1f}", f"{r.alone:.1f}",
              f"{r.keep:.1f}", f"{r.duck:.1f}", f"{r.alone - r.keep:+.1f}",
              f"{r.alone_chrf:.1f}", f"{r.keep_chrf:.1f}"] for r in rows_b],
        )  # fmt: skip
        out.append(
            "### ASR-BLEU of the dub with the background under it (en->es)\n\n"
            f"Fish Fillets test lines (Piper input) under real music, recognised with the "
            f"file default --enhance-mode auto; judge {JUDGE} (es); "
            f"asr {names['asr']}, mt {names['mt']}, tts {names['tts']}.\n\n" + table
        )
    if "diarize" in parts:
        from voxlate.bench.diarize import run_diarize_bench

        out.append("### Diarization (`pipeline/diarize.py`)\n\n" + run_diarize_bench())
    if "timing" in parts:
        from voxlate.bench.diarize import run_timing_bench

        out.append("### Timing of the dub\n\n" + run_timing_bench(mt))
    if "rtf" in parts:
        row, names = video_rtf(minutes, tts=tts, voice=voice)
        table = markdown_table(
            ["video", "segments", "model loading", "dub wall", "of which background",
             "wall RTF", "CPU s / audio s", "load average before", "after"],
            [[f"{row.duration_s:.0f} s mp4", row.segments, f"{row.load_s:.1f} s",
              f"{row.wall_s:.1f} s", f"{row.background_s:.1f} s", f"{row.rtf:.2f}",
              f"{row.cpu_s / row.duration_s:.2f}", _load(row.load_average),
              _load(row.load_average_after)]],
        )  # fmt: skip
        out.append(
            "### Wall real-time factor of a video dub (picture copied, background kept, "
            "subtitles embedded)\n\n"
            f"asr {names['asr']}, mt {names['mt']}, tts {names['tts']}, voice "
            f"{names.get('voice', voice)}; load average = runnable processes on "
            f"{os.cpu_count()} cores (1/5/15 min); CPU s: this process and ffmpeg.\n\n" + table
        )
    body = "\n\n".join(out)
    if log is not None:
        append_benchmark(title, body, log)
    return body
