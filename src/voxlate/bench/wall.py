"""Wall time as a user waits for it: `voxlate bench translate --as-user`.

Each input is translated by the `voxlate translate` command in a fresh process, with every
default (the guarded LLM, Kokoro, the converter, the background kept), so the figure holds
what a user pays: the imports, the model loading, the LLM worker's start and the writing of
the outputs. The inputs are the README's demo clip (7.1 s, one sentence) and a recording of
`minutes` built from real clips (`bench.dub.talk_speech`: two speakers with pauses).

The row gives the wall time, its real-time factor (wall / audio), the CPU seconds of the
command and its children (the LLM worker), the report's stage seconds and the load average
before and after: the machine may be shared, and the figure is only as good as the load.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from voxlate.bench.report import append_benchmark, markdown_table
from voxlate.data.pocketsphinx import LIBRIVOX
from voxlate.errors import EngineError, InputError

DEMO_CLIP = LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0870.wav"  # the README's demo
TIMEOUT_S = 1800  # one command at most


@dataclass(frozen=True)
class WallRow:
    """One `voxlate translate` run, timed from outside."""

    name: str
    audio_s: float
    wall_s: float
    cpu_s: float  # user + system of the command and its children
    stages: dict[str, float]  # the report's timings_s
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]

    @property
    def rtf(self) -> float:
        return self.wall_s / self.audio_s


def _children_cpu() -> float:
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return kids.ru_utime + kids.ru_stime


def run_as_user(
    audio: Path, folder: Path, args: list[str], name: str, source: str, target: str
) -> WallRow:
    """Run `voxlate translate audio` (plus `args`) as a command; time it from outside."""
    out, report = folder / f"{audio.stem}.out.wav", folder / f"{audio.stem}.json"
    cmd = [sys.executable, "-m", "voxlate", "translate", str(audio), "-s", source, "-t", target,
           "-o", str(out), "--report", str(report), *args]  # fmt: skip
    before = os.getloadavg()
    t0, c0 = time.perf_counter(), _children_cpu()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)
    wall, cpu = time.perf_counter() - t0, _children_cpu() - c0
    after = os.getloadavg()
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise EngineError(f"voxlate translate failed on {name}: {last}")
    rep = json.loads(report.read_text(encoding="utf-8"))
    return WallRow(name, float(rep["duration_s"]), wall, cpu, rep["timings_s"], before, after)


def recording(folder: Path, minutes: float) -> Path:
    """A `minutes`-long WAV of real speech (`talk_speech`) in `folder`."""
    import soundfile as sf

    from voxlate.audio import SAMPLE_RATE
    from voxlate.bench.dub import talk_speech

    path = folder / f"talk-{minutes:g}min.wav"
    sf.write(path, talk_speech(minutes), SAMPLE_RATE)
    return path


def run_wall_bench(
    inputs: list[Path] | None = None,
    minutes: float = 2.0,
    args: list[str] | None = None,
    source: str = "en",
    target: str = "es",
    log: Path | None = None,
) -> str:
    """Time `voxlate translate` on `inputs` [default: the demo clip and a `minutes`-long
    recording; `minutes` 0 leaves the recording out]; return the markdown."""
    if inputs is None and not DEMO_CLIP.exists():
        raise InputError(
            "No inputs given and pocketsphinx-testdata is not installed "
            "(sudo apt-get install pocketsphinx-testdata)."
        )
    rows: list[WallRow] = []
    with tempfile.TemporaryDirectory(prefix="voxlate-bench-wall.") as tmp:
        folder = Path(tmp)
        files = list(inputs) if inputs else [DEMO_CLIP]
        if inputs is None and minutes > 0:
            files.append(recording(folder, minutes))
        for f in tqdm(files, desc="voxlate translate", unit="input", leave=False):
            rows.append(run_as_user(f, folder, list(args or []), f.name, source, target))
    stages = ("vad", "asr", "mt", "tts", "voice", "voice_fit", "background")
    table = markdown_table(
        ["input", "audio", "wall", "wall RTF", "CPU s", *stages, "load before", "after"],
        [[r.name, f"{r.audio_s:.1f} s", f"{r.wall_s:.1f} s", f"{r.rtf:.2f}", f"{r.cpu_s:.1f}",
          *[f"{r.stages.get(s, 0.0):.1f}" for s in stages],
          "/".join(f"{x:.1f}" for x in r.load_before),
          "/".join(f"{x:.1f}" for x in r.load_after)] for r in rows],
    )  # fmt: skip
    extra = " ".join(args or []) or "every default"
    body = (
        f"`voxlate translate` as a command, {source}->{target}, {extra}; wall time from the "
        "command's start to its exit (imports, model loading and the LLM worker's start "
        "included); the stage columns are the report's seconds (mt, voice_fit and background "
        f"overlap the others).\n\n{table}"
    )
    if log is not None:
        append_benchmark("bench translate --as-user", body, log)
    return body
