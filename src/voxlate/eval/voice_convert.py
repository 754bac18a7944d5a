"""Judging a voice converter after Kokoro on speakers it never saw (issue 24; `voxlate bench voice`).

The speaker split is fixed and shared with the converter's training:

- `TEST_SPEAKERS`, reported only: Fish Fillets Czech characters ``c``, ``cyan``, ``parrot``,
  ``linuxer1``, ``robodog`` (`voxlate.data.fillets.speaker_of`) and the LibriVox reader of
  pocketsphinx-testdata. (``c`` has no line of its own in the installed game: every ``c``
  dialogue is shown in another character's font, so 5 speakers remain, chance 20 %.)
- `VALIDATION_SPEAKERS`: the converter's choices are made on them; here they only add
  classes to the second judge's training.
- everything else (``m``, ``v``, ...) is the converter's training data, never used here.
  (eval/voice_style.py's issue-13 ``HELD_OUT`` includes ``m`` and ``v``: not this split.)
  ``fillets-ng-data-nl`` is never read.

Per test speaker, disjoint real lines in the game's (file name) order:

- *ceiling*: real lines judged like outputs ("another real line of the same speaker");
- *judge*: what both judges know the speaker by (Resemblyzer centroid; the MFCC
  judge's training, `speaker_judge.py`); no adaptation sees them;
- *reference*: the rest, up to `MAX_REFERENCE_S` seconds: the ``REF.wav`` the style is
  fitted to and the adapter adapts on.

The second judge (MFCC statistics + LDA) is trained on the test speakers' judge lines and
on the validation speakers' lines, never on a speaker the converter trained on; both judges
identify each output among the test speakers only (forced choice).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from voxlate.audio import SAMPLE_RATE, Audio, concatenate, load_audio
from voxlate.data.voice_corpus import TEST, VALIDATION
from voxlate.engines.voice.base import SpeakerEncoder
from voxlate.eval.speaker_judge import MfccJudge
from voxlate.eval.voice_style import centroids

TEST_SPEAKERS = TEST  # the converter's split (`data/voice_corpus.py`), one source of truth
VALIDATION_SPEAKERS = VALIDATION
MIN_REFERENCE_S, MAX_REFERENCE_S = 15.0, 45.0  # adaptation speech per speaker (issue 24)
N_JUDGE, N_CEILING = 4, 2  # lines per speaker (fewer for a speaker with few lines)
MIN_LINE_S = 1.0  # shorter lines are left out
VALIDATION_LINES = 8  # lines per validation speaker given to the second judge


@dataclass
class HeldOutSpeaker:
    """One held-out speaker's disjoint line sets (see the module docstring)."""

    name: str
    reference: list[Audio]
    judge: list[Audio]
    ceiling: list[Audio]

    @property
    def reference_audio(self) -> Audio:
        return concatenate(self.reference, SAMPLE_RATE)

    @property
    def reference_s(self) -> float:
        return float(sum(a.duration for a in self.reference))


