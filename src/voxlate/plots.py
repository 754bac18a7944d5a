"""What every PNG figure in voxlate shares: a headless pyplot, an atomic save, and the
learning curve every trainer draws."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from voxlate.audio import atomic_path
from voxlate.errors import MissingDependencyError


def pyplot() -> Any:
    """matplotlib.pyplot on the non-interactive Agg backend (no display needed)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise MissingDependencyError("matplotlib", pip="matplotlib") from e
    return plt


def save_png(fig: Any, path: str | os.PathLike, dpi: int = 120) -> Path:
    """Write `fig` to `path` as a PNG (temp file, then rename) and close it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    plt.close(fig)
    return Path(path)


Series = list[tuple[str, str, str]]  # (history key, legend label, matplotlib style)


def learning_curve(
    history: Sequence[dict[str, Any]],
    png: str | os.PathLike,
    left: Series,
    left_label: str,
    right: Series | None = None,
    right_label: str = "",
    right_scale: float = 1.0,
    title: str = "",
    x: str = "epoch",
) -> Path:
    """The learning curve of a trainer's history (one dict per epoch) as a PNG.

    left/right: the series on the left and right axes, each (key, label, style); keys
    missing from the first row are skipped. right_scale multiplies the right series
    (e.g. 100 for a fraction shown in %).
    """
    plt = pyplot()
    xs = [h[x] for h in history]
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=120)
    for key, label, style in left:
        if key in history[0]:
            ax.plot(xs, [h[key] for h in history], style, label=label)
    ax.set_xlabel(x)
    ax.set_ylabel(left_label)
    lines, labels = ax.get_legend_handles_labels()
    shown = [s for s in right or [] if s[0] in history[0]]
    if shown:
        ax2 = ax.twinx()
        for key, label, style in shown:
            ax2.plot(xs, [right_scale * h[key] for h in history], style, label=label)
        ax2.set_ylabel(right_label)
        l2, lb2 = ax2.get_legend_handles_labels()
        lines, labels = lines + l2, labels + lb2
    ax.legend(lines, labels, loc="upper right", fontsize=7)
    if title:
        ax.set_title(title)
    return save_png(fig, png, dpi=120)
