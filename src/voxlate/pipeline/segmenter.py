"""Cutting speech into utterances from per-frame VAD probabilities.

`Endpointer` consumes probabilities one frame at a time, so the file pipeline and
the live pipeline share one endpointing rule; `segment_audio` runs it over a file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voxlate.audio import Audio, Span
from voxlate.engines.vad import VAD, frame_probabilities


@dataclass(frozen=True)
class SegmenterConfig:
    threshold: float = 0.5  # speech probability at which a frame counts as speech
    end_silence_s: float = 0.4  # silence that ends an utterance (s)
    min_speech_s: float = 0.25  # shorter bursts are dropped as noise (s)
    max_utterance_s: float = 12.0  # a longer utterance is cut at its quietest pause (s)
    pad_s: float = 0.15  # audio kept before and after the detected speech (s)


class Endpointer:
    """Streaming endpointing: feed frame probabilities, get finished speech spans.

    `frame_s` is the duration of one VAD frame in seconds. `push` returns the span
    that ended at this frame, if any; `flush` ends the stream.
    """

    def __init__(self, config: SegmenterConfig, frame_s: float) -> None:
        self.config = config
        self.frame_s = frame_s
        self.reset()

    def reset(self) -> None:
        self._i = 0  # frames seen
        self._start: int | None = None  # first speech frame of the open utterance
        self._last_speech = -1
        self._probs: list[float] = []  # probabilities since the open utterance began

    @property
    def in_speech(self) -> bool:
        return self._start is not None

    def push(self, prob: float) -> Span | None:
        c = self.config
        i = self._i
        self._i += 1
        speech = prob >= c.threshold
        if self._start is None:
            if speech:
                self._start, self._last_speech, self._probs = i, i, [prob]
            return None
        self._probs.append(prob)
        if speech:
            self._last_speech = i
        silence_frames = i - self._last_speech
        if silence_frames * self.frame_s >= c.end_silence_s:
            return self._close(self._last_speech + 1)
        if (i + 1 - self._start) * self.frame_s >= c.max_utterance_s:
            return self._cut()
        return None

    def flush(self) -> Span | None:
        if self._start is None:
            return None
        return self._close(self._last_speech + 1)

    def _close(self, end: int) -> Span | None:
        start = self._start
        assert start is not None
        self._start, self._probs = None, []
        if (end - start) * self.frame_s < self.config.min_speech_s:
            return None
        return Span(start * self.frame_s, end * self.frame_s)

    def _cut(self) -> Span | None:
        """Cut a too-long utterance at the quietest point of its second half."""
        start = self._start
        assert start is not None
        probs = np.asarray(self._probs)
        half = len(probs) // 2
        # Smooth over ~100 ms so one quiet frame inside a word is not taken for a pause.
        k = max(1, int(round(0.1 / self.frame_s)))
        smooth = np.convolve(probs, np.ones(k) / k, mode="same")
        cut = half + int(np.argmin(smooth[half:]))
        span = Span(start * self.frame_s, (start + cut) * self.frame_s)
        rest = probs[cut:]
        self._start = start + cut
        self._probs = list(rest)
        return span


def segment_audio(audio: Audio, vad: VAD, config: SegmenterConfig) -> list[Span]:
    """Speech spans of a whole recording, padded by `config.pad_s` and clipped to it."""
    probs = frame_probabilities(vad, audio)
    return spans_from_probabilities(probs, vad.frame_size / vad.sample_rate, audio.duration, config)


def spans_from_probabilities(
    probs: np.ndarray, frame_s: float, duration: float, config: SegmenterConfig
) -> list[Span]:
    """Speech spans from per-frame VAD probabilities of a recording `duration` seconds long."""
    ep = Endpointer(config, frame_s)
    spans = [s for p in probs if (s := ep.push(float(p))) is not None]
    if (s := ep.flush()) is not None:
        spans.append(s)
    padded: list[Span] = []
    for s in spans:
        start = max(0.0, s.start - config.pad_s)
        end = min(duration, s.end + config.pad_s)
        if padded and start < padded[-1].end:
            start = padded[-1].end
        padded.append(Span(round(start, 3), round(end, 3)))
    return padded
