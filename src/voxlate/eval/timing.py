"""How well a dub keeps the source timing: from a report's segments (or `PlacedSegment`s).

- share of lines sped up by more than 1.15x (above it, sped-up speech starts to sound
  hurried; the timeline allows up to 1.25x, then shifts);
- the largest shift of a line (output start - source start);
- the drift at the end: the last line's shift.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

HURRIED = 1.15  # speed-up (x) above which a line counts as hurried


@dataclass(frozen=True)
class TimingStats:
    lines: int  # spoken lines
    above: float  # share of them sped up by more than `HURRIED`
    max_shift_s: float  # largest output_start - start
    drift_s: float  # the last line's shift
    shortened: int  # lines the translator shortened


def _get(seg: Any, key: str, default: Any) -> Any:
    return seg.get(key, default) if isinstance(seg, dict) else getattr(seg, key, default)


def timing_stats(segments: Sequence[Any], hurried: float = HURRIED) -> TimingStats:
    """The statistics of `segments` (report dicts or `PlacedSegment`s); lines with no
    translation are left out."""
    spoken = [s for s in segments if str(_get(s, "translation", "")).strip()]
    if not spoken:
        return TimingStats(0, 0.0, 0.0, 0.0, 0)
    shifts = [float(_get(s, "shift_s", 0.0)) for s in spoken]
    above = sum(float(_get(s, "speed", 1.0)) > hurried + 1e-9 for s in spoken)
    return TimingStats(
        lines=len(spoken),
        above=above / len(spoken),
        max_shift_s=max(shifts),
        drift_s=shifts[-1],
        shortened=sum(bool(_get(s, "shortened", False)) for s in spoken),
    )


def share_above(speeds: Sequence[float], hurried: float = HURRIED) -> float:
    """The share of `speeds` (speed-ups needed per line) above `hurried`."""
    return sum(v > hurried + 1e-9 for v in speeds) / max(len(speeds), 1)
