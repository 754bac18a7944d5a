"""Measure the hardening targets of issue 15 against a real `voxlate serve` process.

    .venv/bin/python scripts/bench_hardening.py [--voice preserve] [--rounds 2] [--log docs/benchmarks.md]

1. A 2-hour FLAC of silence (header states its length) and the same with the length
   hidden (decoded until the cap), posted to /v1/audio/transcriptions: time to the answer
   and the server's RSS growth (psutil, sampled every 10 ms). Target: refused < 5 s, < 200 MB.
2. A 500 MB chunked JSON body to /v1/audio/speech: time to the 413, bytes the client got
   to send, RSS growth. Target: < 100 MB.
3. Live, measured by WebSocket clients (client side: from sending the end-of-speech sample
   to receiving the first audio frame): 1 client, then 4 at once, streaming the LibriVox
   sentences in real time. Targets: 1 client median <= 0.6 s, p95 <= 1.0 s; 4 clients
   median <= 1.5 s.
4. Event-loop stalls while sessions start, stop and fit voices: clients open a session,
   speak one sentence (which starts a voice fit), and leave at once, over and over, while
   the server's own ticker (/v1/health `loop_lag_max_s`) and a client pinging /v1/health
   every 50 ms measure the stall. Target: no stall over 0.2 s.

Issue 22 (round 2), with `--round2` (all on 127.0.0.1, bounded):

5. Eight same-language WebSocket `start`s (fr->fr, de->de, ...), then eight different real
   pairs: what each got, and the server's RSS (with its child processes) before and after.
6. A long `/v1/audio/speech` (Kokoro, `--speech-chars`) whose client leaves after
   `--leave-at` s, then a one-word request: how long the one word waited.
7. A cross-site `text/plain` POST of JSON to /v1/audio/speech; `Host: evil.example` on
   /v1/models; the raw rebinding WebSocket handshake (Host and Origin evil.example);
   `response_format` as a JSON list; speech x 1e20 as a float WAV; `--token ''`.
8. `--drip` connections dripping one body byte every 5 s: how many are still open when.

`--serve-arg` passes options to `voxlate serve` (e.g. `--serve-arg=--max-pairs=4`); run the
script with `PYTHONPATH=OTHER/src` to measure another checkout (the "before" figures).
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil

from voxlate.audio import SAMPLE_RATE, Audio
from voxlate.bench.live import joined, load_line, summary, ws_client
from voxlate.bench.report import append_benchmark, markdown_table
from voxlate.bench.translate import default_inputs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RssPeak:
    """Largest RSS of process `pid` while the `with` block runs (MB), sampled every 10 ms."""

    def __init__(self, pid: int) -> None:
        self.proc = psutil.Process(pid)
        self.peak = 0.0
        self.before = 0.0
        self._stop = threading.Event()

    def __enter__(self) -> RssPeak:
        self.before = self.proc.memory_info().rss / 1e6
        self.peak = self.before
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss / 1e6)
            time.sleep(0.01)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> float:
        return self.peak - self.before


def make_bomb(path: Path, hours: float = 2.0, hide_length: bool = False) -> Path:
    """`hours` of silence as 16 kHz mono FLAC (sox); optionally with no length in the header."""
    subprocess.run(
        [
            "sox",
            "-D",  # no dither: true digital silence, which FLAC packs tiny (the 355 KB)
            "-n",
            "-r",
            "16000",
            "-c",
            "1",
            "-b",
            "16",
            str(path),
            "trim",
            "0",
            str(hours * 3600),
        ],
        check=True,
    )
    if hide_length:
        b = bytearray(path.read_bytes())
        b[21] &= 0xF0
        b[22:26] = b"\0\0\0\0"
        path.write_bytes(bytes(b))
    return path


def post_file(port: int, route: str, path: Path) -> tuple[int, str]:
    boundary = "voxlatebench"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
        "Content-Type: audio/flac\r\n\r\n"
    ).encode()
    body = head + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request("POST", route, body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    r = conn.getresponse()
    return r.status, r.read().decode(errors="replace")[:200]


def chunked_body(port: int, total: int = 500 * 10**6) -> tuple[int, int]:
    """POST `total` bytes of chunked JSON; returns (status, bytes the client managed to send)."""
    sent = {"n": 0}
    chunk = b" " * (1 << 16)

    def gen():
        yield b'{"input": "'
        while sent["n"] < total:
            sent["n"] += len(chunk)
            yield chunk
        yield b'"}'

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request(
            "POST",
            "/v1/audio/speech",
            gen(),
            {"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
            encode_chunked=True,
        )
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        status = conn.getresponse().status
    except (http.client.HTTPException, OSError):
        status = -1
    return status, sent["n"]


TICKER = """
import asyncio, sys, time
async def main():
    out = open(sys.argv[1], "w", buffering=1)
    while True:
        t0 = time.perf_counter()
        await asyncio.sleep(0.05)
        out.write(f"{time.time():.3f} {time.perf_counter() - t0 - 0.05:.4f}\\n")