def split_lines(name: str, lines: Sequence[Audio]) -> HeldOutSpeaker | None:
    """Ceiling, judge and reference lines of one speaker, in that order (None: too few)."""
    n = len(lines)
    if n < 4:
        return None
    n_ceil = min(N_CEILING, max(1, n // 5))
    n_judge = min(N_JUDGE, max(2, (n - n_ceil) // 2))
    ceiling, judge = list(lines[:n_ceil]), list(lines[n_ceil : n_ceil + n_judge])
    reference: list[Audio] = []
    for a in lines[n_ceil + n_judge :]:
        if sum(r.duration for r in reference) + a.duration > MAX_REFERENCE_S:
            break
        reference.append(a)
    return HeldOutSpeaker(name, reference, judge, ceiling)


def _fillets_lines(names: Sequence[str]) -> dict[str, list[Path]]:
    from voxlate.data.fillets import dialog_fonts, read_fillets, speaker_of
    from voxlate.errors import InputError

    try:
        entries = sorted(read_fillets(), key=lambda e: e.audio)
    except InputError:
        return {}
    fonts = dialog_fonts()
    by: dict[str, list[Path]] = {n: [] for n in names}
    for e in entries:
        s = speaker_of(Path(e.audio), fonts)
        if s in by and e.duration >= MIN_LINE_S:
            by[s].append(Path(e.audio))
    return by


def _librivox_lines() -> list[Path]:
    from voxlate.data.pocketsphinx import LIBRIVOX, read_transcription

    if not (LIBRIVOX / "transcription").exists():
        return []
    return [LIBRIVOX / f"{k}.wav" for k in sorted(read_transcription(LIBRIVOX / "transcription"))]


def load_test_speakers(names: Sequence[str] = TEST_SPEAKERS) -> list[HeldOutSpeaker]:
    """The line sets of `names` (fillets characters, or 'librivox'); a speaker without
    enough lines (or data) is left out."""
    paths = _fillets_lines([n for n in names if n != "librivox"])
    if "librivox" in names:
        paths["librivox"] = _librivox_lines()
    out = []
    for n in names:
        s = split_lines(n, [load_audio(p, SAMPLE_RATE) for p in paths.get(n, [])])
        if s is not None:
            out.append(s)
    return out


def load_validation_clips(
    names: Sequence[str] = VALIDATION_SPEAKERS, per_speaker: int = VALIDATION_LINES
) -> dict[str, list[Audio]]:
    """Up to `per_speaker` lines of each validation speaker (the second judge's extra classes)."""
    paths = _fillets_lines(names)
    return {
        n: [load_audio(p, SAMPLE_RATE) for p in ps[:per_speaker]]
        for n, ps in paths.items()
        if len(ps) >= 2
    }


class ConverterJudges:
    """Resemblyzer (cosine to each test speaker's judge-line centroid) and the MFCC judge
    (trained on the test speakers' judge lines plus `extra` speakers' clips); both
    identify among the test speakers only."""

    def __init__(
        self,
        encoder: SpeakerEncoder,
        speakers: Sequence[HeldOutSpeaker],
        extra: dict[str, list[Audio]] | None = None,
    ) -> None:
        self.encoder = encoder
        self.names = [s.name for s in speakers]
        self.centroids = centroids(encoder, [s.judge for s in speakers])
        clips = {s.name: s.judge for s in speakers}
        clips.update({k: v for k, v in (extra or {}).items() if k not in clips})
        self.mfcc = MfccJudge.fit(clips)

    def judge(self, speaker: str, audio: Audio) -> tuple[float, bool, bool]:
        """(cosine to the speaker's centroid, Resemblyzer identifies them, MFCC does)."""
        e = self.encoder.embed(audio)
        i = self.names.index(speaker)
        sims = self.centroids @ e
        return (
            float(sims[i]),
            int(np.argmax(sims)) == i,
            self.mfcc.identify(audio, self.names) == speaker,
        )


@dataclass
class ConditionResult:
    """One condition's outputs judged, and its costs."""

    similarity: dict[str, list[float]] = field(default_factory=dict)  # speaker -> per output
    id_resemblyzer: list[bool] = field(default_factory=list)
    id_mfcc: list[bool] = field(default_factory=list)
    heard: list[str] = field(default_factory=list)  # the ASR judge's transcripts
    references: list[str] = field(default_factory=list)  # the texts they should match
    convert_cpu_s: float = 0.0  # CPU seconds spent converting
    speech_s: float = 0.0  # seconds of speech converted
    adapt_cpu_s: dict[str, float] = field(default_factory=dict)  # speaker -> adaptation CPU s

    def add(
        self,
        judges: ConverterJudges,
        speaker: str,
        audio: Audio,
        transcribe: Callable[[Audio], str] | None,
        reference: str | None,
    ) -> None:
        sim, hit1, hit2 = judges.judge(speaker, audio)
        self.similarity.setdefault(speaker, []).append(sim)
        self.id_resemblyzer.append(hit1)
        self.id_mfcc.append(hit2)
        if transcribe is not None and reference is not None:
            self.heard.append(transcribe(audio))
            self.references.append(reference)

    @property
    def all_similarity(self) -> list[float]:
        return [x for v in self.similarity.values() for x in v]

    @property
    def bleu(self) -> float | None:
        if not self.heard:
            return None
        from voxlate.eval.asr_bleu import score

        return score(self.references, self.references, self.heard).asr_bleu

    @property
    def rtf(self) -> float | None:
        return self.convert_cpu_s / self.speech_s if self.speech_s > 0 else None


def _f(x: float | None, fmt: str = "{:.3f}") -> str:
    return "" if x is None else fmt.format(x)


def table(rows: dict[str, ConditionResult], unconverted: str) -> str:
    """The summary table, one row per condition; the BLEU cost is against `unconverted`."""
    from voxlate.tables import markdown_table

    base = rows.get(unconverted)
    base_bleu = base.bleu if base is not None else None
    body = []
    for name, r in rows.items():
        bleu = r.bleu
        cost = None if bleu is None or base_bleu is None else base_bleu - bleu
        adapt = list(r.adapt_cpu_s.values())
        body.append(
            [
                name,
                _f(float(np.median(r.all_similarity)) if r.all_similarity else None),
                _f(100 * float(np.mean(r.id_resemblyzer)) if r.id_resemblyzer else None, "{:.0f}"),
                _f(100 * float(np.mean(r.id_mfcc)) if r.id_mfcc else None, "{:.0f}"),
                _f(bleu, "{:.1f}"),
                _f(cost, "{:+.1f}"),
                _f(r.rtf, "{:.3f}"),
                _f(float(np.median(adapt)) if adapt else None, "{:.1f}"),
                _f(float(np.max(adapt)) if adapt else None, "{:.1f}"),
                str(len(r.id_resemblyzer)),
            ]
        )
    return markdown_table(
        [
            "condition",
            "Resemblyzer sim. (median)",
            "ID Resemblyzer %",
            "ID MFCC %",
            "ASR-BLEU",
            "BLEU cost",
            "conversion CPU-s / s",
            "adaptation CPU-s (median)",
            "(max)",
            "n",
        ],
        body,
    )


def speaker_table(rows: dict[str, ConditionResult], speakers: Sequence[HeldOutSpeaker]) -> str:
    """Median Resemblyzer similarity per speaker (columns) and condition (rows), with each
    speaker's reference seconds."""
    from voxlate.tables import markdown_table

    body = []
    for name, r in rows.items():
        cells = [
            _f(float(np.median(r.similarity[s.name])) if r.similarity.get(s.name) else None)
            for s in speakers
        ]
        body.append([name, *cells])
    body.append(["reference s (adaptation)", *[f"{s.reference_s:.1f}" for s in speakers]])
    return markdown_table(["condition", *[s.name for s in speakers]], body)
