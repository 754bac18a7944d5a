"""Diarization error rate, and multi-speaker recordings built from real Czech actor lines.

`build_conversation` joins Fish Fillets Czech dialog lines (fillets-ng-data-cs) of different
characters, each voiced by its own actor (`voxlate.data.fillets.speaker_of`), into one
recording of turns of 1-15 s with pauses between them, and returns where each speaker
speaks (the reference). `der` scores a hypothesis against it.

DER (NIST's definition, no collar, no overlapped speech in these recordings): (missed
speech + false alarm + speaker confusion) / reference speech time, on a 10 ms grid, with
the hypothesis labels mapped one-to-one onto the reference labels so as to maximise their
overlap (Hungarian assignment).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voxlate.audio import SAMPLE_RATE, Audio, load_audio

Turn = tuple[float, float, str]  # (start s, end s, speaker)
GRID_S = 0.01  # DER frame (s)
TWO_SPEAKERS = ("m", "v")  # the small and the big fish, each its own actor
# Third voices: characters with enough lines, each spoken by another actor than the fish.
THIRD_SPEAKERS = ("statue", "parrot", "robodog", "linuxer1", "white", "cyan")
TURN_S = (1.0, 15.0)  # the length of a turn is drawn uniformly in this range (s)
LINE_PAUSE_S = (0.15, 0.35)  # silence between two lines of one turn (s)
TURN_PAUSE_S = (0.6, 1.2)  # silence between turns (s)


@dataclass(frozen=True)
class DerResult:
    """One recording's diarization error, in seconds, and its rate."""

    reference_s: float  # reference speech time
    missed_s: float
    false_alarm_s: float
    confusion_s: float

    @property
    def der(self) -> float:
        return (self.missed_s + self.false_alarm_s + self.confusion_s) / max(self.reference_s, 1e-9)


def _frames(turns: Sequence[Turn], n: int, ids: dict[str, int]) -> np.ndarray:
    """Per 10 ms frame, the speaker index speaking (-1: nobody; a later turn wins)."""
    out = np.full(n, -1, dtype=int)
    for a, b, s in turns:
        out[int(round(a / GRID_S)) : int(round(b / GRID_S))] = ids.setdefault(s, len(ids))
    return out


def der(reference: Sequence[Turn], hypothesis: Sequence[Turn], collar: float = 0.0) -> DerResult:
    """The diarization error of `hypothesis` against `reference` (see the module).

    collar: seconds either side of each reference boundary left out of the scoring
    (NIST's usual 0.25 s forgives where exactly speech starts and ends)."""
    from scipy.optimize import linear_sum_assignment

    end = max([b for _, b, _ in [*reference, *hypothesis]], default=0.0)
    n = int(np.ceil(end / GRID_S)) + 1
    rid: dict[str, int] = {}
    hid: dict[str, int] = {}
    ref, hyp = _frames(reference, n, rid), _frames(hypothesis, n, hid)
    if collar > 0:
        keep = np.ones(n, dtype=bool)
        c = int(round(collar / GRID_S))
        for a, b, _ in reference:
            for t in (int(round(a / GRID_S)), int(round(b / GRID_S))):
                keep[max(0, t - c) : t + c] = False
        ref, hyp = ref[keep], hyp[keep]
    both = (ref >= 0) & (hyp >= 0)
    overlap = np.zeros((max(len(rid), 1), max(len(hid), 1)))
    np.add.at(overlap, (ref[both], hyp[both]), 1)
    rows, cols = linear_sum_assignment(-overlap)
    matched = overlap[rows, cols].sum()
    return DerResult(
        reference_s=float((ref >= 0).sum() * GRID_S),
        missed_s=float(((ref >= 0) & (hyp < 0)).sum() * GRID_S),
        false_alarm_s=float(((ref < 0) & (hyp >= 0)).sum() * GRID_S),
        confusion_s=float((both.sum() - matched) * GRID_S),
    )


def speech_extent(samples: np.ndarray, rate: int, below_peak_db: float = 40.0) -> tuple[int, int]:
    """The first and last sample of the 10 ms frames within `below_peak_db` of the
    loudest one: a line's speech without the silence its file starts or ends with."""
    hop = max(1, int(rate * GRID_S))
    n = len(samples) // hop
    if n == 0:
        return 0, len(samples)
    frames = samples[: n * hop].reshape(n, hop)
    db = 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-12)
    loud = np.flatnonzero(db >= db.max() - below_peak_db)
    return int(loud[0] * hop), int(min(len(samples), (loud[-1] + 1) * hop))