asyncio.run(main())
"""


def baseline_lag(path: Path, since: float, until: float) -> float:
    """Largest lag (s) an idle asyncio ticker in its own process saw in [since, until]
    (wall clock): what the machine's load alone does to a sleeping event loop."""
    lags = [
        float(lag)
        for t, lag in (line.split() for line in path.read_text().splitlines() if " " in line)
        if since <= float(t) <= until
    ]
    return max(lags, default=float("nan"))


def health(port: int, window: float) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", f"/v1/health?lag_window={window}")
    return json.loads(conn.getresponse().read())


async def pinger(port: int, stop: asyncio.Event, rtts: list[float]) -> None:
    """GET /v1/health every 50 ms; the round-trip times (s)."""
    while not stop.is_set():
        t0 = time.perf_counter()
        await asyncio.to_thread(health, port, 1.0)
        rtts.append(time.perf_counter() - t0)
        await asyncio.sleep(0.05)


async def churn(port: int, sentence: Audio, cycles: int, voice: str) -> list[str]:
    """Sessions that speak one sentence and leave at once, two at a time, `cycles` times."""
    import websockets

    errors: list[str] = []
    url = f"ws://127.0.0.1:{port}/v1/live"
    pcm = sentence.to_pcm16()

    async def one() -> None:
        async with websockets.connect(url, max_size=2**24) as ws:
            await ws.recv()
            start = {"type": "start", "voice": voice, "sample_rate": SAMPLE_RATE}
            await ws.send(json.dumps(start))
            await ws.recv()
            step = 640 * 2
            for i in range(0, len(pcm), step):
                await ws.send(pcm[i : i + step])
                await asyncio.sleep(0.02)

            # wait for the first audio (the voice fit starts then), then leave abruptly
            async def first_audio() -> None:
                while True:
                    msg = await ws.recv()
                    if isinstance(msg, bytes):
                        return
                    ev = json.loads(msg)
                    if ev["type"] == "error":
                        errors.append(ev["message"])

            try:
                await asyncio.wait_for(first_audio(), 60)
            except asyncio.TimeoutError:
                errors.append("no audio within 60 s")
            except websockets.ConnectionClosed as e:
                errors.append(f"closed by the server: {e}")

    for _ in range(cycles):
        await asyncio.gather(one(), one())
    return errors


def tree_rss_mb(pid: int) -> float:
    """RSS of process `pid` and its children (Apertium pipes, workers), MB."""
    proc = psutil.Process(pid)
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total / 1e6


async def ws_start(port: int, source: str, target: str, timeout: float = 300.0) -> str:
    """Open /v1/live and `start` source -> target; what the server answered (or its close)."""
    import websockets

    try:
        async with websockets.connect(f"ws://127.0.0.1:{port}/v1/live", max_size=2**24) as ws:
            await ws.recv()  # ready
            start = {"type": "start", "source": source, "target": target, "voice": "tts"}
            await ws.send(json.dumps(start))
            ev = json.loads(await asyncio.wait_for(ws.recv(), timeout))
            if ev["type"] != "error":
                return ev["type"]
            try:
                await asyncio.wait_for(ws.recv(), 2)
                closed = ""
            except websockets.ConnectionClosed as e:
                closed = f", closed {e.rcvd.code if e.rcvd else '?'}"
            except asyncio.TimeoutError:
                closed = ", left open"
            return f"error: {ev['message'][:60]}{closed}"
    except Exception as e:  # noqa: BLE001  (a refused handshake is a result here)
        return f"{type(e).__name__}: {str(e)[:60]}"


