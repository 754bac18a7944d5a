"""`voxlate bench diarize`: diarization error and cost on 2- and 3-speaker recordings built
from real Czech actor lines (`eval/diarization.py`), cut into utterances by the file
pipeline's VAD and endpointing, then diarized as `voxlate translate` does
(`pipeline/diarize.py`)."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from voxlate.engines.vad import frame_probabilities
from voxlate.eval.diarization import Conversation, DerResult, Turn, conversation_set, der
from voxlate.pipeline.diarize import SAME_SPEAKER_DISTANCE, cluster, label
from voxlate.pipeline.segmenter import SegmenterConfig, spans_from_probabilities
from voxlate.tables import markdown_table

TEST_SEEDS = tuple(range(10))  # the reported recordings
DEV_SEEDS = tuple(range(100, 110))  # the recordings the threshold was chosen on


@dataclass(frozen=True)
class DiarizedSet:
    """Diarization of one set of recordings under one setting."""

    results: list[DerResult]
    collared: list[DerResult]  # the same with a 0.25 s collar
    found: list[int]  # speakers found per recording
    true: list[int]  # speakers per recording
    audio_s: float  # recordings' total length (s)
    diarize_s: float  # wall time of clustering (s)

    @property
    def der(self) -> float:
        """Time-weighted DER over the set."""
        ref = sum(r.reference_s for r in self.results)
        err = sum(r.missed_s + r.false_alarm_s + r.confusion_s for r in self.results)
        return err / max(ref, 1e-9)

    @property
    def der_collar(self) -> float:
        """Time-weighted DER with a 0.25 s collar."""
        ref = sum(r.reference_s for r in self.collared)
        err = sum(r.missed_s + r.false_alarm_s + r.confusion_s for r in self.collared)
        return err / max(ref, 1e-9)

    @property
    def confusion(self) -> float:
        ref = sum(r.reference_s for r in self.results)
        return sum(r.confusion_s for r in self.results) / max(ref, 1e-9)


def utterance_spans(
    vad, conv: Conversation, segmenter: SegmenterConfig
) -> list[tuple[float, float]]:  # type: ignore[no-untyped-def]
    """The utterances the file pipeline would cut from `conv` (start, end) in seconds."""
    probs = frame_probabilities(vad, conv.audio)
    frame_s = vad.frame_size / vad.sample_rate
    return [
        (s.start, s.end)
        for s in spans_from_probabilities(probs, frame_s, conv.audio.duration, segmenter)
    ]


def embed_set(
    convs: Sequence[Conversation], spans: Sequence[list[tuple[float, float]]], encoder
) -> tuple[list[np.ndarray], float]:  # type: ignore[no-untyped-def]
    """Each recording's utterance embeddings, and the wall time they took (s)."""
    t0 = time.perf_counter()
    out = []
    for conv, sp in zip(convs, spans):
        clips = [conv.audio.slice(a, b) for a, b in sp]
        out.append(np.stack([encoder.embed(c) for c in clips]))
    return out, time.perf_counter() - t0


def diarize_set(
    convs: Sequence[Conversation],
    spans: Sequence[list[tuple[float, float]]],
    embeddings: Sequence[np.ndarray],
    threshold: float = SAME_SPEAKER_DISTANCE,
    n_speakers: int | None = None,
) -> DiarizedSet:
    """DER of each recording clustered as `Diarizer` does (same embeddings, `cluster`)."""
    results, collared, found, true = [], [], [], []
    t0 = time.perf_counter()
    for conv, sp, emb in zip(convs, spans, embeddings):
        ids = cluster(emb, [b - a for a, b in sp], threshold, n_speakers)
        hyp: list[Turn] = [(a, b, label(i)) for (a, b), i in zip(sp, ids)]
        results.append(der(conv.turns, hyp))
        collared.append(der(conv.turns, hyp, collar=0.25))
        found.append(len(set(ids)))
        true.append(len(conv.speakers))
    audio_s = sum(c.audio.duration for c in convs)
    return DiarizedSet(results, collared, found, true, audio_s, time.perf_counter() - t0)


