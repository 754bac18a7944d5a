"""Enhancers on the outside set (`voxlate.data.outside`): overall, per noise type, per SNR.

Every system runs on every pair of the set; the scores are the means of PESQ-WB, ESTOI and
SI-SDR over the pairs of each group, and the RTF is the processing time over the audio
duration of the whole set, one process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tqdm import tqdm

from voxlate.audio import Audio
from voxlate.data.outside import NOISE_TYPES, SNRS_DB, OutsidePair
from voxlate.engines.enhance.base import Enhancer
from voxlate.eval.enhancement import HEADER, METRIC_RATE, SystemScores, score_systems
from voxlate.tables import markdown_table


@dataclass
class OutsideResult:
    """Scores of each system over all pairs and per noise type and SNR."""

    systems: list[str]
    overall: dict[str, SystemScores] = field(default_factory=dict)  # system -> scores
    by_noise: dict[str, dict[str, SystemScores]] = field(default_factory=dict)  # noise -> ...
    by_snr: dict[float, dict[str, SystemScores]] = field(default_factory=dict)  # dB -> ...
    pairs: int = 0
    audio_seconds: float = 0.0

    def tables(self) -> str:
        """Markdown: the overall table, then per noise type and per SNR (cells: PESQ /
        ESTOI / SI-SDR dB)."""
        overall = markdown_table(HEADER, [self.overall[s].row() for s in self.systems])

        def breakdown(groups: Mapping[str, dict[str, SystemScores]]) -> str:
            keys = list(groups)
            head = ["system", *(str(k) for k in keys)]
            rows = [[s, *(groups[k][s].cell() for k in keys)] for s in self.systems]
            counts = ", ".join(f"{k}: {len(next(iter(groups[k].values())).pesq)}" for k in keys)
            return f"Pairs per group: {counts}.\n\n{markdown_table(head, rows)}"

        return (
            f"{overall}\n\nPer noise type (PESQ-WB / ESTOI / SI-SDR dB):\n\n"
            f"{breakdown(self.by_noise)}\n\nPer input SNR (PESQ-WB / ESTOI / SI-SDR dB):\n\n"
            f"{breakdown({f'{k:g} dB': v for k, v in self.by_snr.items()})}"
        )


def evaluate_outside(
    pairs: Sequence[OutsidePair], systems: Mapping[str, Enhancer | None]
) -> OutsideResult:
    """Run every system on every pair (None = the noisy input itself) and group the scores."""
    names = list(systems)
    res = OutsideResult(names)
    res.overall = {s: SystemScores(s) for s in names}
    noises = [n for n in NOISE_TYPES if any(p.noise == n for p in pairs)]
    snrs = [d for d in SNRS_DB if any(p.snr_db == d for p in pairs)]
    res.by_noise = {n: {s: SystemScores(s) for s in names} for n in noises}
    res.by_snr = {d: {s: SystemScores(s) for s in names} for d in snrs}
    for pair in tqdm(pairs, desc="outside set", unit="pair"):
        noisy = Audio(pair.noisy, METRIC_RATE)
        scores, _ = score_systems(noisy, pair.clean, systems)
        for s, (p, e, d, seconds) in scores.items():
            for group in (res.overall, res.by_noise[pair.noise], res.by_snr[pair.snr_db]):
                group[s].add(p, e, d, seconds, noisy.duration)
        res.pairs += 1
        res.audio_seconds += noisy.duration
    return res
