"""The live-latency benchmark behind `voxlate bench live`.

Real recordings are joined with pauses and fed in real time. For each utterance the
latency is the wall time from the end of speech in the input (the VAD's last speech
frame reaching the pipeline; the configured end-of-speech silence is part of the
latency) to the first translated sample out. A second part streams the same audio
from several WebSocket clients at once to a real server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import socket
import statistics
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from voxlate.audio import SAMPLE_RATE, Audio, load_audio
from voxlate.bench.report import append_benchmark, load_line, markdown_table, voice_counts
from voxlate.eval.memory import peak_rss_mb
from voxlate.pipeline.engines import Engines, EngineSpecs
from voxlate.pipeline.stream import LIVE_SEGMENTER, StreamConfig, StreamTranslator
from voxlate.pipeline.stream_events import Latency, Transcript
from voxlate.pipeline.stream_io import FRAME_S, file_frames
from voxlate.pipeline.stream_stages import check_enhance_mode

STAGE_ORDER = ("enhance", "asr", "mt", "tts", "voice")
HEADER = ["end of speech -> first audio (s)", "n", "mean", "median", "p95", "best", "worst"]


def joined(files: list[Path], pause_s: float = 1.0, lead_s: float = 0.5) -> Audio:
    """The recordings end to end at 16 kHz, `pause_s` of silence between them."""
    parts = [np.zeros(int(lead_s * SAMPLE_RATE), np.float32)]
    for f in files:
        parts += [
            load_audio(f, SAMPLE_RATE).samples,
            np.zeros(int(pause_s * SAMPLE_RATE), np.float32),
        ]
    return Audio(np.concatenate(parts), SAMPLE_RATE)


def summary(values: list[float]) -> dict[str, float]:
    """mean, median, p95 (nearest rank), best and worst of `values` (seconds)."""
    v = sorted(values)
    if not v:
        return {k: float("nan") for k in ("mean", "median", "p95", "best", "worst")}
    p95 = v[min(len(v) - 1, int(np.ceil(0.95 * len(v))) - 1)]
    return {
        "mean": statistics.fmean(v),
        "median": statistics.median(v),
        "p95": p95,
        "best": v[0],
        "worst": v[-1],
    }


@dataclass
class StreamRun:
    latencies: list[Latency] = field(default_factory=list)
    transcripts: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    audio_s: float = 0.0


async def run_stream(engines: Engines, audio: Audio, config: StreamConfig) -> StreamRun:
    """Feed `audio` in real time through one stream; collect its Latency events."""
    run = StreamRun(audio_s=audio.duration)
    stream = StreamTranslator(engines, config)
    t0 = time.perf_counter()
    async for ev in stream.run(file_frames(audio, realtime=True)):
        if isinstance(ev, Latency):
            run.latencies.append(ev)
        elif isinstance(ev, Transcript) and ev.final:
            run.transcripts.append(ev.text)
    run.wall_s = time.perf_counter() - t0
    return run


# ---- several WebSocket clients --------------------------------------------------------------


@dataclass
class ClientResult:
    latencies: list[float] = field(default_factory=list)  # client-side seconds per utterance
    # seconds a listener playing the audio as it arrives waits for each utterance's first
    # audio: from its end of speech or, when later, the end of the audio before it
    listener_waits: list[float] = field(default_factory=list)
    server_latencies: list[float] = field(default_factory=list)
    utterances: int = 0
    audio_events: int = 0
    audio_frames: int = 0
    samples_announced: int = 0
    samples_received: int = 0
    errors: list[str] = field(default_factory=list)
    reports: list[dict] = field(default_factory=list)  # the server's 'latency' events


async def ws_client(
    url: str, audio: Audio, source: str, target: str, voice: str, delay_s: float = 0.0
) -> ClientResult:
    """Stream `audio` in real time over the WebSocket; measure first audio per utterance.

    Client-side latency: from the moment the client had sent the sample at the end of
    speech (from the `speech_ended` event's stream time) to the first binary frame of
    that utterance's audio. delay_s: seconds to wait before connecting.
    """
    import websockets

    await asyncio.sleep(delay_s)
    res = ClientResult()
    pcm = audio.to_pcm16()
    step = int(FRAME_S * SAMPLE_RATE) * 2
    async with websockets.connect(url, max_size=2**24) as ws:
        assert json.loads(await ws.recv())["type"] == "ready"
        await ws.send(
            json.dumps(
                {
                    "type": "start",
                    "source": source,
                    "target": target,
                    "voice": voice,
                    "sample_rate": SAMPLE_RATE,
                }
            )
        )
        started = json.loads(await ws.recv())
        if started["type"] != "started":
            raise RuntimeError(f"server refused to start: {started}")
        t0 = time.perf_counter()
        sent = {"until": 0.0}
        ends: dict[int, float] = {}
        got_first: set[int] = set()
        pending: dict | None = None
        played_until = 0.0  # when the audio received so far has played, heard as it comes

        async def send() -> None:
            for k, i in enumerate(range(0, len(pcm), step)):
                await ws.send(pcm[i : i + step])
                sent["until"] = (i + step) / 2 / SAMPLE_RATE
                delay = t0 + (k + 1) * FRAME_S - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            await ws.send(json.dumps({"type": "stop"}))

        sender = asyncio.create_task(send())
        async for msg in ws:
            if isinstance(msg, bytes):
                assert pending is not None
                res.audio_frames += 1
                res.samples_received += len(msg) // 2
                i, now = pending["index"], time.perf_counter()
                if i not in got_first and i in ends:
                    got_first.add(i)
                    res.latencies.append(now - ends[i])
                    res.listener_waits.append(max(0.0, now - max(ends[i], played_until)))
                played_until = max(played_until, now) + pending["duration"]
                pending = None
                continue
            ev = json.loads(msg)
            kind = ev["type"]
            if kind == "speech_ended":
                # Wall time at which the client had sent the sample at the end of speech.
                ends[ev["index"]] = t0 + ev["end"]
                res.utterances += 1
            elif kind == "audio":
                pending = ev
                res.audio_events += 1
                res.samples_announced += ev["samples"]
            elif kind == "latency" and ev["first_audio"] is not None:
                res.server_latencies.append(ev["first_audio"])
                res.reports.append(ev)
            elif kind == "error":
                res.errors.append(ev["message"])
            elif kind == "stopped":
                break
        await sender
    return res


def _voices_line(reports: list[dict]) -> str:
    """Which voice spoke the utterances' first chunks, and the stages' mean seconds, from
    the server's 'latency' events: e.g. 'voices: style+converter 14, late:espeak-ng 6; ...'."""
    stages: dict[str, float] = defaultdict(float)
    early = sum(bool(e.get("early_speech")) for e in reports)
    for e in reports:
        for k, v in e.get("stages", {}).items():
            stages[k] += v
    n = max(len(reports), 1)
    said = voice_counts([e.get("voice") or "?" for e in reports])
    means = ", ".join(f"{k} {stages[k] / n:.2f}" for k in STAGE_ORDER if k in stages)
    return (
        f"first chunk's voice: {said}; first piece made while spoken: {early}; "
        f"mean stage s per utterance: {means}"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_clients(
    n: int,
    audio: Audio,
    source: str,
    target: str,
    voice: str,
    specs: EngineSpecs,
    end_silence: float,
    enhance_mode: str,
    stagger: float = 0.0,
) -> list[ClientResult]:
    """Start a real uvicorn server on 127.0.0.1 and stream `audio` from `n` clients at once,
    client k starting k x `stagger` s after the first."""
    import uvicorn

    from voxlate.server.app import create_app
    from voxlate.server.config import ServerConfig

    cfg = ServerConfig(
        specs=specs,
        source=source,
        target=target,
        voice=voice,
        max_clients=max(n, 1),
        end_silence_s=end_silence,
        enhance_mode=enhance_mode,
        preload=((source, target),),
    )
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(cfg), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    if not server.started:
        raise RuntimeError("the benchmark server did not start")
    url = f"ws://127.0.0.1:{port}/v1/live"

    async def all_clients() -> list[ClientResult]:
        return list(
            await asyncio.gather(
                *(ws_client(url, audio, source, target, voice, k * stagger) for k in range(n))
            )
        )

    try:
        return asyncio.run(all_clients())
    finally:
        server.should_exit = True
        thread.join(timeout=30)


# ---- the benchmark ----------------------------------------------------------------------------


def run_live_bench(
    files: list[Path],
    source: str = "en",
    target: str = "es",
    voice: str = "preserve",
    enhance_mode: str = "auto",
    end_silence: float = 0.3,
    clients: int = 4,
    rounds: int = 2,
    log: Path | None = None,
    asr: str | None = None,
    tts: str | None = None,
    asr_bleu: int = 0,
    split: str = "test",
    stagger: float = 0.0,
) -> str:
    """Run the benchmark; return the markdown it appends to `log` (when given).

    rounds: passes through the recordings in the in-process stream (0: skip it).
    clients: concurrent WebSocket clients (0: skip them); client k starts k x `stagger` s
    after the first (0: in step, every utterance ending at the same moment).
    asr_bleu: reference lines on which the live output's ASR-BLEU is compared with the file
    output's (`voxlate.bench.live_quality`; 0: skip it), from `split`; recorded apart, as
    "bench live: ASR-BLEU".
    """
    import dataclasses

    from voxlate.bench.live_quality import live_quality_part, reference_lines_for

    load0 = load_line()
    if asr_bleu > 0:  # a pair or split without reference lines: said before the models load
        reference_lines_for(source, target, asr_bleu, split)
    specs = EngineSpecs(voice=voice, asr=asr, tts=tts, live=True)
    audio = joined(files)
    config = StreamConfig(
        segmenter=dataclasses.replace(LIVE_SEGMENTER, end_silence_s=end_silence),
        enhance=check_enhance_mode(enhance_mode),
    )
    engines, load_s = None, 0.0
    if rounds > 0 or asr_bleu > 0:
        t0 = time.perf_counter()
        engines = Engines.load(specs, source, target)
        engines.warm_up()
        load_s = time.perf_counter() - t0
    parts: list[str] = []
    text = f"load average at start {load0}"
    if engines is not None and rounds > 0:
        text = _stream_part(
            files, audio, engines, load_s, config, voice, enhance_mode, rounds, load0
        )
    if clients > 0:
        res = run_clients(
            clients, audio, source, target, voice, specs, end_silence, enhance_mode, stagger
        )
        cl = [v for r in res for v in r.latencies]
        sv = [v for r in res for v in r.server_latencies]
        dropped = sum(r.samples_announced - r.samples_received for r in res)
        missing = sum(max(0, r.audio_events - r.audio_frames) for r in res)
        utts = [r.utterances for r in res]
        errors = [e for r in res for e in r.errors]
        rows = []
        waits = [v for r in res for v in r.listener_waits]
        named = (("client side", cl), ("server side", sv), ("listener's wait (client)", waits))
        for name, values in named:
            s = summary(values)
            rows.append(
                [name, len(values), s["mean"], s["median"], s["p95"], s["best"], s["worst"]]
            )
        reports = [e for r in res for e in r.reports]
        text += (
            f"\n\n{clients} concurrent WebSocket clients (real uvicorn on 127.0.0.1), each "
            f"streaming the {len(files)} recordings once in real time, "
            + (f"client k starting k x {stagger:g} s later" if stagger else "all in step")
            + f"; utterances per client "
            f"{utts}; audio samples announced but not received: {dropped}; audio events "
            f"without a frame: {missing}; errors: {len(errors)}; load average at end "
            f"{load_line()}; {_voices_line(reports)}; listener's wait: from the end of "
            "speech, or from the end of the audio before it where that is later (a listener "
            "playing the audio as it comes hears nothing sooner), to the first audio\n\n"
            + markdown_table(HEADER, rows)
        )
    if rounds > 0 or clients > 0:
        parts.append(text)
        if log is not None:
            append_benchmark("bench live", text, log)
    if engines is not None and asr_bleu > 0:
        quality = live_quality_part(
            engines, source, target, asr_bleu, split, config,
            f"voice `{voice}`, enhance `{enhance_mode}`, end-of-speech silence {end_silence} s; "
            f"model loading (once, shared) {load_s:.1f} s",
        )  # fmt: skip
        parts.append(quality)
        if log is not None:
            append_benchmark("bench live: ASR-BLEU", quality, log)
    return "\n\n".join(parts) if parts else text


def _stream_part(
    files: list[Path],
    audio: Audio,
    engines: Engines,
    load_s: float,
    config: StreamConfig,
    voice: str,
    enhance_mode: str,
    rounds: int,
    load0: str,
) -> str:
    """The in-process stream: `rounds` passes through `audio` in real time; its markdown."""
    source, target = engines.source, engines.target
    end_silence = config.segmenter.end_silence_s
    # `rounds` passes through the clips in one stream: later rounds run with the
    # speaker's voice already fitted (the first utterance fits it in the background).
    long = Audio(np.concatenate([audio.samples] * rounds), SAMPLE_RATE)
    run = asyncio.run(run_stream(engines, long, config))
    lat = [x.first_audio_s for x in run.latencies if x.first_audio_s is not None]
    warm = [x.first_audio_s for x in run.latencies if x.first_audio_s is not None and x.voice_ready]
    stage_sums: dict[str, float] = defaultdict(float)
    for x in run.latencies:
        for k, v in x.stages.items():
            stage_sums[k] += v
    n = max(len(run.latencies), 1)
    compute = sum(stage_sums.values())
    rows = []
    # per voice that spoke the utterances (`Latency.voice`: stock, pack, style, style+converter)
    timed = [x for x in run.latencies if x.first_audio_s is not None]
    by_voice: list[tuple[str, list[float]]] = [
        (f"voice {v}", [x.first_audio_s for x in timed if x.voice == v])  # type: ignore[misc]
        for v in dict.fromkeys(x.voice for x in timed if x.voice)
    ]
    for name, values in (("all utterances", lat), ("voice fitted", warm), *by_voice):
        s = summary(values)
        rows.append([name, len(values), s["mean"], s["median"], s["p95"], s["best"], s["worst"]])
    table = markdown_table(HEADER, rows)
    stages = markdown_table(
        ["stage", "mean s per utterance"],
        [[k, stage_sums[k] / n] for k in STAGE_ORDER if k in stage_sums],
    )
    text = (
        f"{len(files)} recording(s) joined with 1 s pauses, x{rounds} in one stream "
        f"({long.duration:.1f} s), fed in real time in {FRAME_S * 1000:.0f} ms frames; "
        f"{source}->{target}, voice `{voice}`, enhance `{enhance_mode}`, end-of-speech silence "
        f"{end_silence} s (part of the latency); engines: "
        + ", ".join(f"{k}=`{v}`" for k, v in engines.names.items())
        + f"\n\nmodel loading (once): {load_s:.2f} s · compute real-time factor "
        f"{compute / long.duration:.2f} (stage seconds / input seconds) · "
        f"{sum(x.speculative for x in run.latencies)}/{len(run.latencies)} utterances used "
        f"speculative recognition, {sum(x.speculative_speech for x in run.latencies)} also "
        f"speculative synthesis of the first chunk, "
        f"{sum(x.early_speech for x in run.latencies)} had their first piece made while "
        f"spoken · peak RSS {peak_rss_mb():.0f} MiB · load average at start "
        f"{load0}, at end {load_line()}\n\n{table}\n\n{stages}"
    )
    return text