def run_diarize_bench(
    seeds: Sequence[int] = TEST_SEEDS,
    thresholds: Sequence[float] = (SAME_SPEAKER_DISTANCE,),
    append: str | os.PathLike | None = None,
) -> str:
    """The table: per speaker count and setting (threshold, or the true count given as
    ``--speakers``), DER, its confusion part, speakers found, and cost per minute."""
    from voxlate.engines import vad as vad_kind
    from voxlate.engines.voice import ENCODERS

    vad = vad_kind.REGISTRY.create(vad_kind.DEFAULT)
    encoder = ENCODERS.create("resemblyzer")
    seg = SegmenterConfig()
    rows = []
    for n in (2, 3):
        convs = conversation_set(n, seeds)
        t0 = time.perf_counter()
        spans = [utterance_spans(vad, c, seg) for c in convs]
        vad_s = time.perf_counter() - t0
        embeddings, embed_s = embed_set(convs, spans, encoder)
        settings: list[tuple[str, float, int | None]] = [
            (f"threshold {t:.2f}", t, None) for t in thresholds
        ]
        settings.append((f"--speakers {n}", SAME_SPEAKER_DISTANCE, n))
        for name, t, k in settings:
            r = diarize_set(convs, spans, embeddings, t, k)
            minutes = r.audio_s / 60
            exact = sum(f == t for f, t in zip(r.found, r.true))
            rows.append(
                [
                    str(n),
                    name,
                    str(len(convs)),
                    f"{r.audio_s / len(convs):.0f}",
                    f"{100 * r.der:.1f}",
                    f"{100 * r.der_collar:.1f}",
                    f"{100 * r.confusion:.1f}",
                    f"{exact}/{len(convs)}",
                    f"{(embed_s + r.diarize_s) / minutes:.2f}",
                    f"{vad_s / minutes:.2f}",
                ]
            )
    table = markdown_table(
        [
            "speakers",
            "setting",
            "recordings",
            "mean length (s)",
            "DER %",
            "DER % (0.25 s collar)",
            "confusion %",
            "count right",
            "diarize s / audio min",
            "VAD s / audio min",
        ],
        rows,
    )
    body = (
        "Recordings built from Fish Fillets Czech actor lines (fillets-ng-data-cs), 8 turns "
        f"of 1-15 s, seeds {seeds[0]}..{seeds[-1]}; utterances cut by the file pipeline's "
        "VAD; DER = (missed + false alarm + confusion) / reference speech (each line's speech without its file's silence), without and with a 0.25 s collar.\n\n"
        + table
    )
    if append is not None:
        from voxlate.bench.report import append_benchmark

        append_benchmark("Diarization (voxlate bench diarize)", body, append)
    return body


def timing_recording(pause_s: float = 0.25):  # type: ignore[no-untyped-def]
    """The English test recording of the timing run: the five LibriVox clips and the five
    cards clips (pocketsphinx-testdata), each followed by `pause_s` of silence, a brisk
    pace that leaves Spanish little room."""
    from voxlate.audio import SAMPLE_RATE, Audio, concatenate, load_audio
    from voxlate.data.pocketsphinx import clips

    parts = []
    for path, _ in [*clips("librivox"), *clips("cards")]:
        parts += [load_audio(path, SAMPLE_RATE), Audio.silence(pause_s, SAMPLE_RATE)]
    return concatenate([Audio.silence(0.5, SAMPLE_RATE), *parts], SAMPLE_RATE)


def run_timing_bench(mt: str = "apertium", append: str | os.PathLike | None = None) -> str:
    """The dub's timing on `timing_recording` en->es (voice: the synthesizer's own):
    lines above 1.15x before shortening (the speed-up the first translation needed) and
    after (the speed-up used), largest shift, drift at the end, lines shortened."""
    from voxlate.eval.timing import share_above, timing_stats
    from voxlate.pipeline.engines import Engines, EngineSpecs
    from voxlate.pipeline.file import FileTranslator

    audio = timing_recording()
    engines = Engines.load(EngineSpecs(mt=mt, voice="tts", enhance="none"), "en", "es")
    rows = []
    for name, above in (("no shortening", float("inf")), ("shortening above 1.15x", None)):
        t = FileTranslator(engines, progress=False, diarize=False)
        if above is not None:
            t.shorten_above = above
        t0 = time.perf_counter()
        r = t.translate(audio)
        wall = time.perf_counter() - t0
        st = timing_stats(r.segments)
        rows.append(
            [
                name,
                engines.names["mt"],
                str(st.lines),
                f"{100 * share_above(r.needs):.0f}",
                f"{100 * st.above:.0f}",
                f"{st.max_shift_s:.2f}",
                f"{st.drift_s:.2f}",
                str(st.shortened),
                f"{wall:.1f}",
            ]
        )
    table = markdown_table(
        [
            "run",
            "mt",
            "lines",
            "needed > 1.15x %",
            "used > 1.15x %",
            "largest shift (s)",
            "drift at end (s)",
            "shortened",
            "wall (s)",
        ],
        rows,
    )
    body = (
        f"English LibriVox + cards clips (pocketsphinx-testdata), {audio.duration:.0f} s, "
        "0.25 s pauses, en->es, synthesizer's own voice.\n\n" + table
    )
    if append is not None:
        from voxlate.bench.report import append_benchmark

        append_benchmark("Dub timing (voxlate bench diarize)", body, append)
    return body