def fillets_speaker_lines(
    speakers: Sequence[str], min_s: float = 0.8, max_s: float = 8.0
) -> dict[str, list[Path]]:
    """The Czech dialog files of each character in `speakers`, between `min_s` and
    `max_s` seconds long, sorted; InputError when fillets-ng-data-cs is missing."""
    import soundfile as sf

    from voxlate.data.fillets import FILLETS_ROOT, dialog_fonts, speaker_of
    from voxlate.errors import InputError

    files = sorted(FILLETS_ROOT.glob("sound/*/cs/*.ogg"))
    if not files:
        raise InputError(
            "fillets-ng-data-cs is not installed (apt-get install fillets-ng-data-cs)."
        )
    fonts = dialog_fonts()
    out: dict[str, list[Path]] = {s: [] for s in speakers}
    for p in files:
        s = speaker_of(p, fonts)
        if s in out and min_s <= sf.info(str(p)).duration <= max_s:
            out[s].append(p)
    return out


@dataclass(frozen=True)
class Conversation:
    """A built recording and who speaks when in it."""

    audio: Audio
    turns: list[Turn]  # one per line (its speech, without the file's leading and trailing
    # silence; a turn of several lines gives several), in order
    speakers: list[str]  # the characters it uses


def build_conversation(
    lines: dict[str, list[Path]],
    speakers: Sequence[str],
    seed: int,
    n_turns: int = 8,
    turn_s: tuple[float, float] = TURN_S,
) -> Conversation:
    """`n_turns` turns of `speakers` (no speaker twice in a row, each at least once), each
    made of consecutive lines of one character until it lasts about a draw from `turn_s`.

    Deterministic for a seed (`numpy.random.default_rng(seed)`); lines are not reused
    within a recording while a speaker has unused ones.
    """
    rng = np.random.default_rng(seed)
    order: list[str] = list(rng.permutation(list(speakers)))
    while len(order) < n_turns:
        order.append(str(rng.choice([s for s in speakers if s != order[-1]])))
    pools = {s: [lines[s][i] for i in rng.permutation(len(lines[s]))] for s in speakers}
    used: dict[str, int] = dict.fromkeys(speakers, 0)
    pieces: list[np.ndarray] = []
    turns: list[Turn] = []
    t = float(rng.uniform(*TURN_PAUSE_S))
    pieces.append(np.zeros(int(t * SAMPLE_RATE), np.float32))
    for s in order:
        want = float(rng.uniform(*turn_s))
        spoken = 0.0
        while True:
            path = pools[s][used[s] % len(pools[s])]
            used[s] += 1
            clip = load_audio(path, SAMPLE_RATE).samples
            d = len(clip) / SAMPLE_RATE
            if spoken and spoken + d > want + 1.0:
                break
            if spoken:
                pause = np.zeros(int(rng.uniform(*LINE_PAUSE_S) * SAMPLE_RATE), np.float32)
                pieces.append(pause)
                t += len(pause) / SAMPLE_RATE
            pieces.append(clip)
            a, b = speech_extent(clip, SAMPLE_RATE)
            turns.append((round(t + a / SAMPLE_RATE, 3), round(t + b / SAMPLE_RATE, 3), s))
            t += d
            spoken += d
            if spoken >= want:
                break
        pause = np.zeros(int(rng.uniform(*TURN_PAUSE_S) * SAMPLE_RATE), np.float32)
        pieces.append(pause)
        t += len(pause) / SAMPLE_RATE
    return Conversation(Audio(np.concatenate(pieces), SAMPLE_RATE), turns, list(speakers))


def conversation_set(n_speakers: int, seeds: Sequence[int], n_turns: int = 8) -> list[Conversation]:
    """One conversation per seed: the two fish, plus (3 speakers) a third character drawn
    per seed from `THIRD_SPEAKERS`."""
    if n_speakers not in (2, 3):
        raise ValueError("conversations of 2 or 3 speakers")
    lines = fillets_speaker_lines([*TWO_SPEAKERS, *THIRD_SPEAKERS])
    out = []
    for seed in seeds:
        speakers = list(TWO_SPEAKERS)
        if n_speakers == 3:
            thirds = [s for s in THIRD_SPEAKERS if len(lines[s]) >= 4]
            speakers.append(thirds[seed % len(thirds)])
        out.append(build_conversation(lines, speakers, seed, n_turns))
    return out


def merge_turns(turns: Sequence[Turn], gap_s: float = 0.0) -> list[Turn]:
    """Consecutive turns of one speaker closer than `gap_s` joined into one."""
    out: list[Turn] = []
    for a, b, s in sorted(turns):
        if out and out[-1][2] == s and a - out[-1][1] <= gap_s:
            out[-1] = (out[-1][0], max(b, out[-1][1]), s)
        else:
            out.append((a, b, s))
    return out