def request(port: int, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None, timeout: float = 600) -> tuple[int, str]:  # fmt: skip
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request(method, path, body, headers or {})
    r = conn.getresponse()
    return r.status, r.read()[:300].decode(errors="replace")


def raw_handshake(port: int, host: str, origin: str) -> str:
    """What a raw WebSocket handshake with this Host and Origin gets: the status line, and
    after a 101 the server's first frame (a close code, or 'a text frame' such as ready)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(
            f"GET /v1/live HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        status = head.split(b"\r\n")[0].decode(errors="replace")
        if b" 101 " not in head.split(b"\r\n")[0] + b" ":
            return status
        while len(rest) < 4:
            chunk = s.recv(4096)
            if not chunk:
                break
            rest += chunk
        if rest[:1] == b"\x88" and len(rest) >= 4:
            return f"{status}, then close {int.from_bytes(rest[2:4], 'big')}"
        return f"{status}, then a text frame" if rest[:1] == b"\x81" else status


SPANISH = (
    "El viento soplaba sobre el puerto y los barcos se movían despacio. "
    "Nadie sabía cuándo volvería el capitán, pero todos esperaban noticias. "
)


def speech_after_leaver(port: int, chars: int, leave_at: float) -> tuple[float, int, str]:
    """A `chars`-character Spanish speech request whose client leaves at `leave_at` s, then
    a one-word request: (seconds the one word took, its status, what the long one got)."""
    text = (SPANISH * (chars // len(SPANISH) + 1))[:chars].rsplit(" ", 1)[0]
    body = json.dumps({"input": text, "language": "es", "response_format": "wav"}).encode()
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(
            b"POST /v1/audio/speech HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        s.settimeout(leave_at)
        try:
            first = s.recv(100).split(b"\r\n")[0].decode(errors="replace")
        except TimeoutError:
            first = f"left at {leave_at:g} s"
    t = time.perf_counter()
    status, _ = request(port, "POST", "/v1/audio/speech",
                        json.dumps({"input": "Hola.", "language": "es"}).encode(),
                        {"Content-Type": "application/json"})  # fmt: skip
    return time.perf_counter() - t, status, first


def loud_wav(path: Path) -> Path:
    """A LibriVox sentence scaled by 1e20, as a 32-bit float WAV (issue 22, item 13)."""
    import soundfile as sf

    from voxlate.audio import load_audio

    speech = load_audio(default_inputs()[1], SAMPLE_RATE).samples
    sf.write(path, speech * np.float32(1e20), SAMPLE_RATE, subtype="FLOAT")
    return path


def empty_token_start(extra: list[str]) -> str:
    """What `voxlate serve --token ''` does within 120 s: its exit and first error line."""
    port = free_port()
    cmd = [sys.executable, "-m", "voxlate", "serve", "--port", str(port), "--token", "", *extra]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < 120 and proc.poll() is None:
            try:
                status, _ = request(port, "GET", "/v1/models", timeout=5)
                return f"served /v1/models without a token ({status})"
            except OSError:
                time.sleep(0.5)
        if proc.poll() is None:
            return "still starting after 120 s"
        err = (proc.stderr.read() if proc.stderr else "").strip().splitlines()
        return f"exit {proc.returncode} in {time.monotonic() - t0:.1f} s: {err[-1] if err else ''}"
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)


async def drip(port: int, n: int, every: float, watch: float) -> list[tuple[float, int]]:
    """`n` connections each sending a request head and then one body byte every `every`
    seconds; (time, connections still open) every 5 s for `watch` seconds."""

    async def one(closed: list[float], t0: float) -> None:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"POST /v1/audio/speech HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n")  # fmt: skip
            await writer.drain()
            while True:
                try:
                    data = await asyncio.wait_for(reader.read(100), every)
                    if data or reader.at_eof():
                        break  # answered (408) or closed
                except asyncio.TimeoutError:
                    writer.write(b" ")
                    await writer.drain()
            writer.close()
        except OSError:
            pass
        closed.append(time.monotonic() - t0)

    closed: list[float] = []
    t0 = time.monotonic()
    tasks = [asyncio.create_task(one(closed, t0)) for _ in range(n)]
    samples = []
    while time.monotonic() - t0 < watch and len(closed) < n:
        await asyncio.sleep(5)
        samples.append((round(time.monotonic() - t0), n - len(closed)))
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return samples


def round2(port: int, pid: int, args: argparse.Namespace) -> str:
    """The attacks of issue 22 (see the module docstring); a markdown report."""
    rows: list[list[object]] = []
    before = tree_rss_mb(pid)
    t = time.perf_counter()
    same = [asyncio.run(ws_start(port, lang, lang)) for lang in SAME_LANGUAGES]
    dt = time.perf_counter() - t
    after = tree_rss_mb(pid)
    rows.append(["8 same-language WebSocket starts (" + ", ".join(f"{x}->{x}" for x in
                 SAME_LANGUAGES) + ")", same[0], f"{dt:.1f}",
                 f"{before:.0f} -> {after:.0f}"])  # fmt: skip
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", "/v1/languages")
    pairs = [(p["source"], p["target"]) for p in json.loads(conn.getresponse().read())["pairs"]]
    pairs = [p for p in pairs if p != ("en", "es") and p[0] != p[1]][: args.pairs]
    before = tree_rss_mb(pid)
    t = time.perf_counter()
    got = [asyncio.run(ws_start(port, s, d)) for s, d in pairs]
    dt = time.perf_counter() - t
    after = tree_rss_mb(pid)
    loaded = health(port, 1.0).get("loaded_pairs")
    rows.append([f"{len(pairs)} different pairs started one after another (" +
                 ", ".join(f"{s}->{d}" for s, d in pairs) + ")",
                 ", ".join(sorted(set(got))), f"{dt:.1f}",
                 f"{before:.0f} -> {after:.0f}; loaded now: {len(loaded or [])}"])  # fmt: skip
    text = markdown_table(["attack (issue 22, item 1)", "answer", "seconds", "server RSS MB"], rows)
    print(text, flush=True)

    rows = []
    wait, status, first = speech_after_leaver(port, args.speech_chars, args.leave_at)
    rows.append([f"{args.speech_chars}-character Spanish /v1/audio/speech, client leaves "
                 f"({first}); then a one-word request", status, f"{wait:.2f}"])  # fmt: skip
    body = json.dumps({"input": "Hola.", "language": "es"}).encode()
    status, _ = request(port, "POST", "/v1/audio/speech", body,
                        {"Content-Type": "text/plain", "Origin": "https://evil.example"})  # fmt: skip
    rows.append(["cross-site text/plain POST of JSON to /v1/audio/speech", status, ""])
    status, _ = request(port, "POST", "/v1/audio/speech", body,
                        {"Content-Type": "application/json", "Origin": "https://evil.example"})  # fmt: skip
    rows.append(["POST /v1/audio/speech from Origin https://evil.example", status, ""])
    status, _ = request(port, "GET", "/v1/models", headers={"Host": f"evil.example:{port}"})
    rows.append([f"GET /v1/models with Host: evil.example:{port}", status, ""])
    line = raw_handshake(port, f"evil.example:{port}", f"http://evil.example:{port}")
    rows.append(["raw WebSocket handshake, Host and Origin evil.example", line, ""])
    line = raw_handshake(port, f"127.0.0.1:{port}", f"https://127.0.0.1:{port}")
    rows.append(["raw WebSocket handshake, Origin with the wrong scheme (https)", line, ""])
    bad = json.dumps({"input": "hi", "response_format": ["mp3"]}).encode()
    status, text_ = request(port, "POST", "/v1/audio/speech", bad,
                            {"Content-Type": "application/json"})  # fmt: skip
    rows.append(["`response_format` as a JSON list", status, text_[:80]])
    with tempfile.TemporaryDirectory() as d:
        status, text_ = post_file(port, "/v1/audio/transcriptions", loud_wav(Path(d) / "l.wav"))
    rows.append(["speech x 1e20 (float WAV) to /v1/audio/transcriptions", status, text_[:90]])
    rows.append(["`voxlate serve --token ''`", empty_token_start(args.serve_arg), ""])
    text = markdown_table(["attack (issue 22, items 2, 5, 8)", "answer", "seconds / detail"],
                          rows)  # fmt: skip
    print(text, flush=True)
    if args.drip:
        samples = asyncio.run(drip(port, args.drip, 5.0, 90.0))
        text += (
            f"\n\n{args.drip} connections dripping one body byte every 5 s, still open at "
            + ", ".join(f"{t} s: {n}" for t, n in samples)
        )
    return text


SAME_LANGUAGES = ("fr", "de", "it", "pt", "ca", "nl", "sv", "da")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--voice", default="preserve")
    ap.add_argument("--rounds", type=int, default=2, help="passes over the sentences (1 client)")
    ap.add_argument("--cycles", type=int, default=4, help="start/stop cycles of the churn phase")
    ap.add_argument("--skip-live", action="store_true")
    ap.add_argument("--skip-attacks", action="store_true")
    ap.add_argument("--clients", type=int, default=4, help="concurrent clients (0: skip)")
    ap.add_argument("--round2", action="store_true", help="the attacks of issue 22")
    ap.add_argument("--pairs", type=int, default=8, help="different pairs started (round 2)")
    ap.add_argument("--speech-chars", type=int, default=2000, help="long speech request")
    ap.add_argument("--leave-at", type=float, default=5.0, help="its client leaves (s)")
    ap.add_argument("--drip", type=int, default=0, help="slow-drip connections (round 2)")
    ap.add_argument("--serve-arg", action="append", default=[], help="option for voxlate serve")
    ap.add_argument("--log", type=Path, default=None, help="append the result to this file")
    ap.add_argument(
        "--server-log",
        type=Path,
        default=None,
        help="write the server's stderr here (with PYTHONASYNCIODEBUG=1 in the environment, "
        "asyncio names every callback that held the event loop over 0.1 s)",
    )
    args = ap.parse_args()

    load0 = load_line()
    port = free_port()
    cmd = [sys.executable, "-m", "voxlate", "serve", "--port", str(port), "--voice", args.voice]
    cmd += ["--max-clients", "8", *args.serve_arg]
    err = open(args.server_log or os.devnull, "w")  # noqa: SIM115  (never a pipe nobody reads)
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
    rows: list[list[object]] = []
    notes: list[str] = []
    try:
        t0 = time.monotonic()
        while True:
            try:
                health(port, 1.0)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() - t0 > 300:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.5)
        notes.append(f"server start-up (models loaded): {time.monotonic() - t0:.1f} s")
        with tempfile.TemporaryDirectory() as d:
            for hide in () if args.skip_attacks else (False, True):
                bomb = make_bomb(Path(d) / f"bomb{int(hide)}.flac", hide_length=hide)
                with RssPeak(server.pid) as rss:
                    t = time.perf_counter()
                    status, text = post_file(port, "/v1/audio/transcriptions", bomb)
                    dt = time.perf_counter() - t
                what = "2 h FLAC bomb, length " + ("hidden" if hide else "in header")
                what += f" ({bomb.stat().st_size // 1000} KB)"
                rows.append([what, status, f"{dt:.2f}", f"{rss.growth:.0f}", "< 5 s, < 200 MB"])
        text = ""
        if args.round2:
            notes.append(f"server RSS after start-up {tree_rss_mb(server.pid):.0f} MB")
            text += round2(port, server.pid, args) + "\n\n"
        if not args.skip_attacks:
            with RssPeak(server.pid) as rss:
                t = time.perf_counter()
                status, sent = chunked_body(port)
                dt = time.perf_counter() - t
            rows.append(
                [
                    f"500 MB chunked JSON body ({sent / 1e6:.1f} MB sent before refusal)",
                    status,
                    f"{dt:.2f}",
                    f"{rss.growth:.0f}",
                    "< 100 MB",
                ]
            )
            table = markdown_table(["attack", "status", "seconds", "RSS growth MB", "target"], rows)
            print(table, flush=True)
            text += table
        if not args.skip_live:
            files = default_inputs()
            audio = joined(files)
            url = f"ws://127.0.0.1:{port}/v1/live"
            long = Audio(np.concatenate([audio.samples] * args.rounds), SAMPLE_RATE)

            ticks = Path(tempfile.mkdtemp()) / "ticks.txt"
            ticker = subprocess.Popen([sys.executable, "-c", TICKER, str(ticks)])

            async def live() -> dict:
                out: dict = {}
                stop = asyncio.Event()
                rtts: list[float] = []
                ping = asyncio.create_task(pinger(port, stop, rtts))
                t, w = time.perf_counter(), time.time()
                one = await ws_client(url, long, "en", "es", args.voice)
                out["one"] = (one, health(port, time.perf_counter() - t)["loop_lag_max_s"])
                out["base1"] = baseline_lag(ticks, w, time.time())
                print("1 client:", summary(one.latencies), out["one"][1], flush=True)
                t, w = time.perf_counter(), time.time()
                four = await asyncio.gather(
                    *(ws_client(url, audio, "en", "es", args.voice) for _ in range(args.clients))
                )
                out["four"] = (four, health(port, time.perf_counter() - t)["loop_lag_max_s"])
                out["base4"] = baseline_lag(ticks, w, time.time())
                print(
                    f"{args.clients} clients:",
                    summary([v for r in four for v in r.latencies]),
                    flush=True,
                )
                rtts.clear()
                t, w = time.perf_counter(), time.time()
                first = joined(files[1:2])  # one sentence, then 1 s of silence
                errors = await churn(port, first, args.cycles, args.voice)
                out["churn"] = (errors, health(port, time.perf_counter() - t)["loop_lag_max_s"])
                out["base_c"] = baseline_lag(ticks, w, time.time())
                out["churn_rtt"] = list(rtts)
                stop.set()
                await ping
                return out

            try:
                res = asyncio.run(live())
            finally:
                ticker.terminate()
                ticker.wait()
            one, lag1 = res["one"]
            four, lag4 = res["four"]
            errors, lag_c = res["churn"]
            header = ["end of speech -> first audio, client side (s)", "n", "median", "p95",
                      "worst", "server loop lag max (s)", "idle ticker lag max (s)",
                      "target"]  # fmt: skip
            s1 = summary(one.latencies)
            l4 = [v for r in four for v in r.latencies]
            s4 = summary(l4)
            sv = summary(one.server_latencies)
            live_rows = [
                ["1 client", len(one.latencies), s1["median"], s1["p95"], s1["worst"], lag1,
                 res["base1"], "median <= 0.6, p95 <= 1.0"],
                ["1 client, as the server's `latency.first_audio` reported it",
                 len(one.server_latencies), sv["median"], sv["p95"], sv["worst"], "", "", ""],
                [f"{args.clients} clients at once", len(l4), s4["median"], s4["p95"], s4["worst"], lag4,
                 res["base4"], "median <= 1.5"],
            ]  # fmt: skip
            rtt = res["churn_rtt"]
            text += "\n\n" + markdown_table(header, live_rows)
            text += (
                f"\n\nsessions starting, speaking and leaving (2 at a time x {args.cycles}, "
                f"voice `{args.voice}`, each leaving while its voice fit runs): server event-loop "
                f"lag max {lag_c:.3f} s (target <= 0.2 s; an idle asyncio ticker in its own "
                f"process saw up to {res['base_c']:.3f} s from the machine's load alone); /v1/health round trip from a client "
                f"every 50 ms: median {np.median(rtt):.3f} s, max {max(rtt):.3f} s (n={len(rtt)}); "
                f"errors {len(errors)}; live errors "
                f"{len(one.errors) + sum(len(r.errors) for r in four)}"
            )
        text = (
            f"`scripts/bench_hardening.py` against `voxlate serve` (real process, 127.0.0.1), "
            f"voice `{args.voice}`; load average at start {load0}, at end {load_line()}; "
            + "; ".join(notes)
            + "\n\n"
            + text
        )
        print(text)
        if args.log is not None:
            title = "bench hardening (issue 22)" if args.round2 else "bench hardening (issue 15)"
            append_benchmark(title, text, args.log)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
