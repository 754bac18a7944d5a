"""Sources and sinks for the live pipeline: a file at real-time pace, the microphone, speakers, a wav.

sounddevice (PortAudio) is imported only when the microphone or speakers are used.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import numpy as np

from voxlate.audio import DEFAULT_OUTPUT_RATE, SAMPLE_RATE, Audio
from voxlate.errors import DeviceError, MissingDependencyError

FRAME_S = 0.02  # seconds of audio per frame fed by the file and microphone sources


async def file_frames(
    audio: Audio, realtime: bool = True, frame_s: float = FRAME_S, lead_out_s: float = 1.0
) -> AsyncIterator[Audio]:
    """Yield `audio` in `frame_s` chunks; with `realtime`, at the pace a microphone would.

    Pacing follows an absolute schedule (start + k * frame_s) so it does not drift.
    `lead_out_s` of silence is appended so the last utterance ends as it would live.
    """
    x = np.concatenate([audio.samples, np.zeros(int(lead_out_s * audio.sample_rate), np.float32)])
    n = max(1, int(round(frame_s * audio.sample_rate)))
    t0 = time.perf_counter()
    for k, i in enumerate(range(0, len(x), n)):
        if realtime:
            delay = t0 + (k + 1) * frame_s - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        else:
            await asyncio.sleep(0)
        yield Audio(x[i : i + n], audio.sample_rate)


def import_sounddevice() -> Any:
    """Import sounddevice, or raise a one-sentence MissingDependencyError."""
    try:
        import sounddevice
    except (ImportError, OSError) as e:  # OSError: the PortAudio library is missing
        raise MissingDependencyError(
            "The microphone and speakers need sounddevice and PortAudio; install them with: "
            "pip install sounddevice && sudo apt-get install libportaudio2"
        ) from e
    return sounddevice


def check_sound_device(kind: str, device: str | int | None = None) -> None:
    """Raise DeviceError unless PortAudio can open `device` ('input' or 'output') for
    16 kHz mono float32; also raises MissingDependencyError without sounddevice."""
    sd = import_sounddevice()
    check = sd.check_input_settings if kind == "input" else sd.check_output_settings
    try:
        check(device=device, samplerate=SAMPLE_RATE, channels=1, dtype="float32")
    except Exception as e:  # sounddevice.PortAudioError, or ValueError for a bad device
        what = "microphone" if kind == "input" else "speakers"
        hint = "use --input FILE" if kind == "input" else "write the translation with -o FILE"
        raise DeviceError(
            f"No usable {what} ({e}); connect one, or {hint} (`python -m sounddevice` lists devices)."
        ) from e


async def mic_frames(
    frame_s: float = FRAME_S, device: str | int | None = None, max_s: float | None = None
) -> AsyncIterator[Audio]:
    """Yield 16 kHz mono microphone audio in `frame_s` chunks until cancelled (or `max_s`)."""
    sd = import_sounddevice()
    loop = asyncio.get_running_loop()
    q: asyncio.Queue[np.ndarray] = asyncio.Queue()

    def callback(indata: np.ndarray, frames: int, t: Any, status: Any) -> None:
        loop.call_soon_threadsafe(q.put_nowait, indata[:, 0].copy())

    block = int(round(frame_s * SAMPLE_RATE))
    got = 0
    with sd.InputStream(
        samplerate=SAMPLE_RATE,
        channels=1,
        dtype="float32",
        blocksize=block,
        device=device,
        callback=callback,
    ):
        while max_s is None or got < max_s * SAMPLE_RATE:
            x = await q.get()
            got += len(x)
            yield Audio(x, SAMPLE_RATE)


class TimelineSink:
    """Collects translated chunks where a listener would hear them; `audio()` renders the track.

    Each chunk starts when it was emitted (wall seconds since `start`), or right after
    the previous chunk if that is still playing. Output is at `sample_rate` Hz.
    """

    def __init__(self, sample_rate: int = DEFAULT_OUTPUT_RATE) -> None:
        self.sample_rate = sample_rate
        self.t0 = time.perf_counter()
        self._parts: list[tuple[float, np.ndarray]] = []
        self._cursor = 0.0

    def add(self, chunk: Audio, realtime: bool = True) -> None:
        x = chunk.resample(self.sample_rate).samples
        at = max(self._cursor, time.perf_counter() - self.t0) if realtime else self._cursor
        self._parts.append((at, x))
        self._cursor = at + len(x) / self.sample_rate

    def audio(self) -> Audio:
        n = int(np.ceil(self._cursor * self.sample_rate)) + 1
        y = np.zeros(n, dtype=np.float32)
        for at, x in self._parts:
            i = int(round(at * self.sample_rate))
            y[i : i + len(x)] += x[: len(y) - i]
        return Audio(np.clip(y, -1.0, 1.0), self.sample_rate)


class SpeakerSink:
    """Plays translated chunks on the default output device, one after another."""

    def __init__(
        self, sample_rate: int = DEFAULT_OUTPUT_RATE, device: str | int | None = None
    ) -> None:
        sd = import_sounddevice()
        self.sample_rate = sample_rate
        self._buf = np.zeros(0, dtype=np.float32)
        self._lock = threading.Lock()
        self._stream = sd.OutputStream(
            samplerate=sample_rate,
            channels=1,
            dtype="float32",
            device=device,
            callback=self._callback,
        )
        self._stream.start()

    def _callback(self, outdata: np.ndarray, frames: int, t: Any, status: Any) -> None:
        with self._lock:
            n = min(frames, len(self._buf))
            outdata[:n, 0] = self._buf[:n]
            outdata[n:, 0] = 0.0
            self._buf = self._buf[n:]

    def add(self, chunk: Audio) -> None:
        x = chunk.resample(self.sample_rate).samples
        with self._lock:
            self._buf = np.concatenate([self._buf, x])

    def pending_s(self) -> float:
        """Seconds of audio still to play."""
        with self._lock:
            return len(self._buf) / self.sample_rate

    def close(self) -> None:
        self._stream.stop()
        self._stream.close()
